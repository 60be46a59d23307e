package e2e_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/teststack"
)

// The schedule features give the same instants whichever trigger instance fires them: a
// cron with a jitter and a calendar, an interval with a jitter, a calendar and an end,
// and a fixed delay, each fired by one trigger, then by a standby after the first is
// killed, then by the first again (restarted) after the second is stopped. Every fire is
// one the preview showed when the jobs were started, none twice, none missing but while
// no trigger was active; none is an instant the calendar excludes or after the end; the
// job past its end is finished; each fixed-delay fire is its last run's end plus the
// period, to the millisecond, across both hand-overs.
func TestScheduleFeaturesFireTheSameInstantsAcrossATakeoverAndARestart(t *testing.T) {
	cl, c := twoTriggers(t)

	// Seconds 5-9, 25-29 and 45-49 of every minute are excluded.
	const excluded = "5-9,25-29,45-49 * * * * ?"
	c.do("POST", "/api/v1/calendars", "p", map[string]any{"name": "quiet", "cron": excluded}).must(t, 201)
	isExcluded := func(at time.Time) bool { s := at.Second() % 20; return s >= 5 && s <= 9 }

	add := func(extra map[string]any) string {
		b := intervalBody()
		b["code"] = "return 1"
		for k, v := range extra {
			b[k] = v
		}
		id := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)["id"].(string)
		c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
		return id
	}
	end := time.Now().Add(25 * time.Second).Truncate(time.Second)
	cron := add(map[string]any{"trigger": "cron", "cron": "*/2 * * * * ?", "jitter": 1, "calendars": []string{"quiet"}})
	bounded := add(map[string]any{"seconds": 1, "jitter": 1, "calendars": []string{"quiet"}, "end_date": end.UTC().Format(time.RFC3339)})
	delayed := add(map[string]any{"seconds": 1, "fixed_delay": true})
	preview := func(id string) []time.Time {
		var pv struct{ Next []time.Time }
		c.do("GET", "/api/v1/jobs/"+id+"/preview?count=100", "p", nil).must(t, 200).json(t, &pv)
		return pv.Next
	}
	want := map[string][]time.Time{cron: preview(cron), bounded: preview(bounded)}
	// Its 25 s of life hold 25 instants, of which the calendar excludes at least five.
	if n := len(want[bounded]); n < 10 || n > 20 || want[bounded][n-1].After(end) {
		t.Fatalf("the bounded job's preview %v: want its fires up to %v only, five or more excluded", want[bounded], end)
	}

	// handOver takes the active trigger away (killed or stopped) and waits until the
	// other fires again: the stretch between is when no trigger may have been active.
	var outages []outage
	handOver := func(stop func(*proc)) string {
		active := cl.activeTrigger()
		other := map[string]string{"t1": "t2", "t2": "t1"}[active]
		from := time.Now()
		stop(cl.procs[active])
		teststack.Eventually(t, 15*time.Second, "the other trigger never took the lease", func() bool { return cl.activeTrigger() == other })
		teststack.Eventually(t, 15*time.Second, "no fire after the hand-over", func() bool {
			p := c.journal("p", delayed, 1, 1)
			return len(p.Data) == 1 && parseJournalTime(t, p.Data[0]["triggertime"]).After(from.Add(time.Second))
		})
		outages = append(outages, outage{from, time.Now()})
		return active
	}
	time.Sleep(5 * time.Second)
	killed := handOver(func(p *proc) { p.kill9(t) })
	cl.start(killed, "trigger") // a standby again
	time.Sleep(5 * time.Second)
	handOver(func(p *proc) { p.term(t) })
	for time.Now().Before(end.Add(5 * time.Second)) {
		time.Sleep(250 * time.Millisecond)
	}
	stopped := time.Now()
	for _, id := range []string{cron, bounded, delayed} {
		c.do("POST", "/api/v1/jobs/"+id+"/stop", "p", nil).must(t, 200)
	}
	inOutage := func(at time.Time) bool {
		return slices.ContainsFunc(outages, func(o outage) bool { return !at.Before(o.from) && !at.After(o.to) })
	}

	for id, expected := range want {
		entries := settled(t, c, id)
		fired := map[int64]bool{} // by Unix ms: times read back differ in location
		first := parseJournalTime(t, entries[len(entries)-1]["triggertime"])
		for _, e := range entries {
			at := parseJournalTime(t, e["triggertime"])
			if fired[at.UnixMilli()] {
				t.Errorf("job %s: %v fired twice", id, at)
			}
			fired[at.UnixMilli()] = true
			if !slices.ContainsFunc(expected, at.Equal) {
				t.Errorf("job %s: fired at %v (%v), not an instant its preview showed", id, at, e["triggerid"])
			}
			if nominal := instantOf(t, e); isExcluded(nominal) || at.Sub(nominal) < 0 || at.Sub(nominal) >= time.Second {
				t.Errorf("job %s: fire %v at %v: its instant excluded, or spread outside its jitter", id, e["triggerid"], at)
			}
			if e["exestatus"] != "success" {
				t.Errorf("job %s: fire at %v: %v %v", id, at, e["exestatus"], e["exedes"])
			}
		}
		lost := 0
		for _, at := range expected {
			if !at.Before(first) && at.Before(stopped.Add(-time.Second)) && !fired[at.UnixMilli()] && !inOutage(at) {
				lost++
				t.Errorf("job %s: %v, in its preview, never fired", id, at)
			}
		}
		t.Logf("job %s: %d fires, each one its preview showed, %d lost", id, len(entries), lost)
		if lost > 0 {
			for _, e := range entries {
				t.Logf("  %v %v %v", e["triggertime"], e["triggerid"], e["exestatus"])
			}
			t.Logf("outages %v", outages)
		}
	}
	if job := c.do("GET", "/api/v1/jobs/"+bounded, "p", nil).must(t, 200).obj(t); job["next_run_time"] != nil {
		t.Errorf("the job past its end_date is not finished: %v", job["next_run_time"])
	}

	entries := settled(t, c, delayed)
	for i := len(entries) - 1; i > 0; i-- {
		prev, next := entries[i], entries[i-1]
		ended, at := parseJournalTime(t, prev["updatetime"]), parseJournalTime(t, next["triggertime"])
		if !at.Equal(ended.Add(time.Second)) {
			t.Errorf("fixed delay: a fire at %v after a run ended at %v; want a second after", at, ended)
		}
	}
	if len(entries) < 8 {
		t.Errorf("fixed delay: %d fires in %v", len(entries), time.Since(outages[0].from))
	}
	t.Logf("fixed delay: %d fires, each a second after its last run's end; hand-overs took %v and %v",
		len(entries), outages[0].to.Sub(outages[0].from).Round(time.Millisecond), outages[1].to.Sub(outages[1].from).Round(time.Millisecond))
}

// settled waits until a job's journal has no run under way and returns it, newest first.
func settled(t *testing.T, c *center, id string) []map[string]any {
	t.Helper()
	var p journalPage
	teststack.Eventually(t, 20*time.Second, "the journal never settled", func() bool {
		p = c.journal("p", id, 1, 1000)
		for _, e := range p.Data {
			if s := e["exestatus"]; s == "running" || s == "waiting" {
				return false
			}
		}
		return len(p.Data) == p.ResultCount && p.ResultCount > 0
	})
	return p.Data
}

// instantOf reads the instant a fire is named by (its triggerid's <job>@<ms>).
func instantOf(t *testing.T, e map[string]any) time.Time {
	t.Helper()
	id := e["triggerid"].(string)
	ms, err := strconv.ParseInt(id[strings.LastIndexByte(id, '@')+1:], 10, 64)
	if err != nil {
		t.Fatalf("triggerid %q", id)
	}
	return time.UnixMilli(ms)
}
