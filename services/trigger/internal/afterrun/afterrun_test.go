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
	e := mongostore.Entry{Fire: mongostore.FireRecord{ID: id, TriggerStatus: contracts.TriggerFired, FiredAt: t0.Add(time.Duration(seq) * time.Minute)}}
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

var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

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
		{"a stopped job", journal{4: fail}, 4, 1, false},
		{"one failure pauses at 1", journal{7: fail}, 7, 1, true},
		// With max_instances above 1, a run ends while the one before it still runs;
		// when that one fails, the row it completes lies after it.
		{"a row completed by an earlier run ending last", journal{1: ok, 2: fail, 3: fail, 4: fail}, 2, 3, true},
		{"runs before the job was started again", journal{1: fail, 2: fail, 3: fail, 4: fail}, 4, 3, false},
	} {
		f := &Follower{Journal: tc.runs, Job: func(context.Context, string) (*job.Job, error) {
			started := t0
			if tc.name == "runs before the job was started again" {
				started = t0.Add(3*time.Minute + time.Second) // after run 3 fired, before run 4
			}
			state := job.Started
			if tc.name == "a stopped job" {
				state = job.Stopped
			}
			return &job.Job{ID: "j", State: state, StartedAt: started}, nil
		}}
		ev := contracts.RunEvent{JournalID: job.JournalID("j", tc.seq), JobID: "j", Status: fail}
		got, err := f.failedInARow(context.Background(), ev, tc.n)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
