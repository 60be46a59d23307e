package job_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// FuzzParseRunDate: any text is a date or a FieldError on run_date, never a panic, and a
// date read is never past the last year a schedule may name.
func FuzzParseRunDate(f *testing.F) {
	for _, s := range []string{"2025-07-09 16:00:00", "2025-06-27T16:00:00.000Z", "2025-06-27T16:00:00+08:00", "2099-12-31 23:59:59", "", "9999-01-01 00:00:00", "2025-02-30 00:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at, err := job.ParseRunDate(s, shanghai)
		var fe *job.FieldError
		switch {
		case err != nil && (!errors.As(err, &fe) || fe.Field != "run_date"):
			t.Fatalf("%q: %v is not a run_date FieldError", s, err)
		case err == nil && at.Year() > 2099:
			t.Fatalf("%q: read as %v, beyond 2099", s, at)
		}
	})
}

// FuzzInput: any definition is valid — and then holds every invariant Spec.Validate
// checks — or refused with a FieldError; never a panic.
func FuzzInput(f *testing.F) {
	f.Add("p", "name", "d", "interval", int64(60), "", "", "return 1")
	f.Add("p", "name", "d", "date", int64(0), "2030-01-01 00:00:00", "", "")
	f.Add("", "", "", "cron", int64(-1), "x", "flow", "code")
	f.Fuzz(func(t *testing.T, pid, name, desc, trigger string, seconds int64, runDate, flow, code string) {
		in := job.Input{Pid: pid, Name: name, Description: desc, Trigger: trigger, Seconds: &seconds, RunDate: runDate, FlowID: flow, Code: code}
		spec, err := in.ForCreate(time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC), shanghai)
		if err != nil {
			var fe *job.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("refused without naming a field: %v", err)
			}
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("accepted %+v but it breaks an invariant: %v", in, err)
		}
	})
}
