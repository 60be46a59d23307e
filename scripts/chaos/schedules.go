package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The schedule features under chaos: two cron jobs with a jitter and a calendar of
// excluded seconds, the second with an end_date halfway through the chaos. Each must fire
// exactly the instants its preview showed when it was started, whichever trigger fires
// them: none it did not show, none twice, none missing but while no trigger was active,
// none of an excluded second, none after its end — and the bounded one must end finished.

// quietCron is the chaos calendar's excluded seconds of every minute.
const quietCron = "5-9,25-29,45-49 * * * * ?"

// quiet reports whether the calendar excludes instant at.
func quiet(at time.Time) bool { s := at.Second() % 20; return s >= 5 && s <= 9 }

// schedJob is a job of the schedule features, and what its preview showed at its start.
type schedJob struct {
	id   string
	want []time.Time
	end  time.Time // zero: none
}

// addScheduleJobs adds and starts the schedule jobs; the chaos lasts duration.
func (c *chaos) addScheduleJobs(duration time.Duration) ([]schedJob, error) {
	if _, err := c.call("POST", "/api/v1/calendars", "chaos", `{"name":"quiet","cron":"`+quietCron+`"}`, nil, 201); err != nil {
		return nil, err
	}
	end := time.Now().Add(duration / 2).Truncate(time.Second)
	var out []schedJob
	for i, extra := range []string{
		`"cron":"*/2 * * * * ?","jitter":1`,
		`"cron":"*/3 * * * * ?","jitter":2,"end_date":"` + end.UTC().Format(time.RFC3339) + `"`,
	} {
		var j map[string]any
		body := fmt.Sprintf(`{"pid":"chaos","name":"s%d","trigger":"cron",%s,"calendars":["quiet"],"flow_id":"s%d"}`, i, extra, i)
		if _, err := c.call("POST", "/api/v1/jobs", "chaos", body, &j, 201); err != nil {
			return nil, err
		}
		sj := schedJob{id: j["id"].(string)}
		if i == 1 {
			sj.end = end
		}
		if _, err := c.call("POST", "/api/v1/jobs/"+sj.id+"/start", "chaos", "", nil, 200); err != nil {
			return nil, err
		}
		var pv struct{ Next []time.Time }
		if _, err := c.call("GET", "/api/v1/jobs/"+sj.id+"/preview?count=100", "chaos", "", &pv, 200); err != nil {
			return nil, err
		}
		sj.want = pv.Next
		out = append(out, sj)
	}
	return out, nil
}

// scheduleCounts are what checkSchedule found.
type scheduleCounts struct {
	fires, offSchedule, lost, twice, unfinished int
}

// checkSchedule checks a schedule job's journal entries (oldest first) against its
// preview, up to until (when the jobs were stopped) or the preview's horizon.
func (c *chaos) checkSchedule(sj schedJob, entries []map[string]any, until time.Time, n *scheduleCounts) error {
	fired := map[int64]bool{}
	var first time.Time
	for _, e := range entries {
		at, err := time.Parse("2006-01-02T15:04:05.000-0700", fmt.Sprint(e["triggertime"]))
		if err != nil {
			return fmt.Errorf("job %s: triggertime %v", sj.id, e["triggertime"])
		}
		if first.IsZero() {
			first = at
		}
		n.fires++
		if fired[at.UnixMilli()] {
			n.twice++
			fmt.Printf("  schedule job %s: %s fired twice\n", sj.id, at.Format(time.TimeOnly+".000"))
		}
		fired[at.UnixMilli()] = true
		fire := fmt.Sprint(e["triggerid"])
		ms, _ := strconv.ParseInt(fire[strings.LastIndexByte(fire, '@')+1:], 10, 64)
		nominal := time.UnixMilli(ms)
		shown := false
		for _, w := range sj.want {
			shown = shown || w.Equal(at)
		}
		if !shown || quiet(nominal) || !sj.end.IsZero() && at.After(sj.end) {
			n.offSchedule++
			fmt.Printf("  schedule job %s: fire %s at %s, not an instant its preview showed (excluded, or past its end?)\n", sj.id, fire, at.Format(time.TimeOnly+".000"))
		}
	}
	for _, w := range sj.want {
		if !first.IsZero() && !w.Before(first) && w.Before(until.Add(-time.Second)) && !fired[w.UnixMilli()] && !c.inOutage(w, w.Add(time.Millisecond)) {
			n.lost++
			fmt.Printf("  schedule job %s: %s, in its preview, never fired\n", sj.id, w.Format(time.TimeOnly+".000"))
		}
	}
	if !sj.end.IsZero() {
		var j map[string]any
		if _, err := c.call("GET", "/api/v1/jobs/"+sj.id, "chaos", "", &j, 200); err != nil {
			return err
		}
		if j["next_run_time"] != nil {
			n.unfinished++
			fmt.Printf("  schedule job %s: past its end %s, not finished (next_run_time %v)\n", sj.id, sj.end.Format(time.TimeOnly), j["next_run_time"])
		}
	}
	return nil
}
