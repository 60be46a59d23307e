package job

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Every id that Job Center derives, rather than draws at random, is made here: the same
// fire, run, report, event or command made twice gets the same id, so JetStream stores it
// once (Nats-Msg-Id) and the store writes it once (_id).

// FireID names the fire of job id scheduled at instant at: a fire published twice is
// stored once.
func FireID(id string, at time.Time) string {
	return id + "@" + strconv.FormatInt(at.UnixMilli(), 10)
}

// ScheduledInstant is the instant a scheduled fire of job id (FireID) names; ok is false
// for any other fire (an exec's, a backfill's) or another job's.
func ScheduledInstant(id, fireID string) (time.Time, bool) {
	// No id+"@" made: the publisher asks this of every fire it stores.
	if len(fireID) < len(id)+2 || fireID[:len(id)] != id || fireID[len(id)] != '@' {
		return time.Time{}, false
	}
	rest := fireID[len(id)+1:]
	if rest[0] < '0' || rest[0] > '9' {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// ManualFireID names the run an exec command asked for.
func ManualFireID(id, commandID string) string { return id + "@manual-" + commandID }

// JournalID names run number seq of job id: runs are numbered 1, 2, … per job, so a
// journal page is a known set of ids.
func JournalID(id string, seq int64) string { return id + ":" + strconv.FormatInt(seq, 10) }

// ParseJournalID reverses JournalID.
func ParseJournalID(journalID string) (id string, seq int64, ok bool) {
	i := strings.LastIndexByte(journalID, ':')
	if i < 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseInt(journalID[i+1:], 10, 64)
	return journalID[:i], seq, err == nil && seq > 0
}

// RunningReportID is the message id of the report that attempt of a fire's run began.
func RunningReportID(fireID string, attempt int) string {
	return fireID + ":running:" + strconv.Itoa(attempt)
}

// EndReportID is the message id of the report of a fire's run's end: whoever reports it
// first (the run, or whoever finds it cut off) is the only one stored.
func EndReportID(fireID string) string { return fireID + ":final" }

// RunStartID names the journal's record of the start of attempt of run journalID.
func RunStartID(journalID string, attempt int) string {
	return journalID + ":r" + strconv.Itoa(attempt)
}

// RunEndID names the journal's record of run journalID's end.
func RunEndID(journalID string) string { return journalID + ":final" }

// EventID names the lifecycle event of type typ that command commandID caused.
func EventID(commandID, typ string) string { return commandID + ":" + typ }

// FinishCommandID names the trigger's command that marks version version of job id
// finished: asked again for the same version, it is the same command.
func FinishCommandID(id string, version int64) string {
	return fmt.Sprintf("finish-%s-v%d", id, version)
}
