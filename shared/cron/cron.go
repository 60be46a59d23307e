package cron

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is matched, through errors.Is, by every error Parse returns.
var ErrInvalid = errors.New("cron: invalid expression")

// ParseError says why Parse rejected an expression. It wraps ErrInvalid.
type ParseError struct {
	// Field names the field at fault ("second", ..., "year", or
	// "day-of-month, day-of-week" when the two day fields conflict); it is empty when
	// the expression as a whole is malformed.
	Field string
	// Reason explains what is wrong, quoting the offending text where there is one.
	Reason string
}

// Error returns "cron: <field>: <reason>", or "cron: <reason>" without a field.
func (e *ParseError) Error() string {
	if e.Field == "" {
		return "cron: " + e.Reason
	}
	return "cron: " + e.Field + ": " + e.Reason
}

// Unwrap returns ErrInvalid.
func (e *ParseError) Unwrap() error { return ErrInvalid }

// Expr is a parsed Quartz cron expression. Safe for concurrent use after Parse.
//
// It holds what Quartz's CronExpression holds after parsing: a set of values for each
// field (with noSpec in the day field that is '?') and the flags of the day rules.
type Expr struct {
	src                          string
	second, minute, hour, month  intSet
	dayOfMonth, dayOfWeek, years intSet

	lastDayOfMonth bool // day-of-month "L", "L-n", "LW"
	nearestWeekday bool // day-of-month "nW", "LW"
	lastDayOffset  int  // n in "L-n"
	lastDayOfWeek  bool // day-of-week "nL"
	nthDayOfWeek   int  // k in day-of-week "n#k"
	byDayOfMonth   bool // day-of-week is the '?' field
	never          bool // no date can match: see neverMatches
}

// Parse parses a Quartz cron expression of 6 or 7 fields separated by blanks or tabs:
// second minute hour day-of-month month day-of-week [year]. It accepts exactly what
// Quartz 2.3.2's CronExpression accepts, with the meaning Quartz gives it (see the
// package documentation). Errors name the field and the reason, e.g.
// `cron: day-of-week: value 8 out of range 1-7`; they are *ParseError and match ErrInvalid.
func Parse(expr string) (*Expr, error) {
	e := &Expr{src: strings.Trim(expr, " \t"), years: intSet{base: minYear}}
	upper, given := javaUpper(expr), javaString(expr)
	if len(given) != len(upper) {
		given = nil // upper-casing changed lengths: quote the upper-cased text
	}
	p := parser{e: e}
	n := 0
	// Quartz reads fields from a StringTokenizer on blanks and tabs, trims each
	// (String.trim) and ignores any after the seventh.
	for i := 0; i < len(upper) && n <= int(year); {
		for i < len(upper) && (upper[i] == ' ' || upper[i] == '\t') {
			i++
		}
		if i == len(upper) {
			break
		}
		j := i
		for j < len(upper) && upper[j] != ' ' && upper[j] != '\t' {
			j++
		}
		f := field(n)
		if err := p.field(upper[i:j], f); err != nil {
			if errors.Is(err, errBothNoSpec) {
				return nil, &ParseError{Field: "day-of-month, day-of-week", Reason: err.Error()}
			}
			reason := err.Error()
			if given != nil {
				reason = quotedAsGiven(reason, upper[i:j].String(), given[i:j].String())
			}
			return nil, &ParseError{Field: f.String(), Reason: reason}
		}
		n++
		i = j
	}
	if n <= int(dayOfWeek) {
		return nil, &ParseError{Reason: fmt.Sprintf(
			"expected 6 or 7 fields (second minute hour day-of-month month day-of-week [year]), got %d", n)}
	}
	if n <= int(year) {
		if err := p.store(jstring{'*'}, year); err != nil {
			return nil, &ParseError{Field: year.String(), Reason: err.Error()}
		}
	}
	domSpec, dowSpec := !e.dayOfMonth.has(noSpec), !e.dayOfWeek.has(noSpec)
	switch {
	case !domSpec && !dowSpec:
		return nil, &ParseError{Field: "day-of-month, day-of-week",
			Reason: "only one of the two may be '?'"}
	case domSpec && dowSpec:
		return nil, &ParseError{Field: "day-of-month, day-of-week",
			Reason: "one of the two must be '?' (Quartz does not support specifying both)"}
	}
	e.byDayOfMonth = domSpec
	e.never = e.neverMatches()
	return e, nil
}

// neverMatches reports whether the expression's day-of-month and month can match no
// date ("0 0 0 30 2 ?"). getTimeAfter then walks month by month until the years run
// out and finds nothing, which Next can say at once. With a plain day-of-month (no "L"
// or "W"), getTimeAfter only stops on a day in the day-of-month set, within its month,
// of a month in the month set; where no such pair exists, in any year, it never stops.
func (e *Expr) neverMatches() bool {
	if !e.byDayOfMonth || e.lastDayOfMonth || e.nearestWeekday {
		return false
	}
	for m := 1; m <= 12; m++ {
		if !e.month.has(m) {
			continue
		}
		for d := 1; d <= daysIn(2000, m); d++ { // 2000: a leap year
			if e.dayOfMonth.has(d) {
				return false
			}
		}
	}
	return true
}

// field parses one field's text, as Quartz's buildExpression does.
func (p *parser) field(text jstring, f field) error {
	text = text.trim()
	hasL, hasComma := text.index('L') >= 0, text.index(',') >= 0
	switch {
	case f == dayOfMonth && hasL && len(text) > 1 && hasComma:
		return fmt.Errorf("'L' cannot be combined with other days (%q)", text.String())
	case f == dayOfWeek && hasL && len(text) > 1 && hasComma:
		return fmt.Errorf("'L' cannot be combined with other days (%q)", text.String())
	case f == dayOfWeek && text.count('#') > 1:
		return fmt.Errorf("only one '#' is supported (%q)", text.String())
	}
	// StringTokenizer on ',': empty items are skipped.
	for i := 0; i < len(text); {
		j := i
		for j < len(text) && text[j] != ',' {
			j++
		}
		if j > i {
			if err := p.store(text[i:j], f); err != nil {
				return err
			}
		}
		i = j + 1
	}
	return nil
}

// set returns the set of field f.
func (e *Expr) set(f field) *intSet {
	switch f {
	case second:
		return &e.second
	case minute:
		return &e.minute
	case hour:
		return &e.hour
	case dayOfMonth:
		return &e.dayOfMonth
	case month:
		return &e.month
	case dayOfWeek:
		return &e.dayOfWeek
	default:
		return &e.years
	}
}

// String returns the expression as given, without leading and trailing blanks and tabs.
func (e *Expr) String() string { return e.src }

// quotedAsGiven puts back, in each quoted part of reason taken from the upper-cased
// field text upper, the user's own letters from given: the parser reads names in upper
// case, but a message should quote what was written. Where upper-casing kept the
// text's length in bytes, it kept every character's place (ASCII letters and nearly
// every other character keep their size), so the offsets in upper are those in given.
func quotedAsGiven(reason, upper, given string) string {
	var b strings.Builder
	for rest := reason; ; {
		i := strings.IndexByte(rest, '"')
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		q, err := strconv.QuotedPrefix(rest[i:])
		if err != nil {
			b.WriteString(rest[i:])
			return b.String()
		}
		rest = rest[i+len(q):]
		if tok, err := strconv.Unquote(q); err == nil && len(upper) == len(given) {
			if k := strings.Index(upper, tok); k >= 0 && tok != "" {
				q = strconv.Quote(given[k : k+len(tok)])
			}
		}
		b.WriteString(q)
	}
}

// Whole reports which of an expression's clock fields match every value they may hold:
// seconds (0–59), minutes (0–59) and hours (0–23). A caller walking the seconds an
// expression matches leaps a whole minute, hour or day where they all match.
func (e *Expr) Whole() (seconds, minutes, hours bool) {
	all := func(s *intSet, n int) bool {
		for v := range n {
			if !s.has(v) {
				return false
			}
		}
		return true
	}
	return all(&e.second, 60), all(&e.minute, 60), all(&e.hour, 24)
}
