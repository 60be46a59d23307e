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
type Expr struct {
	src    string
	second bitset // bit v: second v
	minute bitset
	hour   bitset
	month  bitset // bit v: month v, 1-12
	year   bitset // bit v: year minYear+v
	day    dayRule
}

// Parse parses a Quartz cron expression of 6 or 7 whitespace-separated fields:
// second minute hour day-of-month month day-of-week [year].
// Errors name the field and the reason, e.g. `cron: day-of-week: value 8 out of range 1-7`;
// they are *ParseError and match ErrInvalid.
func Parse(expr string) (*Expr, error) {
	src := strings.TrimSpace(expr)
	fields, given := strings.Fields(upperASCII(src)), strings.Fields(src)
	if n := len(fields); n != 6 && n != 7 {
		return nil, &ParseError{Reason: fmt.Sprintf(
			"expected 6 or 7 fields (second minute hour day-of-month month day-of-week [year]), got %d", n)}
	}
	if len(fields) == 6 {
		fields = append(fields, "*")
	}

	e := &Expr{src: src}
	var dom, dow daySpec
	// Fields are checked left to right so the fault reported is the leftmost one.
	for i, text := range fields {
		var err error
		switch f := field(i); f {
		case second:
			e.second, err = parseSet(f, text)
		case minute:
			e.minute, err = parseSet(f, text)
		case hour:
			e.hour, err = parseSet(f, text)
		case dayOfMonth:
			dom, err = parseDayOfMonth(text)
		case month:
			e.month, err = parseSet(f, text)
		case dayOfWeek:
			dow, err = parseDayOfWeek(text)
		case year:
			e.year, err = parseSet(f, text)
		}
		if err != nil {
			reason := err.Error()
			if i < len(given) {
				reason = quotedAsGiven(reason, text, given[i])
			}
			return nil, &ParseError{Field: field(i).String(), Reason: reason}
		}
	}

	switch {
	case dom.noSpec && dow.noSpec:
		return nil, &ParseError{Field: "day-of-month, day-of-week",
			Reason: "only one of the two may be '?'"}
	case !dom.noSpec && !dow.noSpec:
		return nil, &ParseError{Field: "day-of-month, day-of-week",
			Reason: "one of the two must be '?' (Quartz does not support specifying both)"}
	case dom.noSpec:
		e.day = dow.rule
	default:
		e.day = dom.rule
	}
	return e, nil
}

// String returns the expression as given (trimmed).
func (e *Expr) String() string { return e.src }

// quotedAsGiven puts back, in each quoted part of reason taken from the upper-cased
// field text upper, the user's own letters from given: the parser reads names in upper
// case, but a message should quote what was written. upperASCII keeps every byte's
// place, so the offsets in upper are those in given.
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

// upperASCII upper-cases ASCII letters only: Unicode case mapping would turn
// look-alikes such as 'ſ' into 'S' and let them pass as names.
func upperASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}
