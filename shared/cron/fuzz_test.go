package cron_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/cron"
)

// FuzzParse checks that Parse never panics, that its errors are ParseErrors, and that
// for every accepted expression Next answers quickly (Quartz itself loops forever on a
// few) with an instant strictly after its input, in the requested zone, within Quartz's
// years, that Next itself confirms as the first fire.
// The seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 0 12 * * ?", "0 0 12 ? * 6#5", "0 0 0 30 2 ?", "0 0 12 L-3W * ? 2030/7"} {
		f.Add(s)
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	// Inside the repeated hour of a fall-back day, where resolution is most delicate.
	from := time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC)

	f.Fuzz(func(t *testing.T, s string) {
		e, err := cron.Parse(s)
		if err != nil {
			var pe *cron.ParseError
			if !errors.Is(err, cron.ErrInvalid) || !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %v is not a *ParseError wrapping ErrInvalid", s, err)
			}
			return
		}
		if got, want := e.String(), strings.Trim(s, " \t"); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
		if _, err := cron.Parse(e.String()); err != nil {
			t.Fatalf("Parse(String()) of accepted %q: %v", s, err)
		}

		start := time.Now()
		next, ok := e.Next(from, loc)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Next(%q) took %v", s, d)
		}
		if !ok {
			return
		}
		if !next.After(from) {
			t.Fatalf("Next(%q) = %v, not after %v", s, next, from)
		}
		if next.Location() != loc {
			t.Fatalf("Next(%q) location %v, want %v", s, next.Location(), loc)
		}
		if next.Year() > 2126 {
			t.Fatalf("Next(%q) = %v, after Quartz's last year", s, next)
		}
		if again, ok := e.Next(next.Add(-time.Second), loc); !ok || !again.Equal(next) {
			t.Fatalf("Next(%q) from a second before %v = %v, %v", s, next, again, ok)
		}
	})
}
