package job_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jobcenter/jobcenter/shared/job"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func i64(n int64) *int64   { return &n }
func str(s string) *string { return &s }
func boolp(b bool) *bool   { return &b }

// now is 2025-07-01 12:00:00 in Shanghai.
var now = time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)

func TestTheSeedsRulesAcceptGoodDefinitionsAndNameTheFieldOfBadOnes(t *testing.T) {
	t.Parallel()
	good := job.Input{Pid: "d1138d88", Name: "SDK周期任务", Description: "d", Trigger: "interval", Seconds: i64(300), Code: `log_print("周期任务", "INFO")`}
	tests := []struct {
		name  string
		edit  func(*job.Input)
		field string // "" when valid
	}{
		{"the seed's interval example", func(*job.Input) {}, ""},
		{"the seed's date example", func(in *job.Input) { in.Trigger, in.Seconds, in.RunDate = "date", nil, "2025-07-09 16:00:00" }, ""},
		{"an ISO-8601 run_date", func(in *job.Input) { in.Trigger, in.RunDate = "date", "2025-07-27T16:00:00.000Z" }, ""},
		{"a flow instead of code", func(in *job.Input) { in.Code, in.FlowID = "", "b4972d68" }, ""},
		{"no pid", func(in *job.Input) { in.Pid = "" }, "pid"},
		{"no name", func(in *job.Input) { in.Name = "  " }, "name"},
		{"a name too long", func(in *job.Input) { in.Name = string(make([]rune, 201)) }, "name"},
		{"no trigger", func(in *job.Input) { in.Trigger = "" }, "trigger"},
		{"a cron trigger without its expression", func(in *job.Input) { in.Trigger = "cron" }, "cron"},
		{"a cron trigger", func(in *job.Input) { in.Trigger, in.Cron = "cron", "0 30 2 ? * MON-FRI" }, ""},
		{"a cron trigger in its own zone", func(in *job.Input) { in.Trigger, in.Cron, in.Timezone = "cron", "0 30 2 * * ?", "America/New_York" }, ""},
		{"a cron trigger with a bad expression", func(in *job.Input) { in.Trigger, in.Cron = "cron", "0 61 * * * ?" }, "cron"},
		{"a cron trigger with a Unix expression", func(in *job.Input) { in.Trigger, in.Cron = "cron", "*/5 * * * *" }, "cron"},
		{"a cron trigger in no zone", func(in *job.Input) { in.Trigger, in.Cron, in.Timezone = "cron", "0 0 * * * ?", "Mars/Base" }, "timezone"},
		{"a cron trigger that never fires again", func(in *job.Input) { in.Trigger, in.Cron = "cron", "0 0 0 1 1 ? 2020" }, "cron"},
		{"an unknown trigger", func(in *job.Input) { in.Trigger = "weekly" }, "trigger"},
		{"an interval with a cron expression", func(in *job.Input) { in.Cron = "0 0 * * * ?" }, "cron"},
		{"an interval in a zone", func(in *job.Input) { in.Timezone = "UTC" }, "timezone"},
		{"a date with a cron expression", func(in *job.Input) {
			in.Trigger, in.RunDate, in.Cron = "date", "2025-07-09 16:00:00", "0 0 * * * ?"
		}, "cron"},
		{"a date job with the SDK's default seconds", func(in *job.Input) { in.Trigger, in.RunDate = "date", "2025-07-09 16:00:00" }, ""},
		{"an interval with a lifetime", func(in *job.Input) { in.StartDate, in.EndDate = "2025-07-02 00:00:00", "2025-08-01T00:00:00Z" }, ""},
		{"a cron with an end", func(in *job.Input) { in.Trigger, in.Cron, in.EndDate = "cron", "0 0 9 * * ?", "2025-07-03 00:00:00" }, ""},
		{"a lifetime of a date job", func(in *job.Input) {
			in.Trigger, in.Seconds, in.RunDate, in.EndDate = "date", nil, "2025-07-09 16:00:00", "2025-08-01 00:00:00"
		}, "end_date"},
		{"a start that is not a date", func(in *job.Input) { in.StartDate = "soon" }, "start_date"},
		{"an end before the start", func(in *job.Input) { in.StartDate, in.EndDate = "2025-08-01 00:00:00", "2025-07-15 00:00:00" }, "end_date"},
		{"an end that has passed", func(in *job.Input) { in.EndDate = "2025-06-01 00:00:00" }, "end_date"},
		{"a cron with no instant left in its life", func(in *job.Input) {
			in.Trigger, in.Cron, in.StartDate, in.EndDate = "cron", "0 0 9 1 1 ?", "2025-07-02 00:00:00", "2025-12-01 00:00:00"
		}, "end_date"},
		{"a fixed delay", func(in *job.Input) { in.FixedDelay = boolp(true) }, ""},
		{"a fixed-delay cron", func(in *job.Input) { in.Trigger, in.Cron, in.FixedDelay = "cron", "0 0 * * * ?", boolp(true) }, "fixed_delay"},
		{"a fixed delay with a misfire grace", func(in *job.Input) { in.FixedDelay, in.MisfireGrace = boolp(true), i64(5) }, "misfire_grace_time"},
		{"a jitter", func(in *job.Input) { in.Jitter = i64(30) }, ""},
		{"a jitter of a day", func(in *job.Input) { in.Jitter = i64(86400) }, ""},
		{"a jitter of more than a day", func(in *job.Input) { in.Jitter = i64(86401) }, "jitter"},
		{"a negative jitter", func(in *job.Input) { in.Jitter = i64(-1) }, "jitter"},
		{"each overlap policy", func(in *job.Input) { in.Overlap = str("cancel_other") }, ""},
		{"skip, the default, named", func(in *job.Input) { in.Overlap = str("skip") }, ""},
		{"an unknown overlap policy", func(in *job.Input) { in.Overlap = str("queue") }, "overlap"},
		{"an overlap policy beside several instances", func(in *job.Input) { in.Overlap, in.MaxInstances = str("buffer_one"), i64(2) }, "max_instances"},
		{"interval without seconds", func(in *job.Input) { in.Seconds = nil }, "seconds"},
		{"interval of zero seconds", func(in *job.Input) { in.Seconds = i64(0) }, "seconds"},
		{"interval of negative seconds", func(in *job.Input) { in.Seconds = i64(-5) }, "seconds"},
		{"interval of enormous seconds", func(in *job.Input) { in.Seconds = i64(1 << 60) }, "seconds"},
		{"date without run_date", func(in *job.Input) { in.Trigger = "date" }, "run_date"},
		{"date in the past", func(in *job.Input) { in.Trigger, in.RunDate = "date", "2025-07-01 11:59:59" }, "run_date"},
		{"date now", func(in *job.Input) { in.Trigger, in.RunDate = "date", "2025-07-01 12:00:00" }, "run_date"},
		{"date not a date", func(in *job.Input) { in.Trigger, in.RunDate = "date", "tomorrow" }, "run_date"},
		{"date impossible", func(in *job.Input) { in.Trigger, in.RunDate = "date", "2025-02-30 10:00:00" }, "run_date"},
		{"date too far", func(in *job.Input) { in.Trigger, in.RunDate = "date", "2100-01-01T00:00:00Z" }, "run_date"},
		{"a date of 2100 where it is written, 2099 in UTC", func(in *job.Input) { in.Trigger, in.RunDate = "date", "2100-01-01T07:00:00+08:00" }, ""},
		{"date too far, written locally", func(in *job.Input) { in.Trigger, in.RunDate = "date", "2100-01-01 08:00:00" }, "run_date"},
		{"the last date", func(in *job.Input) { in.Trigger, in.RunDate = "date", "2099-12-31T23:59:59Z" }, ""},
		{"neither code nor flow", func(in *job.Input) { in.Code = "" }, "code"},
		{"both code and flow", func(in *job.Input) { in.FlowID = "f" }, "flow_id"},
		{"code too large", func(in *job.Input) { in.Code = string(make([]byte, job.MaxCodeBytes+1)) }, "code"},
		{"a control character in the name", func(in *job.Input) { in.Name = "a\x00b" }, "name"},
		{"a control character in the description", func(in *job.Input) { in.Description = "a\x1bb" }, "description"},
		{"a description of several lines", func(in *job.Input) { in.Description = "one\r\ntwo\tthree" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := good
			tc.edit(&in)
			_, err := in.ForCreate(now, shanghai)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var fe *job.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, job.ErrInvalid) {
				t.Fatalf("want an error on %q, got %v", tc.field, err)
			}
		})
	}
}

func TestARunDateIsReadInTheConfiguredZoneUnlessItNamesOne(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"2025-07-09 16:00:00":       "2025-07-09T08:00:00Z",
		"2025-06-27T16:00:00.000Z":  "2025-06-27T16:00:00Z",
		"2025-06-27T16:00:00+02:00": "2025-06-27T14:00:00Z",
		"2025-07-09T16:00:00":       "2025-07-09T08:00:00Z",
	}
	for in, want := range tests {
		got, err := job.ParseRunDate(in, shanghai)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("ParseRunDate(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}

func TestAnIntervalFiresEveryPeriodAfterItsStart(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 1, 0, 0, 0, 500e6, time.UTC)
	tr := job.Trigger{Kind: job.Interval, Every: 10 * time.Second}
	tests := []struct{ after, want time.Duration }{
		{0, 10 * time.Second},
		{9 * time.Second, 10 * time.Second},
		{10 * time.Second, 20 * time.Second},
		{25 * time.Second, 30 * time.Second},
		{-time.Hour, 10 * time.Second},
	}
	for _, tc := range tests {
		got, ok := tr.Next(start, start.Add(tc.after))
		if !ok || !got.Equal(start.Add(tc.want)) {
			t.Errorf("Next(start+%v) = %v; want start+%v", tc.after, got.Sub(start), tc.want)
		}
	}
}

func TestADateFiresOnceAtItsInstant(t *testing.T) {
	t.Parallel()
	at := now.Add(time.Hour)
	tr := job.Trigger{Kind: job.Date, RunAt: at}
	if got, ok := tr.Next(now, now); !ok || !got.Equal(at) {
		t.Fatalf("before: %v %v", got, ok)
	}
	if _, ok := tr.Next(now, at); ok {
		t.Fatal("a date fires only once")
	}
}

func spec(t *testing.T, in job.Input) *job.Spec {
	t.Helper()
	s, err := in.ForCreate(now, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestCommandsWalkAJobThroughItsLife(t *testing.T) {
	t.Parallel()
	s := spec(t, job.Input{Pid: "p", Name: "n", Trigger: "interval", Seconds: i64(60), Code: "x"})
	d, err := job.Decide(job.Command{ID: "c1", Type: job.Create, Tenant: "t", JobID: "j", JobKey: "k", User: "u", At: now, Spec: s}, nil, now)
	if err != nil || d.Job.State != job.Stopped || len(d.Events) != 1 || d.Events[0] != job.Created || !d.Job.Spec.Policy.Coalesce {
		t.Fatalf("create: %+v %v", d, err)
	}
	j := d.Job
	if _, ok := j.Next(now); ok {
		t.Fatal("a new job is stopped: no next fire")
	}
	d, err = job.Decide(job.Command{ID: "c2", Type: job.Start, Tenant: "t", JobID: "j", At: now}, j, now)
	if err != nil || d.Job.State != job.Started || !d.Job.StartedAt.Equal(now) {
		t.Fatalf("start: %+v %v", d, err)
	}
	if next, ok := d.Job.Next(now); !ok || !next.Equal(now.Add(time.Minute)) {
		t.Fatalf("started job's next fire: %v", next)
	}
	// The same command redelivered changes nothing.
	again, err := job.Decide(job.Command{ID: "c2", Type: job.Start, Tenant: "t", JobID: "j", At: now}, d.Job, now)
	if err != nil || !again.Replayed || len(again.Events) != 0 {
		t.Fatalf("replay: %+v %v", again, err)
	}
	// Another tenant cannot touch it.
	if _, err := job.Decide(job.Command{ID: "c3", Type: job.Stop, Tenant: "other", JobID: "j"}, d.Job, now); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("other tenant: %v", err)
	}
	ex, err := job.Decide(job.Command{ID: "c4", Type: job.Exec, Tenant: "t", JobID: "j"}, d.Job, now)
	if err != nil || !ex.Fire || len(ex.Events) != 0 {
		t.Fatalf("exec: %+v %v", ex, err)
	}
	later := now.Add(90 * time.Second)
	renamed := *s
	renamed.Name = "renamed"
	if r, err := job.Decide(job.Command{ID: "c5r", Type: job.Update, Tenant: "t", JobID: "j", At: later, Spec: &renamed}, d.Job, later); err != nil || !r.Job.StartedAt.Equal(d.Job.StartedAt) {
		t.Fatalf("an update leaving the trigger keeps the schedule: %+v %v", r, err)
	}
	retimed := *s
	retimed.Trigger.Every *= 2
	u, err := job.Decide(job.Command{ID: "c5", Type: job.Update, Tenant: "t", JobID: "j", At: later, Spec: &retimed}, d.Job, later)
	if err != nil || !u.Job.StartedAt.Equal(later) || u.Job.State != job.Started {
		t.Fatalf("an update of the trigger reschedules a started job from now: %+v %v", u, err)
	}
	st, err := job.Decide(job.Command{ID: "c6", Type: job.Stop, Tenant: "t", JobID: "j"}, u.Job, later)
	if err != nil || st.Job.State != job.Stopped || st.Events[0] != job.StoppedEvt {
		t.Fatalf("stop: %+v %v", st, err)
	}
	del, err := job.Decide(job.Command{ID: "c7", Type: job.Delete, Tenant: "t", JobID: "j"}, st.Job, later)
	if err != nil || del.Job.State != job.Deleted {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if _, err := job.Decide(job.Command{ID: "c8", Type: job.Start, Tenant: "t", JobID: "j"}, del.Job, later); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("a deleted job is gone: %v", err)
	}
	if _, err := job.Decide(job.Command{ID: "c9", Type: job.Create, Tenant: "t", JobID: "j", Spec: s}, del.Job, later); !errors.Is(err, job.ErrConflict) {
		t.Fatalf("an id is never reused: %v", err)
	}
}

func TestADateJobFinishesAndCannotRestartUntilGivenALaterDate(t *testing.T) {
	t.Parallel()
	s := spec(t, job.Input{Pid: "p", Name: "n", Trigger: "date", RunDate: "2025-07-01 13:00:00", Code: "x"})
	d, _ := job.Decide(job.Command{ID: "c1", Type: job.Create, Tenant: "t", JobID: "j", Spec: s}, nil, now)
	d, _ = job.Decide(job.Command{ID: "c2", Type: job.Start, Tenant: "t", JobID: "j"}, d.Job, now)
	fin, err := job.Decide(job.Command{ID: "f", Type: job.Finish, Tenant: "t", JobID: "j", Version: d.Job.Version}, d.Job, now.Add(2*time.Hour))
	if err != nil || fin.Job.State != job.Finished || fin.Events[0] != job.FinishedEvt {
		t.Fatalf("finish: %+v %v", fin, err)
	}
	stale, _ := job.Decide(job.Command{ID: "f2", Type: job.Finish, Tenant: "t", JobID: "j", Version: d.Job.Version - 1}, d.Job, now)
	if stale.Job.State != job.Started {
		t.Fatal("a finish decided against an older version is ignored")
	}
	_, err = job.Decide(job.Command{ID: "c3", Type: job.Start, Tenant: "t", JobID: "j"}, fin.Job, now.Add(2*time.Hour))
	var ce *job.ConflictError
	if !errors.As(err, &ce) || ce.Field != "run_date" {
		t.Fatalf("restart of a finished date job: %v", err)
	}
}

func TestClipNeverCutsACharacterInHalf(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 40, "short"},
		{"abcdef", 3, "abc…"},
		{"名名名", 4, "名…"}, // 3 bytes each: the second starts at 3, ends at 6
		{"名名名", 6, "名名…"},
		{"a名", 2, "a…"},
	} {
		if got := job.Clip(c.s, c.n); got != c.want || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

func TestParamsAreAJSONObjectKeptCompactAndBounded(t *testing.T) {
	for raw, want := range map[string]string{"": "", "null": "", " {} ": "", `{ "a" : [1, 2] }`: `{"a":[1,2]}`} {
		if got, err := job.Params(json.RawMessage(raw)); err != nil || got != want {
			t.Errorf("Params(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{`[1]`, `"a"`, `3`, `{"a":`, `{"s":"` + strings.Repeat("x", job.MaxParams) + `"}`} {
		var fe *job.FieldError
		if _, err := job.Params(json.RawMessage(raw)); !errors.As(err, &fe) || fe.Field != "params" {
			t.Errorf("Params(%.20q): %v; want an error on params", raw, err)
		}
	}
}

func TestTwoDefinitionsAreTheSameWhateverTheZoneOfTheirInstant(t *testing.T) {
	at := time.Date(2030, 7, 9, 8, 0, 0, 0, time.UTC)
	a := job.Spec{Name: "n", Trigger: job.Trigger{Kind: job.Date, RunAt: at}, Target: job.Target{Code: "x = 1"}}
	b := a
	b.Trigger.RunAt = at.In(shanghai)
	if !a.Same(b) {
		t.Fatal("the same instant in another zone is another definition")
	}
	for _, change := range []func(*job.Spec){
		func(s *job.Spec) { s.Trigger.RunAt = at.Add(time.Second) },
		func(s *job.Spec) { s.Name = "m" },
		func(s *job.Spec) { s.Policy.Retries = 1 },
	} {
		c := a
		change(&c)
		if a.Same(c) {
			t.Fatalf("a change is not seen: %+v", c)
		}
	}
}

func TestAChainNamesLiveJobsOfItsTenantAndNeverLoops(t *testing.T) {
	jobs := map[string]*job.Job{}
	put := func(id, tenant string, next ...string) {
		jobs[id] = &job.Job{ID: id, Tenant: tenant, State: job.Stopped, Spec: job.Spec{Policy: job.Policy{OnSuccess: next}}}
	}
	put("b", "t", "c")
	put("c", "t", "d")
	put("d", "t")
	put("x", "other")
	find := func(id string) (*job.Job, error) { return jobs[id], nil }
	chained := func(success, failure []string) job.Job {
		return job.Job{ID: "a", Tenant: "t", Spec: job.Spec{Policy: job.Policy{OnSuccess: success, OnFailure: failure}}}
	}
	if err := job.CheckChain(chained([]string{"b"}, []string{"d"}), nil, find); err != nil {
		t.Fatalf("a chain without a loop: %v", err)
	}
	put("d", "t", "a") // d now runs a: a → b → c → d → a
	var ce *job.ConflictError
	if err := job.CheckChain(chained([]string{"b"}, nil), nil, find); !errors.As(err, &ce) || !strings.Contains(ce.Msg, "a → b → c → d → a") ||
		ce.Field != "on_success[0]" {
		t.Fatalf("a loop: %v", err)
	}
	if err := job.CheckChain(chained(nil, []string{"b"}), nil, find); !errors.As(err, &ce) || ce.Field != "on_failure[0]" {
		t.Fatalf("a loop through on_failure: %v", err)
	}
	if err := job.CheckChain(chained(nil, []string{"a"}), nil, find); !errors.As(err, &ce) || ce.Field != "on_failure[0]" {
		t.Fatalf("a job that runs itself: %v", err)
	}
	var fe *job.FieldError
	for _, child := range []string{"x", "nope"} {
		if err := job.CheckChain(chained(nil, []string{"d", child}), nil, func(id string) (*job.Job, error) {
			if id == "d" {
				return &job.Job{ID: "d", Tenant: "t", State: job.Stopped}, nil
			}
			return jobs[id], nil
		}); !errors.As(err, &fe) || fe.Field != "on_failure[1]" {
			t.Fatalf("child %s: %v", child, err)
		}
	}
	// A child deleted since the job named it is let be: other changes still go through.
	before := chained(nil, []string{"nope"})
	if err := job.CheckChain(chained(nil, []string{"nope"}), &before, find); err != nil {
		t.Fatalf("a job whose child was deleted: %v", err)
	}
}

// A lifetime bounds a schedule: no instant before its start, none after its end, for an
// interval counted from its start and a cron alike.
func TestALifetimeBoundsAnIntervalAndACron(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	iv := job.Trigger{Kind: job.Interval, Every: 10 * time.Minute, Start: t0.Add(25 * time.Minute), End: t0.Add(time.Hour)}
	var got []time.Time
	for at, ok := iv.Next(t0, t0); ok; at, ok = iv.Next(t0, at) {
		got = append(got, at)
	}
	want := []time.Time{t0.Add(30 * time.Minute), t0.Add(40 * time.Minute), t0.Add(50 * time.Minute), t0.Add(time.Hour)}
	if !slices.Equal(got, want) {
		t.Fatalf("interval: %v, want %v", got, want)
	}
	cr := job.Trigger{Kind: job.Cron, Cron: "0 0 * * * ?", Zone: "UTC", Start: t0.Add(2 * time.Hour), End: t0.Add(4*time.Hour + 30*time.Minute)}
	got = nil
	for at, ok := cr.Next(t0, t0); ok; at, ok = cr.Next(t0, at) {
		got = append(got, at)
	}
	want = []time.Time{t0.Add(2 * time.Hour), t0.Add(3 * time.Hour), t0.Add(4 * time.Hour)}
	if !slices.Equal(got, want) {
		t.Fatalf("cron: %v, want %v (the start is an instant itself)", got, want)
	}
}

// Quartz's arithmetic goes back in time for some expressions it accepts; a schedule never
// does: such an instant is no fire, so that asking for the instant after the last ends.
func TestAScheduleNeverGoesBackInTime(t *testing.T) {
	t.Parallel()
	tr := job.Trigger{Kind: job.Cron, Cron: "5-10/2147483647 * * ? * *", Zone: "UTC"}
	at, ok := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC), true
	for n := 0; ok; n++ {
		var next time.Time
		if next, ok = tr.Next(at, at); ok && !next.After(at) {
			t.Fatalf("fire %d at %v, not after %v", n, next, at)
		}
		if n > 100 {
			t.Fatal("the schedule does not end")
		}
		at = next
	}
}
