package e2e_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// A job of the job-center API may fire on a Quartz cron expression in its own zone, by
// the Quartz API's rules; its preview shows the instants the scheduler fires it at.
func TestACronJobFiresOnItsExpressionInItsZoneAndItsPreviewShowsWhen(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	ny, _ := time.LoadLocation("America/New_York")

	// Every ten seconds past each minute in New York, Monday to Friday.
	spec := jobcenter.JobSpec{Pid: pid, Name: "cron", Trigger: jobcenter.TriggerCron, Cron: "10 * * ? * MON-FRI", Timezone: "America/New_York", Code: "return 1"}
	j := must(cl.AddJob(ctx, spec))(t)
	if p := j.JobParameter; p.Trigger != "cron" || p.Cron != spec.Cron || p.Timezone != "America/New_York" || p.Seconds != nil || p.RunDate != nil {
		t.Fatalf("jobParameter: %s", mustJSON(p))
	}
	// Stopped: the preview is as if it started now.
	pv := must(cl.Preview(ctx, j.ID, 3))(t)
	now := c.clk.Now()
	if pv.Started || len(pv.Next) != 3 {
		t.Fatalf("preview: %+v", pv)
	}
	for i, at := range pv.Next {
		l := at.In(ny)
		if !at.After(now) || l.Second() != 10 || l.Weekday() == time.Saturday || l.Weekday() == time.Sunday || (i > 0 && !at.After(pv.Next[i-1])) {
			t.Fatalf("preview instant %d: %v (now %v)", i, at, now)
		}
		if _, off := at.Zone(); off != func() int { _, o := l.Zone(); return o }() {
			t.Fatalf("preview instant %d is not in the job's zone: %v", i, at)
		}
	}
	started := must(cl.StartJob(ctx, j.ID))(t)
	first := must(cl.Preview(ctx, j.ID, 1))(t).Next[0]
	if want := started.NextRunTime; want == nil {
		t.Fatalf("a started cron job has no next_run_time: %s", mustJSON(started))
	}
	c.clk.Advance(first.Sub(c.clk.Now()) + time.Second)
	p := waitRuns(t, cl, j.ID, 1)
	if at, err := time.ParseInLocation("2006-01-02T15:04:05.000-0700", p.Data[0].TriggerTime, time.UTC); err != nil || !at.Equal(first) || p.Data[0].ExeStatus != "success" {
		t.Fatalf("the first fire: %s, want at %v", mustJSON(p.Data[0]), first)
	}
	if next := must(cl.Preview(ctx, j.ID, 2))(t); !next.Started || !next.Next[0].After(first) {
		t.Fatalf("the preview after a fire: %+v", next)
	}

	// The Quartz API's rules and errors, under the SDK's field names; nothing changes.
	for _, tc := range []struct {
		cron, zone, field string
	}{
		{"", "", "cron"}, {"0 61 * * * ?", "", "cron"}, {"*/5 * * * *", "", "cron"}, {"0 0 0 1 1 ? 2020", "", "cron"},
		{"0 0 * * * ?", "Mars/Base", "timezone"},
	} {
		bad := spec
		bad.Cron, bad.Timezone = tc.cron, tc.zone
		_, err := cl.UpdateJob(ctx, j.ID, bad)
		apiErr(t, err, 400, "invalid", tc.field)
	}
	// An interval again, and back: the trigger's fields follow it.
	iv := spec
	iv.Trigger, iv.Cron, iv.Timezone, iv.Seconds = jobcenter.TriggerInterval, "", "", 30
	if got := must(cl.UpdateJob(ctx, j.ID, iv))(t).JobParameter; got.Trigger != "interval" || got.Cron != "" || *got.Seconds != 30 {
		t.Fatalf("changed to an interval: %s", mustJSON(got))
	}
	// Without a zone, the center's (JOBCENTER_TZ, Asia/Shanghai here); exported and
	// imported with it.
	sh := spec
	sh.Timezone = ""
	if got := must(cl.UpdateJob(ctx, j.ID, sh))(t).JobParameter; got.Timezone != "Asia/Shanghai" {
		t.Fatalf("a cron job without a zone: %s", mustJSON(got))
	}
	var doc struct {
		Jobs []map[string]any `json:"jobs"`
	}
	_ = json.Unmarshal(must(cl.Export(ctx, ""))(t), &doc)
	if len(doc.Jobs) != 1 || doc.Jobs[0]["cron"] != spec.Cron || doc.Jobs[0]["timezone"] != "Asia/Shanghai" || doc.Jobs[0]["seconds"] != nil {
		t.Fatalf("exported: %v", doc.Jobs)
	}
	if r := must(cl.Import(ctx, must(cl.Export(ctx, ""))(t), true))(t); len(r.Leave) != 1 || len(r.Change) != 0 {
		t.Fatalf("the export imported into its own project: %+v", r)
	}
	// Another project's job is not found.
	_, err := newClient(t, c, "q").Preview(ctx, j.ID, 1)
	apiErr(t, err, 404, "not_found", "")
	_, err = cl.Preview(ctx, j.ID, 101)
	apiErr(t, err, 400, "invalid", "count")
}

// A lifetime bounds an interval job: no fire before its start_date, none after its
// end_date, and then it is finished; the preview and next_run_time follow it, across a
// restart of the trigger (its plan, image and store keep it).
func TestAJobFiresOnlyWithinItsLifetimeThenFinishes(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	now := c.clk.Now()
	iso := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	spec := jobcenter.JobSpec{Pid: pid, Name: "bounded", Trigger: jobcenter.TriggerInterval, Seconds: 10, Code: "return 1",
		StartDate: iso(25 * time.Second), EndDate: iso(55 * time.Second)}
	j := must(cl.AddJob(ctx, spec))(t)
	if p := j.JobParameter; p.StartDate == nil || p.EndDate == nil {
		t.Fatalf("jobParameter without its lifetime: %s", mustJSON(p))
	}
	started := must(cl.StartJob(ctx, j.ID))(t) // anchored at now: fires at now + 10 k
	pv := must(cl.Preview(ctx, j.ID, 10))(t)
	want := []time.Time{now.Add(30 * time.Second), now.Add(40 * time.Second), now.Add(50 * time.Second)}
	if len(pv.Next) != len(want) {
		t.Fatalf("preview %v, want %v", pv.Next, want)
	}
	for i := range want {
		if !pv.Next[i].Equal(want[i].Truncate(time.Millisecond)) && !pv.Next[i].Equal(want[i]) {
			t.Fatalf("preview %v, want %v", pv.Next, want)
		}
	}
	if started.NextRunTime == nil {
		t.Fatalf("a job with fires ahead has no next_run_time: %s", mustJSON(started))
	}
	c.clk.Advance(35 * time.Second)
	waitRuns(t, cl, j.ID, 1)
	// The trigger goes away and comes back: the lifetime is kept.
	c.stop("trigger")
	c.startTrigger()
	c.clk.Advance(10 * time.Second) // +45 s
	waitRuns(t, cl, j.ID, 2)
	c.clk.Advance(10 * time.Second) // +55 s
	p := waitRuns(t, cl, j.ID, 3)
	for i, e := range p.Data {
		at, _ := time.Parse("2006-01-02T15:04:05.000-0700", e.TriggerTime)
		if at.Before(now.Add(25*time.Second)) || at.After(now.Add(55*time.Second)) {
			t.Fatalf("run %d fired at %v, outside its lifetime", i, at)
		}
	}
	var got *jobcenter.Job
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = must(cl.GetJob(ctx, j.ID))(t); got.NextRunTime == nil {
			break
		}
	}
	if got.NextRunTime != nil || len(must(cl.Preview(ctx, j.ID, 5))(t).Next) != 0 {
		t.Fatalf("past its end_date the job is not finished: %s", mustJSON(got))
	}
	c.clk.Advance(60 * time.Second)
	time.Sleep(200 * time.Millisecond)
	if n := must(cl.Journal(ctx, j.ID, 1, 10))(t).ResultCount; n != 3 {
		t.Fatalf("%d runs, want 3", n)
	}
	// Bad lifetimes: refused naming the field; a date job has none.
	for _, tc := range []struct {
		edit  func(*jobcenter.JobSpec)
		field string
	}{
		{func(s *jobcenter.JobSpec) { s.EndDate = iso(-time.Hour) }, "end_date"},
		{func(s *jobcenter.JobSpec) { s.StartDate, s.EndDate = iso(time.Hour), iso(time.Minute) }, "end_date"},
		{func(s *jobcenter.JobSpec) { s.StartDate = "tomorrow" }, "start_date"},
		{func(s *jobcenter.JobSpec) {
			s.Trigger, s.Seconds, s.RunDate, s.StartDate, s.EndDate = jobcenter.TriggerDate, 0, iso(time.Hour), iso(time.Minute), ""
		}, "start_date"},
	} {
		bad := spec
		tc.edit(&bad)
		_, err := cl.AddJob(ctx, bad)
		apiErr(t, err, 400, "invalid", tc.field)
	}
}

// A job's jitter spreads each fire after its instant by an offset of its own: the
// preview and next_run_time show the spread times, the fire runs at its spread time
// (its triggertime) and is named by its instant; bad jitters name the field.
func TestAJitteredJobFiresAtItsSpreadTimesAsItsPreviewShows(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	b := intervalBody()
	b["seconds"], b["jitter"] = 60, 30
	j := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)
	if jit := j["jobParameter"].(map[string]any)["jitter"]; jit != 30.0 {
		t.Fatalf("jobParameter.jitter = %v", jit)
	}
	id := j["id"].(string)
	started := must(cl.StartJob(ctx, id))(t)
	pv := must(cl.Preview(ctx, id, 5))(t)
	if len(pv.Next) != 5 {
		t.Fatalf("preview: %+v", pv)
	}
	spread := 0
	for i, at := range pv.Next {
		if at.Nanosecond() != 0 {
			spread++
		}
		if i > 0 {
			// Each instant is 60 s after the one before; each spread below 30 s.
			if gap := at.Sub(pv.Next[i-1]); gap <= 30*time.Second || gap >= 90*time.Second {
				t.Fatalf("preview %d: %v after the one before", i, gap)
			}
		}
	}
	if spread < 4 {
		t.Fatalf("preview times not spread to the millisecond: %v", pv.Next)
	}
	if want := pv.Next[0].In(shanghai).Format("2006-01-02 15:04:05"); started.NextRunTime == nil || *started.NextRunTime != want {
		t.Fatalf("next_run_time %v, the preview's first %v", started.NextRunTime, want)
	}
	for i := range 2 {
		c.clk.Advance(pv.Next[i].Sub(c.clk.Now()))
		p := waitRuns(t, cl, id, i+1)
		e := p.Data[0]
		at, err := time.Parse("2006-01-02T15:04:05.000-0700", e.TriggerTime)
		if err != nil || !at.Equal(pv.Next[i]) || e.ExeStatus != "success" {
			t.Fatalf("fire %d: %s, want at %v", i, mustJSON(e), pv.Next[i])
		}
		ms, _ := strconv.ParseInt(e.TriggerID[strings.LastIndexByte(e.TriggerID, '@')+1:], 10, 64)
		if off := at.Sub(time.UnixMilli(ms)); off < 0 || off >= 30*time.Second {
			t.Fatalf("fire %d named %s runs %v after its instant", i, e.TriggerID, off)
		}
	}
	for _, bad := range []any{-1, 86401, "soon", 1.5} {
		bb := intervalBody()
		bb["jitter"] = bad
		r := c.do("PUT", "/api/v1/jobs/"+id, "p", bb).must(t, 400)
		if _, field := r.errField(t); field != "jitter" {
			t.Fatalf("jitter %v: error on %q", bad, field)
		}
	}
	// An update without it leaves the job without one, as the rest of the trigger.
	if p := c.do("PUT", "/api/v1/jobs/"+id, "p", intervalBody()).must(t, 200).obj(t)["jobParameter"].(map[string]any); p["jitter"] != nil {
		t.Fatalf("jitter after an update without it: %v", p["jitter"])
	}
}

// A backfill runs a job's schedule's instants over a past range, each journaled with
// runtype "backfill" at its instant; its bounds name the field at fault and store nothing.
func TestABackfillRunsAPastRangesInstantsEachJournaledOnce(t *testing.T) {
	c := newCenter(t)
	b := intervalBody()
	b["seconds"] = 60
	id := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)["id"].(string)
	now := c.clk.Now().UTC().Truncate(time.Second)
	from := now.Add(-10 * time.Minute)
	body := map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(4 * time.Minute).Format(time.RFC3339), "concurrency": 2}
	var got struct {
		ID          string `json:"id"`
		Fires       int    `json:"fires"`
		First, Last string
		Capped      bool `json:"capped"`
		Concurrency int  `json:"concurrency"`
	}
	c.do("POST", "/api/v1/jobs/"+id+"/backfill", "p", body, "Idempotency-Key", "bf-1").must(t, 200).json(t, &got)
	local := func(t time.Time) string { return t.In(shanghai).Format("2006-01-02 15:04:05") }
	if got.ID != id || got.Fires != 5 || got.First != local(from) || got.Last != local(from.Add(4*time.Minute)) || got.Capped || got.Concurrency != 2 {
		t.Fatalf("backfill answered %+v", got)
	}
	p := c.waitJournal("p", id, 5)
	seen := map[string]bool{}
	for _, e := range p.Data {
		at, err := time.Parse("2006-01-02T15:04:05.000-0700", e["triggertime"].(string))
		if err != nil || e["runtype"] != "backfill" || e["exestatus"] != "success" || at.Before(from) || at.After(from.Add(4*time.Minute)) ||
			at.Sub(from)%time.Minute != 0 || !strings.HasPrefix(e["triggerid"].(string), id+"@backfill-") {
			t.Fatalf("a backfill run: %v", e)
		}
		seen[at.String()] = true
	}
	if len(seen) != 5 {
		t.Fatalf("instants run: %v", seen)
	}
	// The same request again (its answer lost) stores nothing more.
	c.do("POST", "/api/v1/jobs/"+id+"/backfill", "p", body, "Idempotency-Key", "bf-1").must(t, 200)
	if p := c.journal("p", id, 1, 100); p.ResultCount != 5 {
		t.Fatalf("after the repeat: %d runs", p.ResultCount)
	}

	// A range of more than 10,000 instants runs its first max_fires only when asked so.
	cron := intervalBody()
	delete(cron, "seconds")
	cron["trigger"], cron["cron"] = "cron", "* * * ? * *"
	cid := c.do("POST", "/api/v1/jobs", "p", cron).must(t, 201).obj(t)["id"].(string)
	wide := map[string]any{"from": now.Add(-3 * time.Hour).Format(time.RFC3339), "to": now.Add(-time.Second).Format(time.RFC3339)}
	r := c.do("POST", "/api/v1/jobs/"+cid+"/backfill", "p", wide).must(t, 400)
	if _, field := r.errField(t); field != "to" {
		t.Fatalf("a range of 10,800 instants: error on %q", field)
	}
	wide["max_fires"] = 3
	c.do("POST", "/api/v1/jobs/"+cid+"/backfill", "p", wide).must(t, 200).json(t, &got)
	if got.Fires != 3 || !got.Capped || got.First != local(now.Add(-3*time.Hour)) {
		t.Fatalf("capped backfill answered %+v", got)
	}
	c.waitJournal("p", cid, 3)

	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{nil, "from"},
		{map[string]any{"to": now.Add(-time.Minute).Format(time.RFC3339)}, "from"},
		{map[string]any{"from": "yesterday", "to": now.Format(time.RFC3339)}, "from"},
		{map[string]any{"from": now.Add(-time.Hour).Format(time.RFC3339), "to": now.Add(time.Hour).Format(time.RFC3339)}, "to"},
		{map[string]any{"from": now.Add(-time.Hour).Format(time.RFC3339), "to": now.Add(-2 * time.Hour).Format(time.RFC3339)}, "to"},
		{map[string]any{"from": now.Add(-time.Hour).Format(time.RFC3339), "to": now.Format(time.RFC3339), "concurrency": 0}, "concurrency"},
		{map[string]any{"from": now.Add(-time.Hour).Format(time.RFC3339), "to": now.Format(time.RFC3339), "concurrency": 101}, "concurrency"},
		{map[string]any{"from": now.Add(-time.Hour).Format(time.RFC3339), "to": now.Format(time.RFC3339), "max_fires": 10001}, "max_fires"},
		{map[string]any{"from": now.Add(-time.Hour).Format(time.RFC3339), "to": now.Format(time.RFC3339), "concurrency": "two"}, "concurrency"},
		// Within a minute of an interval counted from from, only from itself: 30 s holds one.
		{map[string]any{"from": now.Add(-time.Hour).Add(500 * time.Millisecond).Format(time.RFC3339Nano), "to": now.Add(-time.Hour).Add(900 * time.Millisecond).Format(time.RFC3339Nano)}, ""},
	} {
		var body any
		if tc.body != nil {
			body = tc.body
		}
		if tc.field == "" {
			c.do("POST", "/api/v1/jobs/"+id+"/backfill", "p", body).must(t, 200)
			continue
		}
		r := c.do("POST", "/api/v1/jobs/"+id+"/backfill", "p", body).must(t, 400)
		if _, field := r.errField(t); field != tc.field {
			t.Fatalf("%v: error on %q, want %q", tc.body, field, tc.field)
		}
	}
	// A date job's range without its instant holds none.
	d := intervalBody()
	delete(d, "seconds")
	d["trigger"], d["run_date"] = "date", now.Add(time.Hour).Format(time.RFC3339)
	did := c.do("POST", "/api/v1/jobs", "p", d).must(t, 201).obj(t)["id"].(string)
	r = c.do("POST", "/api/v1/jobs/"+did+"/backfill", "p", map[string]any{"from": now.Add(-time.Hour).Format(time.RFC3339), "to": now.Format(time.RFC3339)}).must(t, 400)
	if _, field := r.errField(t); field != "from" {
		t.Fatalf("a date job's empty range: error on %q", field)
	}
}

// A fixed-delay job counts each fire from the end of the run before it, through the whole
// center: the run's end (the executor's clock) starts the job again, and its next fire is
// seconds after that end, not after the last instant.
func TestAFixedDelayJobFiresSecondsAfterItsLastRunEnded(t *testing.T) {
	c := newCenter(t)
	// The run lasts longer than the period and than the clock is moved: it ends (on the
	// executor's real clock) after the instant (on the center's fake clock, moved 1 s).
	flowRunner(t, c, "fd", func(int64) contracts.FlowReply {
		time.Sleep(1500 * time.Millisecond)
		return contracts.FlowReply{OK: true}
	})
	b := flowJob("fd", map[string]any{"seconds": 1, "fixed_delay": true})
	j := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)
	if fd := j["jobParameter"].(map[string]any)["fixed_delay"]; fd != true {
		t.Fatalf("jobParameter.fixed_delay = %v", fd)
	}
	id := j["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	c.clk.Advance(time.Second)
	p := c.waitJournal("p", id, 1)
	ended, err := time.Parse("2006-01-02T15:04:05.000-0700", p.Data[0]["updatetime"].(string))
	if err != nil {
		t.Fatal(err)
	}
	want := ended.Add(time.Second)
	// The rearm is applied once the end is journaled: the job's next fire moves to it.
	teststack.Eventually(t, 10*time.Second, "next_run_time to count from the run's end", func() bool {
		nrt, _ := c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t)["next_run_time"].(string)
		return nrt == want.In(shanghai).Format("2006-01-02 15:04:05")
	})
	c.clk.Advance(want.Sub(c.clk.Now()))
	p = c.waitJournal("p", id, 2)
	if at, err := time.Parse("2006-01-02T15:04:05.000-0700", p.Data[0]["triggertime"].(string)); err != nil || !at.Equal(want) {
		t.Fatalf("second fire at %v, want 1 s after the first run ended (%v)", p.Data[0]["triggertime"], want)
	}
	// Only an interval counts from its runs' ends, and it is never missed.
	for _, tc := range []struct {
		extra map[string]any
		field string
	}{
		{map[string]any{"fixed_delay": true, "trigger": "cron", "cron": "0 * * * * ?"}, "fixed_delay"},
		{map[string]any{"fixed_delay": true, "misfire_grace_time": 5}, "misfire_grace_time"},
	} {
		r := c.do("PUT", "/api/v1/jobs/"+id, "p", flowJob("fd", tc.extra)).must(t, 400)
		if _, field := r.errField(t); field != tc.field {
			t.Fatalf("%v: error on %q, want %q", tc.extra, field, tc.field)
		}
	}
}

// A long backfill keeps only its concurrency's fires in the broker at once, releasing
// each next one as a run ends: another tenant's fire meanwhile is not held behind it.
func TestALongBackfillHoldsOnlyItsConcurrencyAndNoOneElsesFires(t *testing.T) {
	c := newCenter(t)
	flowRunner(t, c, "slow", func(int64) contracts.FlowReply {
		time.Sleep(200 * time.Millisecond)
		return contracts.FlowReply{OK: true}
	})
	cron := flowJob("slow", nil)
	delete(cron, "seconds")
	cron["trigger"], cron["cron"] = "cron", "* * * ? * *"
	id := c.do("POST", "/api/v1/jobs", "p", cron).must(t, 201).obj(t)["id"].(string)
	now := c.clk.Now().UTC().Truncate(time.Second)
	body := map[string]any{"from": now.Add(-2000 * time.Second).Format(time.RFC3339), "to": now.Add(-time.Second).Format(time.RFC3339), "concurrency": 4}
	c.do("POST", "/api/v1/jobs/"+id+"/backfill", "p", body).must(t, 200)
	teststack.Eventually(t, 15*time.Second, "the backfill's window to move on", func() bool {
		return c.journal("p", id, 1, 1).ResultCount >= 8
	})

	other := c.do("POST", "/api/v1/jobs", "q", intervalBody()).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+other+"/exec", "q", nil).must(t, 200)
	c.waitJournal("q", other, 1)
	// Stored so far: the runs ended and the window's four, not the 2,000 instants.
	p := c.journal("p", id, 1, 100)
	open := 0
	for _, e := range p.Data {
		if s := e["exestatus"]; s != "success" && s != "failure" && s != "skipped" {
			open++
		}
	}
	if open > 4 || p.ResultCount >= 2000 {
		t.Fatalf("%d backfill fires stored, %d of the newest not ended; want the window's 4 at most", p.ResultCount, open)
	}
}

// rearmed waits until a fixed-delay job's next fire counts from its run's end, and
// returns it.
func rearmed(t *testing.T, c *center, id string) time.Time {
	t.Helper()
	var nrt string
	teststack.Eventually(t, 10*time.Second, "the next fire to count from the run's end", func() bool {
		nrt, _ = c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t)["next_run_time"].(string)
		return nrt != ""
	})
	at, err := time.ParseInLocation("2006-01-02 15:04:05", nrt, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// A fixed-delay job's run's end is kept apart from the job: a trigger started again —
// from its image, or after a rebuild of the store from the events — still counts the
// job's next fire from it, and the list shows that fire as a read does.
func TestAFixedDelayJobsRunsEndOutlivesARestartAndARebuild(t *testing.T) {
	for _, how := range []string{"image", "rebuild"} {
		t.Run(how, func(t *testing.T) {
			c := newCenterWithAll(t, nil, nil, func(cfg *trigger.Config) { cfg.ImageInterval = time.Hour })
			obs := imageStore(t, c)
			teststack.Eventually(t, 10*time.Second, "the first term's image", func() bool {
				_, err := obs.GetInfo(context.Background(), "trigger")
				return err == nil
			})
			flowRunner(t, c, "fd", func(int64) contracts.FlowReply { return contracts.FlowReply{OK: true} })
			id := c.do("POST", "/api/v1/jobs", "p", flowJob("fd", map[string]any{"seconds": 10, "fixed_delay": true})).must(t, 201).obj(t)["id"].(string)
			c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
			c.clk.Advance(10 * time.Second)
			c.waitJournal("p", id, 1)
			next := rearmed(t, c, id)
			var list []map[string]any
			c.do("GET", "/api/v1/jobs", "p", nil).must(t, 200).json(t, &list)
			if len(list) != 1 || list[0]["next_run_time"] != next.Format("2006-01-02 15:04:05") {
				t.Fatalf("the list's next_run_time %v, a read's %v", list[0]["next_run_time"], next)
			}
			c.stop("trigger")
			if how == "rebuild" {
				svc, err := trigger.New(context.Background(), trigger.Config{
					NATSURL: c.stack.NATSURL, MongoURI: c.stack.MongoURI, MongoDB: c.stack.DB, Streams: streams,
					StoreTimeout: 3 * time.Second, LeaseTTL: 5 * time.Second, Clock: c.clk, Log: testLog(t),
				})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Rebuild(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			c.startTrigger()
			c.clk.Advance(next.Add(time.Second).Sub(c.clk.Now()))
			c.waitJournal("p", id, 2)
		})
	}
}

// pause_after_failures counts a fixed-delay job's runs as any job's: its runs' ends do
// not move its start.
func TestAFixedDelayJobIsPausedAfterFailuresInARow(t *testing.T) {
	c := newCenter(t)
	flowRunner(t, c, "fdfail", func(int64) contracts.FlowReply { return contracts.FlowReply{OK: false, Error: "no"} })
	id := c.do("POST", "/api/v1/jobs", "p", flowJob("fdfail", map[string]any{"seconds": 10, "fixed_delay": true, "pause_after_failures": 2})).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	c.clk.Advance(10 * time.Second)
	c.waitJournal("p", id, 1)
	next := rearmed(t, c, id)
	c.clk.Advance(next.Add(time.Second).Sub(c.clk.Now()))
	c.waitJournal("p", id, 2)
	teststack.Eventually(t, 10*time.Second, "the job to be paused", func() bool {
		var h []map[string]any
		c.do("GET", "/api/v1/jobs/"+id+"/history", "p", nil).must(t, 200).json(t, &h)
		return len(h) > 0 && h[len(h)-1]["event"] == "stopped"
	})
}
