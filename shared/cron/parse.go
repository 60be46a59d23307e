package cron

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unicode"
	"unicode/utf16"
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
	// noSpec and allSpec are the values Quartz stores for '?' and '*' (NO_SPEC_INT,
	// ALL_SPEC_INT) in the same sets as the days and hours: a day field holding noSpec
	// is the one that is not specified, whatever else it holds.
	noSpec  = 98
	allSpec = 99

	// minYear is where '*' starts in the year field, maxYear Quartz's MAX_YEAR: the
	// year its class is loaded plus 100, fixed here at what it is for a Quartz started
	// in 2026 (see the package documentation).
	minYear = 1970
	maxYear = 2126
	// maxCalendarYear is getTimeAfter's own stop ("prevent endless loop").
	maxCalendarYear = 2999

	// maxLastDayOffset is Quartz's bound on n in "L-n".
	maxLastDayOffset = 30
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

// bounds returns the values Quartz checks f's values against, and where a '*' or an
// open increment in f starts and stops.
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

// bitset holds small non-negative values: value v is bit v.
type bitset [3]uint64

const bitsetSize = len(bitset{}) * 64

func (b *bitset) add(i int) { b[i>>6] |= 1 << (i & 63) }

func (b *bitset) has(i int) bool { return i >= 0 && i < bitsetSize && b[i>>6]&(1<<(i&63)) != 0 }

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

// intSet is one of Quartz's TreeSet<Integer>: the values of a field. Values from base to
// base+bitsetSize-1 are bits; the rare others (an int overflow in Quartz's range loop, a
// day-of-week before '#' that Quartz does not check) are kept, sorted, in more. The year
// set keeps only years from minYear on, which is all a search from 1970 on can reach.
type intSet struct {
	bits bitset
	more []int
	base int
}

func (s *intSet) add(v int) {
	if i := v - s.base; i >= 0 && i < bitsetSize {
		s.bits.add(i)
		return
	}
	if s.base == minYear {
		return // a year before 1970 or after the window: never reached
	}
	k := 0
	for k < len(s.more) && s.more[k] < v {
		k++
	}
	if k < len(s.more) && s.more[k] == v {
		return
	}
	s.more = append(s.more, 0)
	copy(s.more[k+1:], s.more[k:])
	s.more[k] = v
}

func (s *intSet) has(v int) bool {
	if s.bits.has(v - s.base) {
		return true
	}
	for _, m := range s.more {
		if m == v {
			return true
		}
	}
	return false
}

// tail returns the smallest member >= v (TreeSet.tailSet(v).first()).
func (s *intSet) tail(v int) (int, bool) {
	best, ok := 0, false
	i := 0
	if v > s.base {
		i = v - s.base
	}
	if i < bitsetSize {
		if j, found := s.bits.next(i); found {
			best, ok = j+s.base, true
		}
	}
	for _, m := range s.more { // sorted: the first m >= v is the least
		if m >= v {
			if !ok || m < best {
				best, ok = m, true
			}
			break
		}
	}
	return best, ok
}

// first returns the smallest member; ok is false for an empty set, where Quartz's
// TreeSet.first() throws.
func (s *intSet) first() (int, bool) { return s.tail(math.MinInt) }

// jstring is a Java string: UTF-16 code units, as Quartz's parser indexes them.
type jstring []uint16

// javaUpper returns s as Java's s.toUpperCase(Locale.US) returns it, which is what
// Quartz parses: besides the ASCII letters, "ſ" becomes "S", "ı" "I", "ß" "SS".
func javaUpper(s string) jstring {
	out := make(jstring, 0, len(s))
	for _, r := range s {
		if r < 0x80 {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			out = append(out, uint16(r))
			continue
		}
		if x, ok := javaSpecialUpper[r]; ok {
			for _, u := range x {
				out = utf16.AppendRune(out, u)
			}
			continue
		}
		out = utf16.AppendRune(out, unicode.ToUpper(r))
	}
	return out
}

// javaString returns s as UTF-16, not upper-cased: the text as the user wrote it.
func javaString(s string) jstring {
	out := make(jstring, 0, len(s))
	for _, r := range s {
		out = utf16.AppendRune(out, r)
	}
	return out
}

func (s jstring) String() string { return string(utf16.Decode(s)) }

func (s jstring) index(c uint16) int {
	for i, x := range s {
		if x == c {
			return i
		}
	}
	return -1
}

func (s jstring) count(c uint16) int {
	n := 0
	for _, x := range s {
		if x == c {
			n++
		}
	}
	return n
}

func (s jstring) equals(lit string) bool {
	if len(s) != len(lit) {
		return false
	}
	for i := range s {
		if s[i] != uint16(lit[i]) {
			return false
		}
	}
	return true
}

// trim is Java's String.trim: it drops every character <= ' ' at both ends.
func (s jstring) trim() jstring {
	for len(s) > 0 && s[0] <= ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] <= ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// matchesLastDay reports whether s matches Quartz's "^L-[0-9]*[W]?" (String.matches:
// the whole string).
func (s jstring) matchesLastDay() bool {
	if len(s) < 2 || s[0] != 'L' || s[1] != '-' {
		return false
	}
	i := 2
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && s[i] == 'W' {
		i++
	}
	return i == len(s)
}

func isDigit(c uint16) bool { return '0' <= c && c <= '9' }

func isLetter(c uint16) bool { return 'A' <= c && c <= 'Z' }

// javaDigit returns Character.digit(c, 10): any Unicode decimal digit counts, "٥" and
// "５" as well as "5". Unicode encodes each set of decimal digits as ten code points in
// a row, zero first, so the value is the count of digits before c in its run, mod 10.
func javaDigit(c uint16) (int, bool) {
	if c < 0x80 {
		return int(c) - '0', isDigit(c)
	}
	if c >= 0xD800 && c <= 0xDFFF || !unicode.IsDigit(rune(c)) {
		return 0, false
	}
	n := 0
	for r := rune(c) - 1; unicode.IsDigit(r); r-- {
		n++
	}
	return n % 10, true
}

// javaParseInt is Java's Integer.parseInt(s): an optional sign, then decimal digits of
// any script, within int's range.
func javaParseInt(s jstring) (int, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		d, ok := javaDigit(c)
		if !ok {
			return 0, false
		}
		n = n*10 + int64(d)
		if n > math.MaxInt32+1 {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		return 0, false
	}
	return int(n), true
}

// parser is Quartz's CronExpression.buildExpression and the methods it calls, line by
// line: the state it fills is the expression's.
type parser struct{ e *Expr }

var (
	errEnd        = errors.New("unexpected end")
	errBothNoSpec = errors.New("only one of the two may be '?'")
)

// at returns s[i], or errEnd where Java's charAt would throw.
func at(s jstring, i int) (uint16, error) {
	if i < 0 || i >= len(s) {
		return 0, errEnd
	}
	return s[i], nil
}

// getValue is Quartz's getValue: v followed by the ASCII digits from s[i] on; pos is
// where they end (one past the end of s when they run to it, as Quartz has it).
func getValue(v int, s jstring, i int) (value, pos int, err error) {
	c, err := at(s, i)
	if err != nil {
		return 0, 0, err
	}
	n := int64(v)
	for isDigit(c) {
		n = n*10 + int64(c-'0')
		if n > math.MaxInt32 {
			return 0, 0, fmt.Errorf("number too large in %q", s.String())
		}
		i++
		if i >= len(s) {
			break
		}
		c = s[i]
	}
	if i < len(s) {
		return int(n), i, nil
	}
	return int(n), i + 1, nil
}

// store is Quartz's storeExpressionVals for one comma-separated item s of field f.
func (p *parser) store(s jstring, f field) error {
	e := p.e
	c := s[0]
	if isLetter(c) && !s.equals("L") && !s.equals("LW") && !s.matchesLastDay() {
		if len(s) < 3 {
			return fmt.Errorf("invalid value %q", s.String())
		}
		sub := s[0:3]
		sval, eval, incr := -1, -1, 0
		switch f {
		case month:
			if sval = nameNumber(sub, monthNames) + 1; sval <= 0 {
				return fmt.Errorf("unknown name %q", sub.String())
			}
			if len(s) > 3 && s[3] == '-' {
				if len(s) < 7 {
					return fmt.Errorf("invalid range %q", s.String())
				}
				if eval = nameNumber(s[4:7], monthNames) + 1; eval <= 0 {
					return fmt.Errorf("unknown name %q", s[4:7].String())
				}
			}
		case dayOfWeek:
			if sval = nameNumber(sub, dayNames) + 1; sval <= 0 {
				return fmt.Errorf("unknown name %q", sub.String())
			}
			if len(s) > 3 {
				switch s[3] {
				case '-':
					if len(s) < 7 {
						return fmt.Errorf("invalid range %q", s.String())
					}
					if eval = nameNumber(s[4:7], dayNames) + 1; eval <= 0 {
						return fmt.Errorf("unknown name %q", s[4:7].String())
					}
				case '#':
					n, ok := javaParseInt(s[4:])
					if !ok || n < 1 || n > 5 {
						return fmt.Errorf("%q: '#' must be followed by a number 1-5", s.String())
					}
					e.nthDayOfWeek = n
				case 'L':
					e.lastDayOfWeek = true
				}
			}
		default:
			return fmt.Errorf("invalid value %q: names are only allowed in month and day-of-week", s.String())
		}
		if eval != -1 {
			incr = 1
		}
		return p.addToSet(sval, eval, incr, f)
	}

	switch {
	case c == '?':
		if len(s) > 2 {
			return fmt.Errorf("invalid character after '?' in %q", s.String())
		}
		if f != dayOfWeek && f != dayOfMonth {
			return errors.New("'?' is only allowed in day-of-month and day-of-week")
		}
		if f == dayOfWeek && !e.lastDayOfMonth {
			last, ok := e.dayOfMonth.last()
			if !ok {
				return errors.New("day-of-month has no value")
			}
			if last == noSpec {
				return errBothNoSpec
			}
		}
		return p.addToSet(noSpec, -1, 0, f)

	case c == '*' || c == '/':
		if c == '*' && len(s) == 1 {
			return p.addToSet(allSpec, -1, 0, f)
		}
		if c == '/' && len(s) == 1 {
			return fmt.Errorf("%q: '/' must be followed by a number", s.String())
		}
		i := 0
		if c == '*' {
			i++
		}
		incr := 1
		if s[i] == '/' {
			i++
			if i >= len(s) {
				return fmt.Errorf("%q: '/' must be followed by a number", s.String())
			}
			n, ok := javaParseInt(s[i:])
			if !ok {
				return fmt.Errorf("invalid increment %q", s[i:].String())
			}
			if err := checkIncrement(n, f); err != nil {
				return err
			}
			incr = n
		}
		return p.addToSet(allSpec, -1, incr, f)

	case c == 'L':
		if f == dayOfMonth {
			e.lastDayOfMonth = true
		}
		if f == dayOfWeek {
			if err := p.addToSet(7, 7, 0, f); err != nil {
				return err
			}
		}
		i := 1
		if f == dayOfMonth && len(s) > i {
			if s[i] == '-' {
				v, pos, err := getValue(0, s, i+1)
				if err != nil {
					return fmt.Errorf("%q: the offset from the last day must be 0-%d", s.String(), maxLastDayOffset)
				}
				if v > maxLastDayOffset {
					return fmt.Errorf("%q: the offset from the last day must be 0-%d", s.String(), maxLastDayOffset)
				}
				e.lastDayOffset = v
				i = pos
			}
			if len(s) > i && s[i] == 'W' {
				e.nearestWeekday = true
			}
		}
		return nil

	case isDigit(c):
		val := int(c - '0')
		if len(s) == 1 {
			return p.addToSet(val, -1, -1, f)
		}
		i := 1
		if isDigit(s[1]) {
			var err error
			if val, i, err = getValue(val, s, 1); err != nil {
				return err
			}
		}
		return p.checkNext(i, s, val, f)
	}
	return fmt.Errorf("invalid value %q", s.String())
}

// checkIncrement is Quartz's checkIncrementRange: an increment may not exceed the
// field's maximum; zero, negative and year increments pass.
func checkIncrement(n int, f field) error {
	if f == year {
		return nil
	}
	if _, hi := f.bounds(); n > hi {
		return fmt.Errorf("increment %d above the field's maximum %d", n, hi)
	}
	return nil
}

// checkNext is Quartz's checkNext: what follows the number val at s[i].
func (p *parser) checkNext(i int, s jstring, val int, f field) error {
	e := p.e
	if i >= len(s) {
		return p.addToSet(val, -1, -1, f)
	}
	switch s[i] {
	case 'L':
		if f != dayOfWeek {
			return fmt.Errorf("invalid value %q: 'L' after a number is only allowed in day-of-week", s.String())
		}
		if val < 1 || val > 7 {
			return fmt.Errorf("%q: value %d out of range 1-7", s.String(), val)
		}
		e.lastDayOfWeek = true
		e.dayOfWeek.add(val)
		return nil
	case 'W':
		if f != dayOfMonth {
			return fmt.Errorf("invalid value %q: 'W' is only allowed in day-of-month", s.String())
		}
		e.nearestWeekday = true
		if val > 31 {
			return fmt.Errorf("%q: value %d out of range 1-31", s.String(), val)
		}
		e.dayOfMonth.add(val)
		return nil
	case '#':
		if f != dayOfWeek {
			return fmt.Errorf("invalid value %q: '#' is only allowed in day-of-week", s.String())
		}
		n, ok := javaParseInt(s[i+1:])
		if !ok || n < 1 || n > 5 {
			return fmt.Errorf("%q: '#' must be followed by a number 1-5", s.String())
		}
		e.nthDayOfWeek = n
		e.dayOfWeek.add(val)
		return nil
	case '-':
		i++
		c, err := at(s, i)
		if err != nil {
			return fmt.Errorf("%q: a range needs an end", s.String())
		}
		end, ok := javaDigit(c)
		if !ok {
			return fmt.Errorf("invalid range end in %q", s.String())
		}
		i++
		if i >= len(s) {
			return p.addToSet(val, end, 1, f)
		}
		if isDigit(s[i]) {
			if end, i, err = getValue(end, s, i); err != nil {
				return err
			}
		}
		if i < len(s) && s[i] == '/' {
			i++
			c, err := at(s, i)
			if err != nil {
				return fmt.Errorf("%q: '/' must be followed by a number", s.String())
			}
			v2, ok := javaDigit(c)
			if !ok {
				return fmt.Errorf("invalid increment in %q", s.String())
			}
			i++
			if i < len(s) && isDigit(s[i]) {
				if v2, _, err = getValue(v2, s, i); err != nil {
					return err
				}
			}
			// Quartz checks no increment after a range.
			return p.addToSet(val, end, v2, f)
		}
		return p.addToSet(val, end, 1, f)
	case '/':
		if i+1 >= len(s) {
			return fmt.Errorf("%q: '/' must be followed by a number", s.String())
		}
		i++
		v2, ok := javaDigit(s[i])
		if !ok {
			return fmt.Errorf("invalid increment in %q", s.String())
		}
		i++
		if i < len(s) {
			if !isDigit(s[i]) {
				return fmt.Errorf("invalid increment in %q", s.String())
			}
			var err error
			if v2, _, err = getValue(v2, s, i); err != nil {
				return err
			}
		}
		if err := checkIncrement(v2, f); err != nil {
			return err
		}
		return p.addToSet(val, -1, v2, f)
	}
	// Anything else after the number is ignored.
	return p.addToSet(val, -1, 0, f)
}

// addToSet is Quartz's addToSet: it checks val and end against f's bounds (only those
// Quartz checks) and adds val, or val to end by incr, wrapping past the field's maximum
// when end is below val.
func (p *parser) addToSet(val, end, incr int, f field) error {
	set := p.e.set(f)
	lo, hi := f.bounds()
	if f != year && val != allSpec && !(val == noSpec && (f == dayOfMonth || f == dayOfWeek)) {
		switch {
		case f == dayOfWeek && (val == 0 || val > hi):
			return fmt.Errorf("value %d out of range %d-%d", val, lo, hi)
		case f != dayOfWeek && (val < lo || val > hi):
			return fmt.Errorf("value %d out of range %d-%d", val, lo, hi)
		case end > hi:
			return fmt.Errorf("value %d out of range %d-%d", end, lo, hi)
		}
	}
	if (incr == 0 || incr == -1) && val != allSpec {
		set.add(val)
		return nil
	}
	startAt, stopAt := val, end
	if val == allSpec && incr <= 0 {
		incr = 1
		set.add(allSpec)
	}
	if stopAt == -1 {
		stopAt = hi
	}
	if startAt == -1 || startAt == allSpec {
		startAt = lo
	}
	width := -1
	if stopAt < startAt {
		if f == year && end == -1 {
			return fmt.Errorf("an increment cannot start after %d, Quartz's last year", hi)
		}
		if f == year {
			return fmt.Errorf("range %d-%d runs backwards", startAt, stopAt)
		}
		width = hi - lo + 1 // 60, 60, 24, 31, 12, 7
		stopAt += width
	}
	wlo, whi := math.MinInt32, math.MaxInt32
	if f == year {
		wlo, whi = set.base, set.base+bitsetSize-1
	}
	ok := javaFor(startAt, stopAt, incr, wlo, whi, func(v int) {
		if width > 0 {
			v %= width // Java's %: the sign of v
			if v == 0 && (f == month || f == dayOfWeek || f == dayOfMonth) {
				v = width
			}
		}
		set.add(v)
	})
	if !ok {
		return fmt.Errorf("range %d-%d/%d never ends in Quartz (its int loop overflows)", startAt, stopAt, incr)
	}
	return nil
}

// javaFor calls add with each value Java's `for (int i = start; i <= stop; i += incr)`
// visits, int overflow included, that lies in [lo, hi]; stretches outside are jumped
// over, so that a year range such as 2000-3000000 costs what 2000-2161 costs. It
// reports false when the loop does not end, as some overflowing ones do not.
func javaFor(start, stop, incr, lo, hi int, add func(int)) bool {
	const wrap = 1 << 32
	i := start
	for steps := 0; i <= stop; steps++ {
		if steps > 1<<20 {
			return false
		}
		if lo <= i && i <= hi {
			add(i)
		}
		k := 1
		switch {
		case i > hi:
			k = (stop-i)/incr + 1 // the first step past stop
		case i+incr < lo:
			k = min((lo-i+incr-1)/incr, (stop-i)/incr+1)
		}
		i += k * incr
		if i > stop {
			if i <= math.MaxInt32 {
				break
			}
			i -= wrap
		}
	}
	return true
}

// last returns the largest member (TreeSet.last()).
func (s *intSet) last() (int, bool) {
	best, ok := 0, false
	for w := len(s.bits) - 1; w >= 0 && !ok; w-- {
		if m := s.bits[w]; m != 0 {
			best, ok = w<<6+63-bits.LeadingZeros64(m)+s.base, true
		}
	}
	if n := len(s.more); n > 0 && (!ok || s.more[n-1] > best) {
		best, ok = s.more[n-1], true
	}
	return best, ok
}

const (
	monthNames = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"
	dayNames   = "SUNMONTUEWEDTHUFRISAT"
)

// nameNumber returns the 0-based index of the three letters s in names, or -1.
func nameNumber(s jstring, names string) int {
	for i := 0; i < len(names); i += 3 {
		if s.equals(names[i : i+3]) {
			return i / 3
		}
	}
	return -1
}
