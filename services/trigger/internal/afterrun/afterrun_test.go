package afterrun

import (
	"context"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// journal is a job's runs by number: their end's status ("" for a fire never run).
type journal map[int64]string

func (j journal) GetEntry(_ context.Context, id string) (mongostore.Entry, error) {
	_, seq, _ := job.ParseJournalID(id)
	st, ok := j[seq]
	if !ok {
		return mongostore.Entry{}, mongostore.ErrNotFound
	}
	e := mongostore.Entry{Fire: mongostore.FireRecord{ID: id, TriggerStatus: contracts.TriggerFired}}
	switch st {
	case "missed":
		e.Fire.TriggerStatus = contracts.TriggerMissed
	case "killed":
		at := time.Now()
		e.Run = &mongostore.RunRecord{Status: contracts.RunFailure, EndedAt: &at, KilledAt: &at}
	case "":
	default:
		at := time.Now()
		e.Run = &mongostore.RunRecord{Status: st, EndedAt: &at}
	}
	return e, nil
}

func TestOnlyRunsThatAllFailedInARowPauseAJob(t *testing.T) {
	fail, ok := contracts.RunFailure, contracts.RunSuccess
	for _, tc := range []struct {
		name string
		runs journal
		seq  int64
		n    int
		want bool
	}{
		{"three failures", journal{1: ok, 2: fail, 3: fail, 4: fail}, 4, 3, true},
		{"a success in the row", journal{2: fail, 3: ok, 4: fail}, 4, 3, false},
		{"a missed fire in the row", journal{2: fail, 3: "missed", 4: fail}, 4, 3, false},
		{"a run not ended in the row", journal{2: fail, 3: "", 4: fail}, 4, 3, false},
		{"a killed run in the row", journal{2: fail, 3: "killed", 4: fail}, 4, 3, false},
		{"fewer runs than the row", journal{1: fail, 2: fail}, 2, 3, false},
		{"a run removed by retention", journal{3: fail, 4: fail}, 4, 3, false},
		{"one failure pauses at 1", journal{7: fail}, 7, 1, true},
	} {
		f := &Follower{Journal: tc.runs}
		ev := contracts.RunEvent{JournalID: job.JournalID("j", tc.seq), JobID: "j", Status: fail}
		got, err := f.failedInARow(context.Background(), ev, tc.n)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
