package cron

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// field is a position in a Quartz expression.
type field int

const (
	second field = iota
	minute
	hour
	dayOfMonth
	month
	dayOfWeek
	year
)

const (
	minYear = 1970
	maxYear = 2099
	// maxLastDayOffset is Quartz's bound on n in "L-n".
	maxLastDayOffset = 30
	// maxDigits keeps numbers far below int overflow; no field needs more.
	maxDigits = 9

	monthNames = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"
	dayNames   = "SUNMONTUEWEDTHUFRISAT"
)

// String returns the field's name as used in error messages.
func (f field) String() string {
	switch f {
	case second:
		return "second"
	case minute:
		return "minute"
	case hour:
		return "hour"
	case dayOfMonth:
		return "day-of-month"
	case month:
		return "month"
	case dayOfWeek:
		return "day-of-week"
	default:
		return "year"
	}
}

// bounds returns the values Quartz accepts in f.
func (f field) bounds() (lo, hi int) {
	switch f {
	case second, minute:
		return 0, 59
	case hour:
		return 0, 23
	case dayOfMonth:
		return 1, 31
	case month:
		return 1, 12
	case dayOfWeek:
		return 1, 7
	default:
		return minYear, maxYear
	}
}

// bitset holds a field's allowed values: value v is bit v, years are offset by minYear.
type bitset [3]uint64

func (b *bitset) add(i int) { b[i>>6] |= 1 << (i & 63) }

// next returns the smallest member >= i.
func (b *bitset) next(i int) (int, bool) {
	i = max(i, 0)
	for w := i >> 6; w < len(b); w++ {
		m := b[w]
		if w == i>>6 {
			m &= ^uint64(0) << (i & 63)
		}
		if m != 0 {
			return w<<6 + bits.TrailingZeros64(m), true
		}
	}
	return 0, false
}

// parseSet parses a comma-separated list of plain items ('*', values, ranges,
// increments) into the set of values it allows.
func parseSet(f field, text string) (bitset, error) {
	var set bitset
	if strings.Contains(text, "?") {
		if f != dayOfMonth && f != dayOfWeek {
			return set, errors.New("'?' is only allowed in day-of-month and day-of-week")
		}
		return set, errors.New("'?' must be the whole field")
	}
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return set, fmt.Errorf("empty item in list %q", text)
		}
		if err := addItem(f, item, &set); err != nil {
			return set, err
		}
	}
	return set, nil
}

// addItem adds the values one list item allows to set.
func addItem(f field, item string, set *bitset) error {
	lo, hi := f.bounds()
	span, hasStep := item, false
	step := 1
	if before, after, ok := strings.Cut(item, "/"); ok {
		var err error
		if step, err = parseStep(f, after); err != nil {
			return err
		}
		span, hasStep = before, true
	}

	from, to := lo, hi
	// Quartz reads "/n" as "*/n".
	if span != "*" && !(span == "" && hasStep) {
		first, last, isRange := strings.Cut(span, "-")
		var err error
		if from, err = parseValue(f, first); err != nil {
			return err
		}
		switch {
		case isRange:
			if to, err = parseValue(f, last); err != nil {
				return err
			}
			if isName(first) != isName(last) {
				return fmt.Errorf("range %q mixes a name and a number", span)
			}
		case !hasStep:
			to = from
		}
		if hasStep && isName(first) {
			// Quartz silently drops an increment after a name; refuse rather than
			// accept text that would not mean what it says.
			return fmt.Errorf("increment %q after a name is not supported", item)
		}
	}
	return addRange(f, set, from, to, step)
}

// addRange adds from, from+step, ... up to to. A range ending below its start wraps
// past the field's maximum, as Quartz's does ("22-2" is 22, 23, 0, 1, 2).
func addRange(f field, set *bitset, from, to, step int) error {
	lo, hi := f.bounds()
	width := hi - lo + 1
	if to < from {
		if f == year {
			return fmt.Errorf("range %d-%d runs backwards", from, to)
		}
		to += width
	}
	offset := 0
	if f == year {
		offset = minYear
	}
	for v := from; v <= to; v += step {
		x := v
		if x > hi {
			x -= width
		}
		set.add(x - offset)
	}
	return nil
}

// parseStep parses the increment after '/'. Quartz caps it at the field's maximum;
// years, which Quartz leaves unchecked, are capped at their span, beyond which an
// increment cannot reach a second value.
func parseStep(f field, text string) (int, error) {
	if text == "" {
		return 0, errors.New("'/' must be followed by a number")
	}
	n, ok := parseNumber(text)
	if !ok {
		return 0, fmt.Errorf("invalid increment %q", text)
	}
	limit := maxYear - minYear
	if f != year {
		_, limit = f.bounds()
	}
	if n < 1 || n > limit {
		return 0, fmt.Errorf("increment %d out of range 1-%d", n, limit)
	}
	return n, nil
}

// parseValue parses a single number, or a month or day-of-week name, and checks its range.
func parseValue(f field, tok string) (int, error) {
	lo, hi := f.bounds()
	if n, ok := parseNumber(tok); ok {
		if n < lo || n > hi {
			return 0, fmt.Errorf("value %d out of range %d-%d", n, lo, hi)
		}
		return n, nil
	}
	if isName(tok) && (f == month || f == dayOfWeek) {
		names := monthNames
		if f == dayOfWeek {
			names = dayNames
		}
		for i := 0; i < len(names); i += 3 {
			if names[i:i+3] == tok {
				return i/3 + 1, nil
			}
		}
		return 0, fmt.Errorf("unknown name %q", tok)
	}
	if tok == "" {
		return 0, errors.New("missing value")
	}
	// Point at a special character used in the wrong field ("5L" in hours).
	if rest := strings.TrimLeft(tok, "0123456789"); rest != "" {
		switch {
		case rest[0] == 'L' && f != dayOfMonth && f != dayOfWeek:
			return 0, fmt.Errorf("invalid value %q: 'L' is only allowed in day-of-month and day-of-week", tok)
		case rest[0] == 'W' && f != dayOfMonth:
			return 0, fmt.Errorf("invalid value %q: 'W' is only allowed in day-of-month", tok)
		case rest[0] == '#' && f != dayOfWeek:
			return 0, fmt.Errorf("invalid value %q: '#' is only allowed in day-of-week", tok)
		}
	}
	return 0, fmt.Errorf("invalid value %q", tok)
}

// parseNumber parses a non-negative decimal number of at most maxDigits digits.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// isName reports whether tok has the shape of a month or day name: three letters.
func isName(tok string) bool {
	if len(tok) != 3 {
		return false
	}
	for _, c := range []byte(tok) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// daySpec is a parsed day-of-month or day-of-week field.
type daySpec struct {
	noSpec bool // the field is '?'
	rule   dayRule
}

// parseDayOfMonth parses the day-of-month field: '?', "L", "L-n", "LW", "L-nW", "nW"
// (each alone, as Quartz requires) or a plain list.
func parseDayOfMonth(text string) (daySpec, error) {
	if text == "?" {
		return daySpec{noSpec: true}, nil
	}
	if !strings.ContainsAny(text, "LW") {
		set, err := parseSet(dayOfMonth, text)
		return daySpec{rule: dayRule{kind: monthDays, set: set}}, err
	}
	if strings.Contains(text, ",") {
		return daySpec{}, fmt.Errorf("'L' and 'W' cannot be combined with other days (%q)", text)
	}
	switch {
	case text == "L":
		return daySpec{rule: dayRule{kind: lastDay}}, nil
	case text == "LW":
		return daySpec{rule: dayRule{kind: lastDayWeekday}}, nil
	case strings.HasPrefix(text, "L-"):
		offset, weekday := strings.CutSuffix(text[2:], "W")
		n, ok := parseNumber(offset)
		if !ok || n > maxLastDayOffset {
			return daySpec{}, fmt.Errorf("%q: the offset from the last day must be 0-%d", text, maxLastDayOffset)
		}
		kind := lastDay
		if weekday {
			kind = lastDayWeekday
		}
		return daySpec{rule: dayRule{kind: kind, n: n}}, nil
	case strings.HasSuffix(text, "W"):
		n, ok := parseNumber(strings.TrimSuffix(text, "W"))
		if !ok {
			return daySpec{}, fmt.Errorf("%q: 'W' must follow a single day of the month, not a range, list or increment", text)
		}
		if n < 1 || n > 31 {
			return daySpec{}, fmt.Errorf("%q: value %d out of range 1-31", text, n)
		}
		return daySpec{rule: dayRule{kind: nearestWeekday, n: n}}, nil
	}
	if strings.Contains(text, "L") {
		return daySpec{}, fmt.Errorf("%q: 'L' must be written L, L-n, LW or L-nW", text)
	}
	return daySpec{}, fmt.Errorf("%q: 'W' must follow a single day of the month, as in 15W", text)
}

// parseDayOfWeek parses the day-of-week field: '?', "L" (Saturday), "nL", "n#k" (each
// alone, as Quartz requires) or a plain list.
func parseDayOfWeek(text string) (daySpec, error) {
	if text == "?" {
		return daySpec{noSpec: true}, nil
	}
	if !strings.ContainsAny(text, "L#") {
		set, err := parseSet(dayOfWeek, text)
		return daySpec{rule: dayRule{kind: weekdays, set: set}}, err
	}
	if strings.Contains(text, ",") {
		return daySpec{}, fmt.Errorf("'L' and '#' cannot be combined with other days (%q)", text)
	}
	if text == "L" {
		// Alone, Quartz's day-of-week "L" is simply 7: every Saturday.
		var set bitset
		set.add(7)
		return daySpec{rule: dayRule{kind: weekdays, set: set}}, nil
	}
	if day, ok := strings.CutSuffix(text, "L"); ok {
		n, err := parseValue(dayOfWeek, day)
		if err != nil {
			return daySpec{}, fmt.Errorf("%q: %w", text, err)
		}
		return daySpec{rule: dayRule{kind: lastWeekday, n: n}}, nil
	}
	day, nth, _ := strings.Cut(text, "#")
	n, err := parseValue(dayOfWeek, day)
	if err != nil {
		return daySpec{}, fmt.Errorf("%q: %w", text, err)
	}
	k, ok := parseNumber(nth)
	if !ok || k < 1 || k > 5 {
		return daySpec{}, fmt.Errorf("%q: '#' must be followed by a number 1-5", text)
	}
	return daySpec{rule: dayRule{kind: nthWeekday, n: n, k: k}}, nil
}
