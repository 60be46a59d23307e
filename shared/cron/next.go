package cron

import (
	"math/bits"
	"time"
)

// Next returns the first fire time strictly after t, computed in loc (wall-clock fields are
// matched in loc), as Quartz computes it; ok is false when there is no later match
// (e.g. the year field is exhausted) — the schedule is then finished.
//
// As in Quartz the search starts at t plus one second with the sub-second part dropped.
// A wall-clock time skipped by a daylight-saving change never fires, and one repeated
// by a change fires once, at its second (standard-time) occurrence; see the package
// documentation. A nil loc means UTC. The result is in loc.
func (e *Expr) Next(t time.Time, loc *time.Location) (next time.Time, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	from := civilOf(t.Truncate(time.Second).Add(time.Second).In(loc))
	for {
		w, ok := e.nextWall(from)
		if !ok {
			return time.Time{}, false
		}
		at := resolve(w, loc)
		switch {
		case civilOf(at) != w:
			// w does not exist in loc: a clock change jumped over it. Go on from
			// the first wall-clock time after the jump.
			from = gapEnd(at, w)
		case !at.After(t):
			// Cannot happen with real zone data (resolve never goes back in time
			// as w grows); guards the contract should a zone be odd.
			from = w.add(1)
		default:
			return at, true
		}
	}
}

// civil is a wall-clock date and time, without a zone.
type civil struct {
	year, month, day, hour, minute, second int
}

func civilOf(t time.Time) civil {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return civil{y, int(m), d, h, mi, s}
}

// unix returns the seconds from 1970-01-01 00:00:00 to c, both read as UTC.
func (c civil) unix() int64 {
	return daysFromCivil(c.year, c.month, c.day)*86400 + int64(c.hour*3600+c.minute*60+c.second)
}

// add returns c moved by n seconds.
func (c civil) add(n int64) civil { return civilOf(time.Unix(c.unix()+n, 0).UTC()) }

func (c civil) startOfNextMonth() civil {
	if c.month == 12 {
		return civil{year: c.year + 1, month: 1, day: 1}
	}
	return civil{year: c.year, month: c.month + 1, day: 1}
}

func (c civil) startOfNextDay() civil {
	if c.day < daysIn(c.year, c.month) {
		return civil{year: c.year, month: c.month, day: c.day + 1}
	}
	return c.startOfNextMonth()
}

func (c civil) startOfNextHour() civil {
	if c.hour < 23 {
		c.hour, c.minute, c.second = c.hour+1, 0, 0
		return c
	}
	return c.startOfNextDay()
}

func (c civil) startOfNextMinute() civil {
	if c.minute < 59 {
		c.minute, c.second = c.minute+1, 0
		return c
	}
	return c.startOfNextHour()
}

// nextWall returns the first wall-clock time at or after c that matches every field,
// ignoring time zones. Like Quartz's getTimeAfter it fixes the fields from the largest
// down, and when one has no allowed value left it moves the next larger field on and
// starts over; every step jumps to the next allowed value, so a year takes a few dozen
// steps at most and an impossible expression fails once the years run out.
func (e *Expr) nextWall(c civil) (civil, bool) {
	for {
		y, ok := e.year.next(c.year - minYear)
		if !ok {
			return civil{}, false
		}
		if y += minYear; y != c.year {
			c = civil{year: y, month: 1, day: 1}
		}
		m, ok := e.month.next(c.month)
		if !ok {
			c = civil{year: c.year + 1, month: 1, day: 1}
			continue
		}
		if m != c.month {
			c = civil{year: c.year, month: m, day: 1}
		}
		d, ok := nextDay(e.day.days(c.year, c.month), c.day)
		if !ok {
			c = c.startOfNextMonth()
			continue
		}
		if d != c.day {
			c = civil{year: c.year, month: c.month, day: d}
		}
		h, ok := e.hour.next(c.hour)
		if !ok {
			c = c.startOfNextDay()
			continue
		}
		if h != c.hour {
			c.hour, c.minute, c.second = h, 0, 0
		}
		mi, ok := e.minute.next(c.minute)
		if !ok {
			c = c.startOfNextHour()
			continue
		}
		if mi != c.minute {
			c.minute, c.second = mi, 0
		}
		s, ok := e.second.next(c.second)
		if !ok {
			c = c.startOfNextMinute()
			continue
		}
		c.second = s
		return c, true
	}
}

// resolve turns a wall-clock time into an instant in loc the way Java's
// GregorianCalendar does (ZoneInfo.getOffsetsByWall): with the offset of the last zone
// transition whose own wall-clock start is not after w. A time in a spring-forward gap
// therefore gets the offset from before the gap (it lands after the gap, shifted by
// its length) and a time in a fall-back overlap the offset from after it (its second
// occurrence).
func resolve(w civil, loc *time.Location) time.Time {
	local := w.unix()
	// Offsets are within a day of UTC, so the zone period in force at local-read-as-UTC
	// is the right one or a neighbour of it.
	at := time.Unix(local, 0).In(loc)
	for range 8 {
		_, offset := at.Zone()
		start, end := at.ZoneBounds()
		switch {
		case !start.IsZero() && start.Unix()+int64(offset) > local:
			at = start.Add(-time.Second)
		case !end.IsZero() && wallStart(end) <= local:
			at = end
		default:
			return time.Unix(local-int64(offset), 0).In(loc)
		}
	}
	// Only a zone changing offset several times within a day gets here.
	return time.Date(w.year, time.Month(w.month), w.day, w.hour, w.minute, w.second, 0, loc)
}

// wallStart returns the wall-clock time, read as UTC seconds, at which the zone period
// beginning at instant t starts.
func wallStart(t time.Time) int64 {
	_, offset := t.Zone()
	return t.Unix() + int64(offset)
}

// gapEnd returns the first wall-clock time after the gap that contains w; at is what
// resolve made of w, an instant in the period that begins when the gap ends.
func gapEnd(at time.Time, w civil) civil {
	start, _ := at.ZoneBounds()
	if end := civilOf(start); !start.IsZero() && end.unix() > w.unix() {
		return end
	}
	return w.add(1)
}

// dayKind says how a dayRule picks the days of a month.
type dayKind int

const (
	monthDays      dayKind = iota // the days in set
	lastDay                       // "L", "L-n": the last day minus n
	lastDayWeekday                // "LW", "L-nW": the weekday nearest the last day minus n
	nearestWeekday                // "nW": the weekday nearest day n
	weekdays                      // the days whose weekday (1 = Sunday) is in set
	lastWeekday                   // "nL": the last weekday n
	nthWeekday                    // "n#k": the k-th weekday n
)

// dayRule is the day field that is not '?'.
type dayRule struct {
	kind dayKind
	set  bitset
	n, k int
}

// days returns the days of the month that match, as bits 1-31.
func (r dayRule) days(y, m int) uint32 {
	last := daysIn(y, m)
	switch r.kind {
	case monthDays:
		return uint32(r.set[0]) & monthMask(last)
	case lastDay:
		return dayBit(last - r.n)
	case lastDayWeekday:
		if base := last - r.n; base >= 1 {
			return dayBit(weekdayNear(y, m, base, last))
		}
		return 0
	case nearestWeekday:
		if r.n <= last {
			return dayBit(weekdayNear(y, m, r.n, last))
		}
		return 0
	case weekdays:
		var mask uint32
		wd := weekday(y, m, 1)
		for d := 1; d <= last; d++ {
			if r.set[0]&(1<<wd) != 0 {
				mask |= 1 << d
			}
			wd = wd%7 + 1
		}
		return mask
	case lastWeekday:
		return dayBit(last - (weekday(y, m, last)-r.n+7)%7)
	default: // nthWeekday
		first := 1 + (r.n-weekday(y, m, 1)+7)%7
		if d := first + 7*(r.k-1); d <= last {
			return dayBit(d)
		}
		return 0
	}
}

// weekdayNear returns the Monday-Friday day nearest day base, never leaving the month:
// Saturday moves to Friday unless it is the 1st (then Monday the 3rd), Sunday moves to
// Monday unless it is the last day (then Friday), as Quartz's "W".
func weekdayNear(y, m, base, last int) int {
	switch weekday(y, m, base) {
	case 7:
		if base == 1 {
			return 3
		}
		return base - 1
	case 1:
		if base == last {
			return base - 2
		}
		return base + 1
	}
	return base
}

func dayBit(d int) uint32 {
	if d < 1 {
		return 0
	}
	return 1 << d
}

// monthMask has bits 1..last set.
func monthMask(last int) uint32 { return (1<<(last+1) - 1) &^ 1 }

// nextDay returns the smallest day >= d in mask.
func nextDay(mask uint32, d int) (int, bool) {
	mask &= ^uint32(0) << d
	if mask == 0 {
		return 0, false
	}
	return bits.TrailingZeros32(mask), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// weekday returns the day of the week in Quartz's numbering, 1 = Sunday ... 7 = Saturday.
func weekday(y, m, d int) int {
	// 1970-01-01 was a Thursday (5).
	return int(((daysFromCivil(y, m, d)+4)%7+7)%7) + 1
}

// daysFromCivil returns the days from 1970-01-01 to the given proleptic Gregorian date
// (Howard Hinnant's days_from_civil).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
