package job_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// A backfill's instants are the schedule's over the range, both ends included, within
// the job's lifetime; its bounds name the field at fault.
func TestABackfillsInstantsAreTheSchedulesOverItsRange(t *testing.T) {
	t.Parallel()
	at := func(h, m int) time.Time { return time.Date(2025, 6, 30, h, m, 0, 0, time.UTC) }
	cron := job.Job{ID: "c", Spec: job.Spec{Trigger: job.Trigger{Kind: job.Cron, Cron: "0 0/15 * ? * *", Zone: "UTC", Jitter: time.Minute,
		Start: at(10, 20)}}}
	every := job.Job{ID: "i", State: job.Started, StartedAt: at(9, 7), Spec: job.Spec{Trigger: job.Trigger{Kind: job.Interval, Every: 20 * time.Minute}}}
	for _, c := range []struct {
		name   string
		j      job.Job
		r      job.BackfillRange
		want   []time.Time
		capped bool
		field  string
	}{
		{"a cron's, both ends, from its start, unspread", cron, job.BackfillRange{From: at(10, 0), To: at(11, 0), Concurrency: 1},
			[]time.Time{at(10, 30), at(10, 45), at(11, 0)}, false, ""},
		{"an interval's, counted from from", every, job.BackfillRange{From: at(8, 5), To: at(9, 0), Concurrency: 3},
			[]time.Time{at(8, 5), at(8, 25), at(8, 45)}, false, ""},
		{"capped", every, job.BackfillRange{From: at(8, 5), To: at(9, 0), Concurrency: 1, MaxFires: 2},
			[]time.Time{at(8, 5), at(8, 25)}, true, ""},
		{"not capped when it holds no more", every, job.BackfillRange{From: at(8, 5), To: at(9, 0), Concurrency: 1, MaxFires: 3},
			[]time.Time{at(8, 5), at(8, 25), at(8, 45)}, false, ""},
		{"none in the range", cron, job.BackfillRange{From: at(9, 0), To: at(10, 0), Concurrency: 1}, nil, false, "from"},
		{"into the future", every, job.BackfillRange{From: at(8, 0), To: at(12, 1), Concurrency: 1}, nil, false, "to"},
		{"backwards", every, job.BackfillRange{From: at(9, 0), To: at(8, 0), Concurrency: 1}, nil, false, "to"},
		{"no concurrency", every, job.BackfillRange{From: at(8, 0), To: at(9, 0)}, nil, false, "concurrency"},
		{"more than 10,000", every, job.BackfillRange{From: at(8, 0).AddDate(-1, 0, 0), To: at(9, 0), Concurrency: 1}, nil, false, "to"},
		{"max_fires beyond 10,000", every, job.BackfillRange{From: at(8, 0), To: at(9, 0), Concurrency: 1, MaxFires: 10_001}, nil, false, "max_fires"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, capped, err := c.j.BackfillInstants(c.r, at(12, 0))
			if c.field != "" {
				var fe *job.FieldError
				if !errors.As(err, &fe) || fe.Field != c.field {
					t.Fatalf("want an error on %q, got %v", c.field, err)
				}
				return
			}
			if err != nil || capped != c.capped || len(got) != len(c.want) {
				t.Fatalf("got %v capped %v (%v), want %v capped %v", got, capped, err, c.want, c.capped)
			}
			for i := range got {
				if !got[i].Equal(c.want[i]) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}
