package e2e_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/teststack"
)

// A project's calendars exclude times from the jobs that name them, through the whole
// center: next_run_time, the preview and the fires skip what they exclude, a change of a
// calendar reschedules its jobs, and bad calendars and names are 4xx naming the field.
func TestACalendarsExcludedTimesAreNoFireAndItsChangeReschedules(t *testing.T) {
	c := newCenter(t)
	now := c.clk.Now().Truncate(time.Second)
	local := func(t time.Time) string { return t.In(shanghai).Format("2006-01-02 15:04:05") }
	// The job runs every 60 s from its start; minutes 2 to 4 are excluded.
	quiet := map[string]any{"name": "quiet", "description": "maintenance", "ranges": []map[string]string{
		{"from": local(now.Add(90 * time.Second)), "to": local(now.Add(270 * time.Second))}}}
	cal := c.do("POST", "/api/v1/calendars", "p", quiet).must(t, 201).obj(t)
	if cal["name"] != "quiet" || cal["timezone"] != "Asia/Shanghai" {
		t.Fatalf("calendar: %v", cal)
	}
	c.do("POST", "/api/v1/calendars", "p", quiet).must(t, 409)
	b := intervalBody()
	b["seconds"], b["calendars"] = 60, []string{"quiet"}
	j := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)
	if cals, _ := j["jobParameter"].(map[string]any)["calendars"].([]any); len(cals) != 1 || cals[0] != "quiet" {
		t.Fatalf("jobParameter.calendars: %v", j["jobParameter"])
	}
	id := j["id"].(string)
	started := c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200).obj(t)
	start := c.clk.Now().Truncate(time.Millisecond)
	var pv struct{ Next []time.Time }
	c.do("GET", "/api/v1/jobs/"+id+"/preview?count=3", "p", nil).must(t, 200).json(t, &pv)
	minute := func(k int) time.Time { return start.Add(time.Duration(k) * time.Minute) }
	if len(pv.Next) != 3 || !pv.Next[0].Equal(minute(1)) || !pv.Next[1].Equal(minute(5)) || !pv.Next[2].Equal(minute(6)) {
		t.Fatalf("preview %v; want minutes 1, 5, 6 after the start %v", pv.Next, start)
	}
	if started["next_run_time"] != local(minute(1)) {
		t.Fatalf("next_run_time %v", started["next_run_time"])
	}
	c.clk.Advance(time.Minute)
	c.waitJournal("p", id, 1)
	c.clk.Advance(3 * time.Minute) // minutes 2 to 4: excluded
	c.clk.Advance(time.Minute)
	p := c.waitJournal("p", id, 2)
	if at, _ := time.Parse("2006-01-02T15:04:05.000-0700", p.Data[0]["triggertime"].(string)); !at.Equal(minute(5)) {
		t.Fatalf("the fire after the excluded minutes at %v, want %v", p.Data[0]["triggertime"], minute(5))
	}

	// Minutes 6 to 8 excluded now: the job, due at 6, moves to 9 at once.
	quiet["ranges"] = []map[string]string{{"from": local(minute(6)), "to": local(minute(9))}}
	c.do("PUT", "/api/v1/calendars/quiet", "p", quiet).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "the job to be rescheduled past the new exclusion", func() bool {
		return c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t)["next_run_time"] == local(minute(9))
	})
	c.clk.Advance(4 * time.Minute)
	p = c.waitJournal("p", id, 3)
	if at, _ := time.Parse("2006-01-02T15:04:05.000-0700", p.Data[0]["triggertime"].(string)); !at.Equal(minute(9)) {
		t.Fatalf("the fire after the change at %v, want %v", p.Data[0]["triggertime"], minute(9))
	}

	// A calendar a job names cannot be deleted; a job cannot name one the project lacks.
	if r := c.do("DELETE", "/api/v1/calendars/quiet", "p", nil).must(t, 409); !strings.Contains(string(r.body), id) {
		t.Fatalf("delete of a calendar in use: %s", r.body)
	}
	for _, tc := range []struct {
		names []string
		field string
	}{{[]string{"nope"}, "calendars[0]"}, {[]string{"quiet", "quiet"}, "calendars[1]"}, {[]string{"bad name"}, "calendars[0]"}} {
		bb := intervalBody()
		bb["calendars"] = tc.names
		if _, field := c.do("PUT", "/api/v1/jobs/"+id, "p", bb).must(t, 400).errField(t); field != tc.field {
			t.Fatalf("%v: error on %q, want %q", tc.names, field, tc.field)
		}
	}
	// Another project's calendar of the same name is not this one's.
	c.do("POST", "/api/v1/calendars", "q", map[string]any{"name": "other", "dates": []string{"2026-10-01"}}).must(t, 201)
	bb := intervalBody()
	bb["calendars"] = []string{"other"}
	if _, field := c.do("POST", "/api/v1/jobs", "p", bb).must(t, 400).errField(t); field != "calendars[0]" {
		t.Fatalf("another project's calendar: error on %q", field)
	}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x"}, "dates"},
		{map[string]any{"dates": []string{"2026-10-01"}}, "name"},
		{map[string]any{"name": "x", "dates": []string{"2026-02-30"}}, "dates[0]"},
		{map[string]any{"name": "x", "weekly": []map[string]string{{"from": "SAT 00:00", "to": "SUNDAY"}}}, "weekly[0].to"},
		{map[string]any{"name": "x", "ranges": []map[string]string{{"from": "soon", "to": "later"}}}, "ranges[0].from"},
		{map[string]any{"name": "x", "cron": "0 61 * * * ?"}, "cron"},
		{map[string]any{"name": "x", "timezone": "Mars/Base", "dates": []string{"2026-10-01"}}, "timezone"},
	} {
		if _, field := c.do("POST", "/api/v1/calendars", "p", tc.body).must(t, 400).errField(t); field != tc.field {
			t.Fatalf("%v: error on %q, want %q", tc.body, field, tc.field)
		}
	}
	// A Quartz schedule names calendars too (modifiedByCalendar), by the same rules.
	withCal := save("s", "0 0 12 * * ?", "b-cal")
	withCal["xw_quartz"].(map[string]any)["calendars"] = []string{"nope"}
	if r := c.quartz("bizcronjob", "p", withCal); r.status != 400 || !strings.Contains(string(r.body), "calendars[0]") {
		t.Fatalf("a Quartz save naming no calendar: %d %s", r.status, r.body)
	}
	withCal["xw_quartz"].(map[string]any)["calendars"] = []string{"quiet"}
	var saved struct {
		RespData struct {
			GroupJobID string `json:"group_job_id"`
		} `json:"resp_data"`
	}
	c.quartz("bizcronjob", "p", withCal).must(t, 200).json(t, &saved)
	sched := c.do("GET", "/api/v1/jobs/"+saved.RespData.GroupJobID, "p", nil).must(t, 200).obj(t)
	if cals, _ := sched["jobParameter"].(map[string]any)["calendars"].([]any); len(cals) != 1 || cals[0] != "quiet" {
		t.Fatalf("the Quartz schedule's calendars: %v", sched["jobParameter"])
	}
	c.quartz("bizcronjob", "p", save("s", "0 0 12 * * ?", "b-cal")).must(t, 200) // saved again without: none
	var list struct{ Calendars []map[string]any }
	c.do("GET", "/api/v1/calendars", "p", nil).must(t, 200).json(t, &list)
	if len(list.Calendars) != 1 || list.Calendars[0]["name"] != "quiet" {
		t.Fatalf("the project's calendars: %v", list.Calendars)
	}
	// Taken out of the job, the calendar can go.
	c.do("PUT", "/api/v1/jobs/"+id, "p", intervalBody()).must(t, 200)
	c.do("DELETE", "/api/v1/calendars/quiet", "p", nil).must(t, 204)
	c.do("GET", "/api/v1/calendars/quiet", "p", nil).must(t, 404)
}

// The cron preview skips what the project's calendars named exclude: a form can show the
// fires a job naming them would have before it is saved.
func TestTheCronPreviewSkipsWhatTheCalendarsItNamesExclude(t *testing.T) {
	c := newCenter(t)
	day := func(k int) string { return c.clk.Now().In(shanghai).AddDate(0, 0, k).Format("2006-01-02") }
	c.do("POST", "/api/v1/calendars", "p", map[string]any{"name": "off", "dates": []string{day(2)}}).must(t, 201)
	path := "/api/v1/cron/next?count=3&tz=Asia/Shanghai&expr=" + urlq("0 0 9 * * ?")
	var plain, skipping struct{ Next []string }
	c.do("GET", path, "", nil).must(t, 200).json(t, &plain)
	c.do("GET", path+"&calendars=off", "p", nil).must(t, 200).json(t, &skipping)
	for _, at := range skipping.Next {
		if strings.HasPrefix(at, day(2)) {
			t.Fatalf("the preview with calendar off shows %s, a day it excludes: %v", at, skipping.Next)
		}
	}
	isDay2 := func(at string) bool { return strings.HasPrefix(at, day(2)) }
	if len(skipping.Next) != 3 || !slices.ContainsFunc(plain.Next, isDay2) {
		t.Fatalf("preview %v with the calendar, %v without (which must show %s)", skipping.Next, plain.Next, day(2))
	}
	// A name the project has none of is a 400 naming it; another project's is not its own.
	for _, tc := range []struct{ project, names, field string }{{"p", "off,nope", "calendars[1]"}, {"p", "off,off", "calendars[1]"}, {"p", "off,", "calendars[1]"}, {"q", "off", "calendars[0]"}} {
		if _, field := c.do("GET", path+"&calendars="+tc.names, tc.project, nil).must(t, 400).errField(t); field != tc.field {
			t.Fatalf("calendars %s of %s: error on %q, want %q", tc.names, tc.project, field, tc.field)
		}
	}
	// Calendars are a project's: without X-Project-Id the request names none.
	c.do("GET", path+"&calendars=off", "", nil).must(t, 400)
}

// A start of a job whose calendars exclude every instant it has left is a 409 naming
// calendars, as a start past its end names end_date: it was started with no fire.
func TestAStartOfAJobItsCalendarsLeaveNoFireIsRefusedNamingThem(t *testing.T) {
	c := newCenter(t)
	day := c.clk.Now().In(shanghai).AddDate(0, 0, 2)
	c.do("POST", "/api/v1/calendars", "p", map[string]any{"name": "off", "dates": []string{day.Format("2006-01-02")}}).must(t, 201)
	b := intervalBody()
	delete(b, "seconds")
	b["trigger"], b["run_date"], b["calendars"] = "date", day.Format("2006-01-02")+" 10:00:00", []string{"off"}
	id := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)["id"].(string)
	if _, field := c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 409).errField(t); field != "calendars" {
		t.Fatalf("start: error on %q, want calendars", field)
	}
	if j := c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t); j["next_run_time"] != nil {
		t.Fatalf("refused, the job changed: %v", j)
	}
	// The calendar changed, it starts.
	c.do("PUT", "/api/v1/calendars/off", "p", map[string]any{"name": "off", "dates": []string{day.AddDate(0, 0, 1).Format("2006-01-02")}}).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "the start once the calendar lets the date through", func() bool {
		return c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).status == 200
	})
}
