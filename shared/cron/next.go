package cron

import (
	"math"
	"time"
)

// Next returns the first fire time strictly after t, computed in loc (wall-clock fields
// are matched in loc), as Quartz's CronExpression.getTimeAfter computes it with
// setTimeZone(loc); ok is false when Quartz finds none: getTimeAfter returns null (the
// years are exhausted), throws (a field with no value) or never returns. The schedule is
// then finished.
//
// As in Quartz the search starts at t plus one second with the sub-second part dropped.
// A wall-clock time skipped by a daylight-saving change never fires, and one repeated
// by a change fires once, at its second (standard-time) occurrence; see the package
// documentation. A nil loc means UTC. The result is in loc.
func (e *Expr) Next(t time.Time, loc *time.Location) (next time.Time, ok bool) {
	if loc == nil {
		loc = time.UTC
	}
	if e.never {
		return time.Time{}, false
	}
	after := t.Unix() + 1 // Unix floors: the sub-second part is dropped
	z := zoneCache{loc: loc}
	z.load(after)
	cl := calendar{z: &z, dd: -1}
	cl.setInstant(after)
	cl.dirty = true // cl.set(Calendar.MILLISECOND, 0)
	u, ok := e.timeAfter(&cl, after)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(u, 0).In(loc), true
}

// Calendar field indexes, for calendar.f.
const (
	cYear = iota
	cMonth
	cDay
	cHour
	cMinute
	cSecond
)

// timeAfter is getTimeAfter, statement by statement, on cl, which holds the instant
// after (afterTime, in seconds). It returns the fire as Unix seconds.
func (e *Expr) timeAfter(cl *calendar, after int64) (int64, bool) {
	// getTimeAfter loops until every field matches; an expression it cannot satisfy
	// ends when the years run out, except a few that send it round in circles (a
	// day-of-month "0W", "L-30W" in a 30-day month): Brent's cycle detection notices
	// those, where Quartz never returns.
	var saved [6]int
	power, lam := 1, 0
	for range 1 << 22 {
		if cl.get(cYear) > maxCalendarYear {
			return 0, false
		}
		if cl.f == saved {
			return 0, false
		}
		if lam++; lam == power {
			saved, power, lam = cl.f, power*2, 0
		}

		// Second.
		sec := cl.get(cSecond)
		min := cl.get(cMinute)
		if v, ok := e.second.tail(sec); ok {
			sec = v
		} else {
			if sec, ok = e.second.first(); !ok {
				return 0, false
			}
			min++
			cl.set(cMinute, min)
		}
		cl.set(cSecond, sec)

		// Minute.
		min = cl.get(cMinute)
		hr := cl.get(cHour)
		t := -1
		if v, ok := e.minute.tail(min); ok {
			t, min = min, v
		} else {
			if min, ok = e.minute.first(); !ok {
				return 0, false
			}
			hr++
		}
		if min != t {
			cl.set(cSecond, 0)
			cl.set(cMinute, min)
			cl.setHour(hr)
			continue
		}
		cl.set(cMinute, min)

		// Hour.
		hr = cl.get(cHour)
		day := cl.get(cDay)
		t = -1
		if v, ok := e.hour.tail(hr); ok {
			t, hr = hr, v
		} else {
			if hr, ok = e.hour.first(); !ok {
				return 0, false
			}
			day++
		}
		if hr != t {
			cl.set(cSecond, 0)
			cl.set(cMinute, 0)
			cl.set(cDay, day)
			cl.setHour(hr)
			continue
		}
		cl.set(cHour, hr)

		// Day.
		day = cl.get(cDay)
		mon := cl.get(cMonth) + 1
		t = -1
		tmon := mon
		if e.byDayOfMonth {
			var ok bool
			switch {
			case e.lastDayOfMonth && !e.nearestWeekday:
				t = day
				day = daysIn(cl.get(cYear), mon) - e.lastDayOffset
				if t > day {
					mon++
					if mon > 12 {
						mon, tmon = 1, 3333
						cl.addYear()
					}
					day = 1
				}
			case e.lastDayOfMonth:
				t = day
				day = daysIn(cl.get(cYear), mon) - e.lastDayOffset
				var fire int64
				day, fire = nearestWeekday(cl.z, cl.get(cYear), mon, day, hr, min, sec)
				if fire < after {
					day = 1
					mon++
				}
			case e.nearestWeekday:
				t = day
				if day, ok = e.dayOfMonth.first(); !ok {
					return 0, false
				}
				var fire int64
				day, fire = nearestWeekday(cl.z, cl.get(cYear), mon, day, hr, min, sec)
				if fire < after {
					day, _ = e.dayOfMonth.first()
					mon++
				}
			default:
				if v, found := e.dayOfMonth.tail(day); found {
					t, day = day, v
					if day > daysIn(cl.get(cYear), mon) {
						day, _ = e.dayOfMonth.first()
						mon++
					}
				} else {
					if day, ok = e.dayOfMonth.first(); !ok {
						return 0, false
					}
					mon++
				}
			}
			if day != t || mon != tmon {
				cl.set(cSecond, 0)
				cl.set(cMinute, 0)
				cl.set(cHour, 0)
				cl.set(cDay, day)
				cl.set(cMonth, mon-1)
				continue
			}
		} else {
			// Quartz does this part in int arithmetic, where a day-of-week of
			// "2147483647#1" overflows; int32 keeps that.
			dow, ok := e.dayOfWeek.first()
			if !ok {
				return 0, false
			}
			d, cDow, want := int32(day), int32(cl.weekday()), int32(dow)
			lastDay := int32(daysIn(cl.get(cYear), mon))
			switch {
			case e.lastDayOfWeek:
				var add int32
				if cDow < want {
					add = want - cDow
				}
				if cDow > want {
					add = want + (7 - cDow)
				}
				if d+add > lastDay {
					cl.startOfMonth(mon) // no "- 1": the next month
					continue
				}
				for d+add+7 <= lastDay {
					add += 7
				}
				d += add
				if add > 0 {
					cl.startOfMonth(mon - 1)
					cl.set(cDay, int(d))
					continue
				}
			case e.nthDayOfWeek != 0:
				var add int32
				if cDow < want {
					add = want - cDow
				} else if cDow > want {
					add = want + (7 - cDow)
				}
				shifted := add > 0
				d += add
				week := d / 7
				if d%7 > 0 {
					week++
				}
				add = (int32(e.nthDayOfWeek) - week) * 7
				d += add
				if add < 0 || d > lastDay {
					cl.startOfMonth(mon)
					continue
				} else if add > 0 || shifted {
					cl.startOfMonth(mon - 1)
					cl.set(cDay, int(d))
					continue
				}
			default:
				if v, found := e.dayOfWeek.tail(int(cDow)); found {
					want = int32(v)
				}
				var add int32
				if cDow < want {
					add = want - cDow
				}
				if cDow > want {
					add = want + (7 - cDow)
				}
				if d+add > lastDay {
					cl.startOfMonth(mon)
					continue
				} else if add > 0 {
					cl.startOfMonth(mon - 1)
					cl.set(cDay, int(d+add))
					continue
				}
			}
			day = int(d)
		}
		cl.set(cDay, day)

		// Month.
		mon = cl.get(cMonth) + 1
		yr := cl.get(cYear)
		t = -1
		if yr > maxYear {
			return 0, false
		}
		if v, ok := e.month.tail(mon); ok {
			t, mon = mon, v
		} else {
			if mon, ok = e.month.first(); !ok {
				return 0, false
			}
			yr++
		}
		if mon != t {
			cl.set(cSecond, 0)
			cl.set(cMinute, 0)
			cl.set(cHour, 0)
			cl.set(cDay, 1)
			cl.set(cMonth, mon-1)
			cl.set(cYear, yr)
			continue
		}
		cl.set(cMonth, mon-1)

		// Year.
		yr = cl.get(cYear)
		t = -1
		v, ok := e.years.tail(yr)
		if !ok {
			return 0, false
		}
		t, yr = yr, v
		if yr != t {
			cl.set(cSecond, 0)
			cl.set(cMinute, 0)
			cl.set(cHour, 0)
			cl.set(cDay, 1)
			cl.set(cMonth, 0)
			cl.set(cYear, yr)
			continue
		}
		cl.set(cYear, yr)
		return cl.instant(), true
	}
	return 0, false
}

// nearestWeekday is getTimeAfter's "W" step: the weekday nearest day of month mon
// (Saturday moves to Friday unless it is the 1st, then Monday the 3rd; Sunday moves to
// Monday unless it is the last day, then Friday), and that day at hr:min:sec as an
// instant. Quartz works it out on a second, lenient calendar of the zone
// (Calendar.getInstance), so a day past the month's end is read in the next month.
// That calendar keeps the milliseconds of the moment Quartz runs, which getTimeAfter
// then compares with the start; the instant here is whole seconds, as if they were 0.
func nearestWeekday(z *zoneCache, yr, mon, day, hr, min, sec int) (int, int64) {
	tcal := calendar{z: z, f: [6]int{yr, mon - 1, day, 0, 0, 0}, dirty: true, dd: -1}
	last := daysIn(yr, mon)
	switch dow := tcal.weekday(); {
	case dow == 7 && day == 1:
		day += 2
	case dow == 7:
		day--
	case dow == 1 && day == last:
		day -= 2
	case dow == 1:
		day++
	}
	tcal.set(cSecond, sec)
	tcal.set(cMinute, min)
	tcal.set(cHour, hr)
	tcal.set(cDay, day)
	tcal.set(cMonth, mon-1)
	return day, tcal.instant()
}

// calendar is the java.util.GregorianCalendar getTimeAfter works on, lenient: fields
// may be set out of range (the 32nd, hour 24, minute -1) and are normalized, as an
// instant in the zone and back, when next read. Month is 0-based, as in Java.
type calendar struct {
	z     *zoneCache
	f     [6]int
	u     int64 // the instant of f, once normalized
	dirty bool
	// The day number (days since 1970-01-01) of the date dy-dm-dd (dm 0-based), the
	// date last normalized: most normalizations stay on one day.
	dy, dm, dd int
	days       int64
}

func (c *calendar) get(i int) int {
	if c.dirty {
		c.normalize()
	}
	return c.f[i]
}

func (c *calendar) set(i, v int) {
	// Setting a normalized field to its value changes nothing Quartz reads again.
	if c.f[i] != v || c.dirty {
		c.f[i] = v
		c.dirty = true
	}
}

// setHour is Quartz's setCalendarHour: an hour a daylight-saving gap skips reads as
// the next one.
func (c *calendar) setHour(h int) {
	c.set(cHour, h)
	if c.get(cHour) != h && h != 24 {
		c.set(cHour, h+1)
	}
}

// startOfMonth sets 00:00:00 on the 1st of Java month m (0-based, lenient).
func (c *calendar) startOfMonth(m int) {
	c.set(cSecond, 0)
	c.set(cMinute, 0)
	c.set(cHour, 0)
	c.set(cDay, 1)
	c.set(cMonth, m)
}

// addYear is cl.add(Calendar.YEAR, 1): normalize, then the next year, keeping the day
// within the month.
func (c *calendar) addYear() {
	c.get(cYear)
	c.f[cYear]++
	if last := daysIn(c.f[cYear], c.f[cMonth]+1); c.f[cDay] > last {
		c.f[cDay] = last
	}
	c.dirty = true
}

// weekday is get(Calendar.DAY_OF_WEEK): 1 = Sunday ... 7 = Saturday.
func (c *calendar) weekday() int {
	c.get(cYear)
	return int(((c.days+4)%7+7)%7) + 1 // 1970-01-01 was a Thursday (5)
}

// instant is getTime(), in Unix seconds.
func (c *calendar) instant() int64 {
	if c.dirty {
		c.normalize()
	}
	return c.u
}

// setInstant is setTime: the fields of instant u in the zone.
func (c *calendar) setInstant(u int64) {
	c.u = u
	c.setWall(u + c.z.offsetAt(u))
	c.dirty = false
}

// setWall sets the fields to wall-clock time w (Unix seconds read in UTC).
func (c *calendar) setWall(w int64) {
	days := floorDiv(w, 86400)
	secs := int(w - days*86400)
	y, m, d := civilFromDays(days)
	c.f = [6]int{y, m - 1, d, secs / 3600, secs / 60 % 60, secs % 60}
	c.dy, c.dm, c.dd, c.days = y, m-1, d, days
}

// normalize is GregorianCalendar.computeTime followed by computeFields: the fields, out
// of range or not, read as one wall-clock time (months past December are next year's,
// the 32nd is the next month's 1st, and so on), that wall-clock time resolved to an
// instant in the zone, and the fields read back from the instant.
func (c *calendar) normalize() {
	c.dirty = false
	f := &c.f
	inRange := f[cSecond] >= 0 && f[cSecond] < 60 && f[cMinute] >= 0 && f[cMinute] < 60 &&
		f[cHour] >= 0 && f[cHour] < 24 && f[cMonth] >= 0 && f[cMonth] < 12 &&
		f[cDay] >= 1 && (f[cDay] <= 28 || f[cDay] <= daysIn(f[cYear], f[cMonth]+1))
	var days int64
	switch {
	case f[cYear] == c.dy && f[cMonth] == c.dm && f[cDay] == c.dd:
		days = c.days
	case f[cMonth] >= 0 && f[cMonth] < 12:
		days = daysFromCivil(f[cYear], f[cMonth]+1, 1) + int64(f[cDay]-1)
	default:
		days = daysFromCivil(f[cYear]+floorDivInt(f[cMonth], 12), floorModInt(f[cMonth], 12)+1, 1) + int64(f[cDay]-1)
	}
	w := days*86400 + int64(f[cHour])*3600 + int64(f[cMinute])*60 + int64(f[cSecond])
	if c.z.wallLo <= w && w < c.z.wallHi {
		// The common case: the zone period in hand holds w, and no gap.
		c.u = w - c.z.off
		if !inRange {
			c.setWall(w)
		} else {
			c.dy, c.dm, c.dd, c.days = f[cYear], f[cMonth], f[cDay], days
		}
		return
	}
	c.u = c.z.resolve(w)
	c.setWall(c.u + c.z.offsetAt(c.u))
}

// zoneCache turns instants into wall-clock times in loc and back, keeping the zone
// period last used so that most conversions need no look-up.
type zoneCache struct {
	loc        *time.Location
	start, end int64 // the period: instants [start, end), unbounded as MinInt64, MaxInt64
	off        int64 // its UTC offset, seconds
	// wallLo, wallHi: the wall-clock times, as Unix seconds read in UTC, that resolve
	// into the period and exist: from its own start up to its end or the next period's
	// start, whichever comes first in wall-clock time.
	wallLo, wallHi int64
}

// load makes the period holding instant u the one in hand.
func (z *zoneCache) load(u int64) {
	t := time.Unix(u, 0).In(z.loc)
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	z.off = int64(off)
	z.start, z.wallLo = math.MinInt64, math.MinInt64
	if !start.IsZero() {
		z.start = start.Unix()
		z.wallLo = z.start + z.off
	}
	z.end, z.wallHi = math.MaxInt64, math.MaxInt64
	if !end.IsZero() {
		z.end = end.Unix()
		_, next := end.In(z.loc).Zone()
		z.wallHi = z.end + min(z.off, int64(next))
	}
}

// offsetAt returns the UTC offset at instant u.
func (z *zoneCache) offsetAt(u int64) int64 {
	if u < z.start || u >= z.end {
		z.load(u)
	}
	return z.off
}

// resolve turns wall-clock time w (Unix seconds read in UTC) into an instant the way
// Java's GregorianCalendar does (ZoneInfo.getOffsetsByWall): with the offset of the
// last zone transition whose own wall-clock start is not after w. A time in a
// spring-forward gap therefore gets the offset from before the gap (it lands after the
// gap, shifted by its length) and a time in a fall-back overlap the offset from after
// it (its second occurrence).
func (z *zoneCache) resolve(w int64) int64 {
	// Offsets are within a day of UTC, so the period in force at w-read-as-UTC is the
	// right one or a neighbour of it.
	u := w
	for range 8 {
		z.load(u)
		switch {
		case z.start != math.MinInt64 && z.start+z.off > w:
			u = z.start - 1
		case z.end != math.MaxInt64 && z.end+z.offsetAfterEnd() <= w:
			u = z.end
		default:
			return w - z.off
		}
	}
	// Only a zone changing offset several times within a day gets here.
	return w - z.off
}

// offsetAfterEnd returns the offset of the period after the one in hand.
func (z *zoneCache) offsetAfterEnd() int64 {
	_, off := time.Unix(z.end, 0).In(z.loc).Zone()
	return int64(off)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorDivInt(a, b int) int { return int(floorDiv(int64(a), int64(b))) }

func floorModInt(a, b int) int { return a - floorDivInt(a, b)*b }

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

// civilFromDays is the inverse of daysFromCivil (Hinnant's civil_from_days).
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}
