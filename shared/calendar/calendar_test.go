package calendar_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/job"
)

func TestACalendarExcludesItsDatesWindowsRangesAndCronSeconds(t *testing.T) {
	t.Parallel()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	c, err := calendar.Calendar{Name: "cn", Zone: "Asia/Shanghai",
		Dates:  []string{"2026-10-01", "2026-10-02"},
		Weekly: []calendar.Window{{From: "SAT 00:00", To: "MON 00:00"}, {From: "FRI 22:00", To: "FRI 23:00"}},
		Ranges: []calendar.Range{{From: at("2026-12-24 22:00:00"), To: at("2026-12-25 06:00:00")}},
		Cron:   "* 0-4 3 ? * *",
	}.Compile(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t     string
		until string // "" when included
	}{
		{"2026-10-01 00:00:00", "2026-10-03 00:00:00"}, // both holidays, then the weekend: leaped day by day
		{"2026-10-01 13:00:00", "2026-10-02 00:00:00"},
		{"2026-09-30 23:59:59", ""},
		{"2026-10-03 08:00:00", "2026-10-05 00:00:00"}, // Saturday
		{"2026-10-04 23:59:59", "2026-10-05 00:00:00"},
		{"2026-10-05 00:00:00", ""},
		{"2026-10-09 22:30:00", "2026-10-09 23:00:00"}, // Friday evening
		{"2026-10-09 23:00:00", ""},
		{"2026-12-24 21:59:59", ""},
		{"2026-12-24 23:00:00", "2026-12-25 06:00:00"},
		{"2026-12-25 06:00:00", ""},
		{"2026-10-07 03:02:10", "2026-10-07 03:05:00"}, // the cron's seconds, 03:00–03:04:59
		{"2026-10-07 03:05:00", ""},
	} {
		until, excluded := c.Excludes(at(tc.t))
		if tc.until == "" {
			if excluded {
				t.Errorf("%s: excluded until %v, want included", tc.t, until.In(sh))
			}
			continue
		}
		if !excluded {
			t.Errorf("%s: included, want excluded", tc.t)
			continue
		}
		// Until need not be the whole span: each answer is leaped and asked again.
		for !until.Equal(at(tc.until)) {
			next, more := c.Excludes(until)
			if !more || next.After(at(tc.until)) {
				t.Errorf("%s: excluded until %v, want until %s", tc.t, until.In(sh), tc.until)
				break
			}
			until = next
		}
	}
}

func TestAWeeklyWindowFollowsTheWallClockAcrossADaylightSavingChange(t *testing.T) {
	t.Parallel()
	ny, _ := time.LoadLocation("America/New_York")
	c, err := calendar.Calendar{Name: "nights", Zone: "America/New_York", Weekly: []calendar.Window{{From: "SUN 01:00", To: "SUN 04:00"}}}.Compile(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-08: 02:00 to 03:00 does not exist in New York.
	until, excluded := c.Excludes(time.Date(2026, 3, 8, 1, 30, 0, 0, ny))
	if want := time.Date(2026, 3, 8, 4, 0, 0, 0, ny); !excluded || !until.Equal(want) {
		t.Fatalf("excluded %v until %v, want until %v", excluded, until, want)
	}
	if _, excluded := c.Excludes(time.Date(2026, 3, 8, 4, 0, 0, 0, ny)); excluded {
		t.Fatal("04:00 is excluded")
	}
}

func TestABadCalendarNamesItsField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c     calendar.Calendar
		field string
	}{
		{calendar.Calendar{Name: "", Dates: []string{"2026-10-01"}}, "name"},
		{calendar.Calendar{Name: "-x", Dates: []string{"2026-10-01"}}, "name"},
		{calendar.Calendar{Name: "x"}, "dates"},
		{calendar.Calendar{Name: "x", Dates: []string{"2026-13-01"}}, "dates[0]"},
		{calendar.Calendar{Name: "x", Dates: []string{"2026-12-25", "2026-10-01", "2026-12-25"}}, "dates[2]"},
		{calendar.Calendar{Name: "x", Zone: "Mars/Base", Dates: []string{"2026-10-01"}}, "timezone"},
		{calendar.Calendar{Name: "x", Weekly: []calendar.Window{{From: "SAT 00:00", To: "FUNDAY 00:00"}}}, "weekly[0].to"},
		{calendar.Calendar{Name: "x", Weekly: []calendar.Window{{From: "SAT 25:00", To: "SUN 00:00"}}}, "weekly[0].from"},
		{calendar.Calendar{Name: "x", Weekly: []calendar.Window{{From: "SAT 10:00", To: "SAT 10:00"}}}, "weekly[0].to"},
		{calendar.Calendar{Name: "x", Ranges: []calendar.Range{{From: time.Unix(100, 0), To: time.Unix(50, 0)}}}, "ranges[0].to"},
		{calendar.Calendar{Name: "x", Cron: "0 61 * * * ?"}, "cron"},
		{calendar.Calendar{Name: "x", Dates: make([]string, calendar.MaxDates+1)}, "dates"},
	} {
		_, err := tc.c.Compile(time.UTC)
		var fe *calendar.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%+v: %v, want an error on %q", tc.c, err, tc.field)
		} else if strings.HasPrefix(fe.Msg, fe.Field+":") || strings.HasPrefix(fe.Msg, "cron:") {
			t.Errorf("%+v: %q names its field twice", tc.c, fe.Error())
		}
	}
}

// A day excluded whole in a zone whose daylight saving begins at midnight (the midnight
// after it does not exist) is excluded to its very end.
func TestADateEndsAtTheDayAfterEvenWhereMidnightIsSkipped(t *testing.T) {
	t.Parallel()
	santiago, _ := time.LoadLocation("America/Santiago")
	c, err := calendar.Calendar{Name: "d", Zone: "America/Santiago", Dates: []string{"2026-09-05"},
		Weekly: []calendar.Window{{From: "SAT 00:00", To: "SUN 00:00"}}}.Compile(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 9, 5, 23, 30, 0, 0, santiago)
	until, excluded := c.Excludes(at)
	if !excluded || !until.After(at) || until.In(santiago).Day() != 6 {
		t.Fatalf("23:30 on the excluded Saturday: excluded %v until %v", excluded, until.In(santiago))
	}
}

// A cron calendar excluding whole days is leaped a day at a time, and a job whose every
// instant it excludes has no fire (found without walking each second).
func TestACronCalendarOfWholeDaysIsLeapedDayByDay(t *testing.T) {
	t.Parallel()
	c, err := calendar.Calendar{Name: "we", Zone: "UTC", Cron: "* * * ? * SAT,SUN"}.Compile(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	sat := time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)
	if until, excluded := c.Excludes(sat.Add(90 * time.Minute)); !excluded || !until.Equal(sat.AddDate(0, 0, 2)) {
		t.Fatalf("Saturday 01:30: excluded %v until %v, want until Monday", excluded, until)
	}
	s := job.Trigger{Kind: job.Cron, Cron: "0 0 12 ? * SAT", Zone: "UTC"}.Compile(sat)
	s.Exclude = calendar.Exclude(func(string) *calendar.Compiled { return c }, []string{"we"})
	if at, ok := s.Next(sat); ok {
		t.Fatalf("a Saturday job under a weekend calendar fires at %v", at)
	}
}

// A calendar of every second excludes every instant a job has: none is left, not one
// past the cron engine's last year (it answered 2127).
func TestACalendarOfEverySecondLeavesAJobNoFire(t *testing.T) {
	t.Parallel()
	c, err := calendar.Calendar{Name: "all", Zone: "UTC", Cron: "* * * * * ?"}.Compile(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	s := job.Trigger{Kind: job.Interval, Every: 5 * time.Second}.Compile(now)
	s.Exclude = calendar.Exclude(func(string) *calendar.Compiled { return c }, []string{"all"})
	if at, ok := s.Next(now); ok {
		t.Fatalf("a job under a calendar of every second fires at %v", at)
	}
}

func TestAWholeWeekWindowAndNamesTheBucketCannotHold(t *testing.T) {
	t.Parallel()
	c, err := calendar.Calendar{Name: "all", Weekly: []calendar.Window{{From: "MON 00:00", To: "SUN 24:00"}}}.Compile(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if _, excluded := c.Excludes(time.Date(2026, 12, 13, 23, 59, 59, 0, time.UTC)); !excluded {
		t.Fatal("a whole week's window leaves Sunday's last second")
	}
	for _, n := range []string{"x.", "a..b", ".a"} {
		if err := calendar.CheckName("name", n); err == nil {
			t.Errorf("%q accepted as a name", n)
		}
	}
}
