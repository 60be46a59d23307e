// Package calendar holds a tenant's named calendars of excluded times, as Quartz's
// calendars and Temporal's exclusions are: whole dates (holidays), weekly windows, time
// ranges and a cron expression whose seconds are excluded. A job naming a calendar does
// not fire at an instant it excludes. It decides only what a calendar excludes; where
// calendars are kept and how a schedule skips what they exclude are others' business.
package calendar

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/cron"
)

// Bounds of a calendar's parts, so that none can carry a payload.
const (
	MaxDates     = 1000
	MaxWindows   = 100
	MaxRanges    = 100
	MaxPerTenant = 100
	// MaxPerJob bounds the calendars one job names.
	MaxPerJob = 10
)

// Calendar is what a tenant defines: what it excludes, read in Zone.
type Calendar struct {
	Name        string
	Description string
	// Zone is the IANA zone dates and weekly windows are read in ("": the center's).
	Zone string
	// Dates are whole days excluded, "2026-10-01".
	Dates []string
	// Weekly are windows excluded each week, "SAT 00:00" to "MON 08:30" (to is not
	// excluded; a window may wrap past Sunday).
	Weekly []Window
	// Ranges are spans of time excluded once, From included, To not.
	Ranges []Range
	// Cron, when set, is a Quartz expression: each second it matches is excluded
	// (Quartz's CronCalendar).
	Cron string
}

// Window is a weekly window, "DAY HH:MM" to "DAY HH:MM".
type Window struct{ From, To string }

// Range is a span of time, From included, To not.
type Range struct{ From, To time.Time }

// FieldError names what is wrong with a calendar.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// CheckName checks a calendar's name, as a job names it (field is where it was given):
// also a key in the calendars' bucket, where a dot ends no name and two dots do not meet.
func CheckName(field, name string) error {
	if !nameRE.MatchString(name) || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return invalid(field, "%q is not a calendar name: 1 to 64 letters, digits, '_', '.' or '-', not starting with a sign", clip(name))
	}
	return nil
}

// Compiled is a calendar ready to tell what it excludes.
type Compiled struct {
	loc    *time.Location
	dates  map[int]bool // y·10000 + m·100 + d
	weekly [][2]int     // seconds of the week, Monday 00:00 = 0; from > to wraps
	ranges []Range
	cron   *cron.Expr
}

// Compile checks c and makes it ready, its zone defaulting to loc. The error is a
// *FieldError naming the first field at fault.
func (c Calendar) Compile(loc *time.Location) (*Compiled, error) {
	if err := CheckName("name", c.Name); err != nil {
		return nil, err
	}
	if n := len([]rune(c.Description)); n > 2000 {
		return nil, invalid("description", "is %d characters long, at most 2000 are allowed", n)
	}
	out := &Compiled{loc: loc, dates: map[int]bool{}}
	if c.Zone != "" {
		l, err := time.LoadLocation(c.Zone)
		if err != nil || strings.TrimSpace(c.Zone) != c.Zone {
			return nil, invalid("timezone", "unknown time zone %q", clip(c.Zone))
		}
		out.loc = l
	}
	if out.loc == nil {
		out.loc = time.UTC
	}
	if len(c.Dates) == 0 && len(c.Weekly) == 0 && len(c.Ranges) == 0 && c.Cron == "" {
		return nil, invalid("dates", "a calendar excludes something: dates, weekly, ranges or cron")
	}
	if len(c.Dates) > MaxDates {
		return nil, invalid("dates", "holds %d dates, at most %d are allowed", len(c.Dates), MaxDates)
	}
	for i, d := range c.Dates {
		t, err := time.Parse("2006-01-02", d)
		if err != nil {
			return nil, invalid(fmt.Sprintf("dates[%d]", i), "%q is not a date: write 2026-10-01", clip(d))
		}
		if out.dates[civil(t)] {
			return nil, invalid(fmt.Sprintf("dates[%d]", i), "%s is listed twice", d)
		}
		out.dates[civil(t)] = true
	}
	if len(c.Weekly) > MaxWindows {
		return nil, invalid("weekly", "holds %d windows, at most %d are allowed", len(c.Weekly), MaxWindows)
	}
	for i, w := range c.Weekly {
		from, err1 := weekSecond(w.From)
		to, err2 := weekSecond(w.To)
		from %= week // "SUN 24:00" is Monday's midnight as a start, the week's end as an end
		switch {
		case err1 != nil:
			return nil, invalid(fmt.Sprintf("weekly[%d].from", i), "%v", err1)
		case err2 != nil:
			return nil, invalid(fmt.Sprintf("weekly[%d].to", i), "%v", err2)
		case from == to:
			return nil, invalid(fmt.Sprintf("weekly[%d].to", i), "must differ from from (a window of no time)")
		}
		out.weekly = append(out.weekly, [2]int{from, to})
	}
	if len(c.Ranges) > MaxRanges {
		return nil, invalid("ranges", "holds %d ranges, at most %d are allowed", len(c.Ranges), MaxRanges)
	}
	for i, r := range c.Ranges {
		if !r.To.After(r.From) {
			return nil, invalid(fmt.Sprintf("ranges[%d].to", i), "must be later than from")
		}
		out.ranges = append(out.ranges, r)
	}
	slices.SortFunc(out.ranges, func(a, b Range) int { return a.From.Compare(b.From) })
	if c.Cron != "" {
		e, err := cron.Parse(c.Cron)
		if err != nil {
			return nil, invalid("cron", "%s", strings.TrimPrefix(err.Error(), "cron: ")) // the field names it
		}
		out.cron = e
	}
	return out, nil
}

var days = map[string]int{"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}

// weekSecond reads "DAY HH:MM" (or "DAY HH:MM:SS", or "DAY 24:00") as seconds from
// Monday 00:00.
func weekSecond(s string) (int, error) {
	day, clock, ok := strings.Cut(strings.TrimSpace(s), " ")
	d, known := days[strings.ToUpper(day)]
	if !ok || !known {
		return 0, fmt.Errorf("%q is not a day and time: write \"SAT 00:00\" (MON … SUN, 24-hour time)", clip(s))
	}
	parts := strings.Split(strings.TrimSpace(clock), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("%q is not a day and time: write \"SAT 00:00\"", clip(s))
	}
	var hms [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || len(p) != 2 || (i == 0 && n > 24) || (i > 0 && n > 59) {
			return 0, fmt.Errorf("%q is not a day and time: write \"SAT 00:00\"", clip(s))
		}
		hms[i] = n
	}
	secs := hms[0]*3600 + hms[1]*60 + hms[2]
	if secs > 24*3600 {
		return 0, fmt.Errorf("%q is past the day's end (24:00)", clip(s))
	}
	return d*24*3600 + secs, nil
}

const week = 7 * 24 * 3600

// Excludes reports whether t is excluded and, when it is, a time until which every
// instant from t on is excluded too (later than t), so that a search can leap the span.
func (c *Compiled) Excludes(t time.Time) (until time.Time, excluded bool) {
	l := t.In(c.loc)
	if c.dates[civil(l)] {
		until = later(until, after(t, time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, c.loc)))
	}
	if len(c.weekly) > 0 {
		// By the wall clock, as the windows are written: a DST change moves no window.
		y, m, d := l.Date()
		wd := (int(l.Weekday()) + 6) % 7
		sec := wd*86400 + l.Hour()*3600 + l.Minute()*60 + l.Second()
		for _, w := range c.weekly {
			from, to := w[0], w[1]
			if in := from < to && sec >= from && sec < to || from > to && (sec >= from || sec < to); !in {
				continue
			}
			end := to
			if from > to && sec >= from {
				end += week
			}
			until = later(until, after(t, time.Date(y, m, d-wd+end/86400, end%86400/3600, end%3600/60, end%60, 0, c.loc)))
		}
	}
	for _, r := range c.ranges {
		if r.From.After(t) {
			break
		}
		if t.Before(r.To) {
			until = later(until, r.To)
		}
	}
	if c.cron != nil {
		if s := c.cronSpan(t); s.After(t) {
			until = later(until, s)
		}
	}
	return until, until.After(t)
}

// cronSpan is where the run of seconds the calendar's cron matches from t on ends (t
// itself when it does not match): leaping a whole minute, hour or day at a time where
// the expression matches all of it, so that a calendar excluding whole days costs a few
// steps a day, not 86,400. At most a year is walked.
func (c *Compiled) cronSpan(t time.Time) time.Time {
	secs, mins, hours := c.cron.Whole()
	s := t.Truncate(time.Second)
	for limit := t.AddDate(1, 0, 0); s.Before(limit); {
		if next, ok := c.cron.Next(s.Add(-time.Second), c.loc); !ok || !next.Equal(s) {
			return s
		}
		l := s.In(c.loc)
		y, m, d := l.Date()
		switch {
		case secs && mins && hours:
			s = after(s, time.Date(y, m, d+1, 0, 0, 0, 0, c.loc))
		case secs && mins:
			s = after(s, time.Date(y, m, d, l.Hour()+1, 0, 0, 0, c.loc))
		case secs:
			s = after(s, time.Date(y, m, d, l.Hour(), l.Minute()+1, 0, 0, c.loc))
		default:
			s = s.Add(time.Second)
		}
	}
	return s
}

// after is wall, a wall-clock time computed to follow t, made to follow it: a time a
// daylight-saving change skips (a midnight some zones skip) is read before the change,
// and may fall at or before t; then it is moved on by the hour until it follows.
func after(t, wall time.Time) time.Time {
	for !wall.After(t) {
		wall = wall.Add(time.Hour)
	}
	return wall
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func civil(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// Key is the name every part of the center knows tenant's calendar name by: its key in
// the calendars' bucket, and what a scheduler looks it up by.
func Key(tenant, name string) string { return contracts.Token(tenant) + "." + name }

// Exclude is what the calendars of keys exclude, as a schedule asks it: an instant any
// of them excludes, until the latest of their spans. A calendar get does not hold (one
// deleted) excludes nothing. Nil when keys is empty.
func Exclude(get func(key string) *Compiled, keys []string) func(time.Time) (time.Time, bool) {
	if len(keys) == 0 || get == nil {
		return nil
	}
	return func(t time.Time) (until time.Time, excluded bool) {
		for _, k := range keys {
			if c := get(k); c != nil {
				if u, ok := c.Excludes(t); ok && u.After(until) {
					until, excluded = u, true
				}
			}
		}
		return until, excluded
	}
}

// ErrNotFound: no such calendar in the tenant.
var ErrNotFound = errors.New("calendar not found")
