package cron_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/cron"
)

func loadZone(t testing.TB, name string) *time.Location {
	t.Helper()
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

// Every expected instant below was worked out by hand from Quartz's documented rules
// (weekdays checked against a calendar); want "" means Next must report ok=false.
func TestNext(t *testing.T) {
	t.Parallel()
	const (
		ny     = "America/New_York" // 2024: 03-10 02:00 EST -> 03:00 EDT; 11-03 02:00 EDT -> 01:00 EST
		berlin = "Europe/Berlin"    // 2024: 03-31 02:00 CET -> 03:00 CEST; 10-27 03:00 CEST -> 02:00 CET
	)
	tests := []struct {
		name, expr, zone, after, want string
	}{
		// Seed examples.
		{"seed every 30 min in hours", "0 */30 8-19 ? * * *", "", "2024-05-10T08:10:00Z", "2024-05-10T08:30:00Z"},
		{"seed wraps to next morning", "0 */30 8-19 ? * * *", "", "2024-05-10T19:30:00Z", "2024-05-11T08:00:00Z"},
		{"seed daily 11:24:57", "57 24 11 ? * * *", "", "2024-05-10T11:00:00Z", "2024-05-10T11:24:57Z"},
		{"seed strictly after", "57 24 11 ? * * *", "", "2024-05-10T11:24:57Z", "2024-05-11T11:24:57Z"},
		{"seed sub-second before", "57 24 11 ? * * *", "", "2024-05-10T11:24:56.999Z", "2024-05-10T11:24:57Z"},
		{"seed sub-second after", "57 24 11 ? * * *", "", "2024-05-10T11:24:57.5Z", "2024-05-11T11:24:57Z"},

		// '*' and '?'.
		{"star day-of-month", "0 0 12 * * ?", "", "2024-05-10T12:00:00Z", "2024-05-11T12:00:00Z"},
		{"star day-of-week", "0 15 10 ? * *", "", "2024-05-10T10:15:00Z", "2024-05-11T10:15:00Z"},
		{"every second over new year", "* * * ? * *", "", "2024-12-31T23:59:59Z", "2025-01-01T00:00:00Z"},

		// Increments.
		{"0/15 seconds", "0/15 * * ? * *", "", "2024-05-10T10:00:50Z", "2024-05-10T10:01:00Z"},
		{"5/20 seconds first", "5/20 * * ? * *", "", "2024-05-10T10:00:00Z", "2024-05-10T10:00:05Z"},
		{"5/20 seconds wraps", "5/20 * * ? * *", "", "2024-05-10T10:00:45Z", "2024-05-10T10:01:05Z"},
		{"*/30 seconds", "*/30 * * ? * *", "", "2024-05-10T10:00:10Z", "2024-05-10T10:00:30Z"},
		{"/20 shorthand", "/20 * * ? * *", "", "2024-05-10T10:00:40Z", "2024-05-10T10:01:00Z"},
		{"range with increment", "0 10-50/10 * ? * *", "", "2024-05-10T10:50:00Z", "2024-05-10T11:10:00Z"},
		{"*/5 hours", "0 0 */5 ? * *", "", "2024-05-10T20:00:00Z", "2024-05-11T00:00:00Z"},
		{"1/5 days reaches 31", "0 0 12 1/5 * ?", "", "2024-01-26T12:00:00Z", "2024-01-31T12:00:00Z"},
		{"1/5 days restarts on 1st", "0 0 12 1/5 * ?", "", "2024-01-31T12:00:00Z", "2024-02-01T12:00:00Z"},
		{"*/10 days skip missing 31", "0 0 12 */10 * ?", "", "2024-04-21T12:00:00Z", "2024-05-01T12:00:00Z"},
		{"*/4 months", "0 0 12 1 */4 ?", "", "2024-01-01T12:00:00Z", "2024-05-01T12:00:00Z"},
		{"*/2 day-of-week is Sun Tue Thu Sat", "0 0 12 ? * */2", "", "2024-05-10T12:00:00Z", "2024-05-11T12:00:00Z"},
		{"2/2 day-of-week is Mon Wed Fri", "0 0 12 ? * 2/2", "", "2024-05-10T12:00:00Z", "2024-05-13T12:00:00Z"},

		// Lists and ranges.
		{"mixed lists to evening", "0 0,15,30-35/5 9-10,22 ? * *", "", "2024-05-10T10:35:00Z", "2024-05-10T22:00:00Z"},
		{"mixed lists within hour", "0 0,15,30-35/5 9-10,22 ? * *", "", "2024-05-10T09:16:00Z", "2024-05-10T09:30:00Z"},
		{"wrapping hour range", "0 0 22-2 ? * *", "", "2024-05-10T02:00:00Z", "2024-05-10T22:00:00Z"},
		{"wrapping hour range past midnight", "0 0 22-2 ? * *", "", "2024-05-10T23:00:00Z", "2024-05-11T00:00:00Z"},
		{"wrapping month range", "0 0 12 1 NOV-FEB ?", "", "2024-02-01T12:00:00Z", "2024-11-01T12:00:00Z"},
		{"wrapping day-of-week range", "0 0 12 ? * FRI-MON", "", "2024-05-13T12:00:00Z", "2024-05-17T12:00:00Z"},
		{"wrapping day-of-month range", "0 0 12 28-3 * ?", "", "2024-02-29T12:00:00Z", "2024-03-01T12:00:00Z"},

		// Names and day-of-week numbers (1 = Sunday).
		{"month names any case", "0 0 12 1 jan,Jul ?", "", "2024-01-01T12:00:00Z", "2024-07-01T12:00:00Z"},
		{"SUN", "0 0 12 ? * sun", "", "2024-05-10T12:00:00Z", "2024-05-12T12:00:00Z"},
		{"1 is Sunday", "0 0 12 ? * 1", "", "2024-05-10T12:00:00Z", "2024-05-12T12:00:00Z"},
		{"7 is Saturday", "0 0 12 ? * 7", "", "2024-05-10T12:00:00Z", "2024-05-11T12:00:00Z"},
		{"MON-FRI over weekend", "0 0 12 ? * MON-FRI", "", "2024-05-10T12:00:00Z", "2024-05-13T12:00:00Z"},

		// Month ends and L.
		{"31 skips 30-day and short months", "0 0 12 31 * ?", "", "2024-01-31T12:00:00Z", "2024-03-31T12:00:00Z"},
		{"L in leap February", "0 0 12 L * ?", "", "2024-02-01T00:00:00Z", "2024-02-29T12:00:00Z"},
		{"L in common February", "0 0 12 L * ?", "", "2023-02-01T00:00:00Z", "2023-02-28T12:00:00Z"},
		{"L in April", "0 0 12 L * ?", "", "2024-04-01T00:00:00Z", "2024-04-30T12:00:00Z"},
		{"L after February", "0 0 12 L * ?", "", "2024-02-29T12:00:00Z", "2024-03-31T12:00:00Z"},
		{"L-3 in February", "0 0 12 L-3 * ?", "", "2024-02-01T00:00:00Z", "2024-02-26T12:00:00Z"},
		{"L-3 in January", "0 0 12 L-3 * ?", "", "2024-01-01T00:00:00Z", "2024-01-28T12:00:00Z"},
		{"L-30 only in 31-day months", "0 0 12 L-30 * ?", "", "2024-01-01T12:00:00Z", "2024-03-01T12:00:00Z"},
		{"LW last day Saturday", "0 0 12 LW * ?", "", "2024-08-01T00:00:00Z", "2024-08-30T12:00:00Z"},
		{"LW last day Sunday", "0 0 12 LW * ?", "", "2024-03-01T00:00:00Z", "2024-03-29T12:00:00Z"},
		{"L-1W (Quartz's own test)", "0 15 10 L-1W * ? 2010", "", "2010-10-01T00:00:00Z", "2010-10-29T10:15:00Z"},
		{"L-5W (Quartz's own test)", "0 15 10 L-5W * ? 2010", "", "2010-10-01T00:00:00Z", "2010-10-26T10:15:00Z"},
		{"29 Feb jumps four years", "0 0 0 29 2 ? *", "", "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"},

		// W.
		{"1W Saturday 1st is Monday 3rd", "0 0 12 1W * ?", "", "2024-05-02T00:00:00Z", "2024-06-03T12:00:00Z"},
		{"1W Sunday 1st is Monday 2nd", "0 0 12 1W * ?", "", "2024-08-02T00:00:00Z", "2024-09-02T12:00:00Z"},
		{"15W Saturday is Friday", "0 0 12 15W * ?", "", "2024-06-01T00:00:00Z", "2024-06-14T12:00:00Z"},
		{"15W Sunday is Monday", "0 0 12 15W * ?", "", "2024-09-01T00:00:00Z", "2024-09-16T12:00:00Z"},
		{"31W skips 30-day month", "0 0 12 31W * ?", "", "2024-04-01T00:00:00Z", "2024-05-31T12:00:00Z"},
		{"31W Sunday is Friday 29th", "0 0 12 31W * ?", "", "2024-03-01T00:00:00Z", "2024-03-29T12:00:00Z"},
		// Quartz's lenient calendar reads April 31 as May 1, a Saturday in 2027, and
		// moves back a day: "31W" fires on April 30.
		{"31W in a 30-day month before a Saturday", "0 0 12 31W * ?", "", "2027-04-01T00:00:00Z", "2027-04-30T12:00:00Z"},
		{"29W in a common February before a Saturday", "0 0 12 29W 2 ?", "", "2014-01-01T00:00:00Z", "2014-02-28T12:00:00Z"},

		// Day-of-week L and #, and names with increments (issue 24: Quartz drops them).
		{"MON/3 is every Monday", "0 0 0 ? * MON/3", "", "2024-05-07T00:00:00Z", "2024-05-13T00:00:00Z"},
		{"MON/3 the Monday after", "0 0 0 ? * MON/3", "", "2024-05-13T00:00:00Z", "2024-05-20T00:00:00Z"},
		{"L alone is Saturday", "0 0 12 ? * L", "", "2024-05-10T12:00:00Z", "2024-05-11T12:00:00Z"},
		{"6L last Friday", "0 0 12 ? * 6L", "", "2024-05-10T00:00:00Z", "2024-05-31T12:00:00Z"},
		{"6L next month", "0 0 12 ? * 6L", "", "2024-05-31T12:00:00Z", "2024-06-28T12:00:00Z"},
		{"FRIL", "0 0 12 ? * FRIL", "", "2024-06-01T00:00:00Z", "2024-06-28T12:00:00Z"},
		{"1L last Sunday", "0 0 12 ? * 1L", "", "2024-03-01T00:00:00Z", "2024-03-31T12:00:00Z"},
		{"2#1 first Monday", "0 0 12 ? * 2#1", "", "2024-05-10T00:00:00Z", "2024-06-03T12:00:00Z"},
		{"MON#2 second Monday", "0 0 12 ? * MON#2", "", "2024-07-01T12:00:00Z", "2024-07-08T12:00:00Z"},
		{"6#5 skips months without a fifth Friday", "0 0 12 ? * 6#5", "", "2024-05-31T12:00:00Z", "2024-08-30T12:00:00Z"},
		{"6#5 from January", "0 0 12 ? * 6#5", "", "2024-01-01T00:00:00Z", "2024-03-29T12:00:00Z"},
		{"fifth Friday of February", "0 0 0 ? 2 6#5", "", "2024-03-01T00:00:00Z", "2036-02-29T00:00:00Z"},

		// Years.
		{"single year", "0 15 10 * * ? 2025", "", "2024-05-10T00:00:00Z", "2025-01-01T10:15:00Z"},
		{"year far ahead", "0 0 0 1 1 ? 2099", "", "2024-05-10T00:00:00Z", "2099-01-01T00:00:00Z"},
		{"year far ahead exhausted", "0 0 0 1 1 ? 2099", "", "2099-01-01T00:00:00Z", ""},
		{"year range", "0 0 0 1 1 ? 2024-2026", "", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"year range exhausted", "0 0 0 1 1 ? 2024-2026", "", "2026-01-01T00:00:00Z", ""},
		{"year increment", "0 0 0 1 1 ? 2030/5", "", "2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z"},
		{"year list", "0 0 0 1 1 ? 2024,2031", "", "2024-01-01T00:00:00Z", "2031-01-01T00:00:00Z"},
		{"omitted year goes past 2099", "0 0 0 1 1 ?", "", "2099-01-01T00:00:00Z", "2100-01-01T00:00:00Z"},
		{"omitted year ends with Quartz's MAX_YEAR 2126", "0 0 0 1 1 ?", "", "2126-01-01T00:00:00Z", ""},
		{"year after MAX_YEAR never", "0 0 0 1 1 ? 2130", "", "2024-01-01T00:00:00Z", ""},
		{"before 1970 starts in 1970", "0 0 0 1 1 ?", "", "1960-06-01T00:00:00Z", "1970-01-01T00:00:00Z"},
		{"leap day after 2100, not a leap year", "0 0 0 29 2 ?", "", "2096-02-29T00:00:00Z", "2104-02-29T00:00:00Z"},
		{"leap day after last leap year", "0 0 0 29 2 ?", "", "2124-02-29T00:00:00Z", ""},
		{"30 February never", "0 0 0 30 2 ?", "", "2024-01-01T00:00:00Z", ""},
		{"31 April never", "0 0 0 31 4 ?", "", "2024-01-01T00:00:00Z", ""},

		// Spring forward, New York: 02:00-02:59 does not exist on 2024-03-10.
		{"NY daily 02:30 skips the gap day", "0 30 2 * * ?", ny, "2024-03-09T02:30:00-05:00", "2024-03-11T02:30:00-04:00"},
		{"NY every 15 min across the gap", "0 */15 * * * ?", ny, "2024-03-10T01:45:00-05:00", "2024-03-10T03:00:00-04:00"},
		{"NY hourly across the gap", "0 0 * * * ?", ny, "2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00"},
		{"NY 02:30 or 03:30 on the gap day", "0 30 2,3 * * ?", ny, "2024-03-10T00:00:00-05:00", "2024-03-10T03:30:00-04:00"},
		{"NY midnight after a 23-hour day", "0 0 0 * * ?", ny, "2024-03-10T00:00:00-05:00", "2024-03-11T00:00:00-04:00"},
		// Fall back, New York: 01:00-01:59 happens twice on 2024-11-03, the second in EST.
		{"NY daily 01:30 fires at the EST occurrence", "0 30 1 * * ?", ny, "2024-11-02T01:30:00-04:00", "2024-11-03T01:30:00-05:00"},
		{"NY daily 01:30 once", "0 30 1 * * ?", ny, "2024-11-03T01:30:00-05:00", "2024-11-04T01:30:00-05:00"},
		{"NY daily 01:30 from the EDT occurrence", "0 30 1 * * ?", ny, "2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"},
		{"NY daily 01:30 from early in the EDT pass", "0 30 1 * * ?", ny, "2024-11-03T01:00:00-04:00", "2024-11-03T01:30:00-05:00"},
		{"NY every 15 min skips the EDT pass", "0 */15 * * * ?", ny, "2024-11-03T00:45:00-04:00", "2024-11-03T01:00:00-05:00"},
		{"NY every 15 min in the EST pass", "0 */15 * * * ?", ny, "2024-11-03T01:00:00-05:00", "2024-11-03T01:15:00-05:00"},
		{"NY every 15 min leaves the EST pass", "0 */15 * * * ?", ny, "2024-11-03T01:45:00-05:00", "2024-11-03T02:00:00-05:00"},
		{"NY every 15 min from inside the EDT pass", "0 */15 * * * ?", ny, "2024-11-03T01:10:00-04:00", "2024-11-03T01:15:00-05:00"},
		// Berlin: 02:00-02:59 missing on 2024-03-31, repeated on 2024-10-27.
		{"Berlin daily 02:30 skips the gap day", "0 30 2 * * ?", berlin, "2024-03-30T02:30:00+01:00", "2024-04-01T02:30:00+02:00"},
		{"Berlin every 15 min across the gap", "0 */15 * * * ?", berlin, "2024-03-31T01:45:00+01:00", "2024-03-31T03:00:00+02:00"},
		{"Berlin daily 02:30 fires at the CET occurrence", "0 30 2 * * ?", berlin, "2024-10-26T02:30:00+02:00", "2024-10-27T02:30:00+01:00"},
		{"Berlin every 15 min skips the CEST pass", "0 */15 * * * ?", berlin, "2024-10-27T01:45:00+02:00", "2024-10-27T02:00:00+01:00"},
		{"Berlin every 15 min leaves the CET pass", "0 */15 * * * ?", berlin, "2024-10-27T02:45:00+01:00", "2024-10-27T03:00:00+01:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := cron.Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			loc := loadZone(t, tc.zone)
			got, ok := e.Next(mustTime(t, tc.after), loc)
			if tc.want == "" {
				if ok {
					t.Fatalf("Next(%s) = %s, want no more fires", tc.after, got.Format(time.RFC3339))
				}
				return
			}
			want := mustTime(t, tc.want)
			if !ok || !got.Equal(want) {
				t.Fatalf("Next(%s) = %s, %v; want %s", tc.after, got.Format(time.RFC3339), ok, tc.want)
			}
			if got.Location() != loc {
				t.Errorf("Next returned location %v, want %v", got.Location(), loc)
			}
		})
	}
}

// A daily 01:30 job walked across New York's fall-back day fires once that day.
func TestNextDailyFiresOnceOnFallBackDay(t *testing.T) {
	t.Parallel()
	loc := loadZone(t, "America/New_York")
	e, err := cron.Parse("0 30 1 * * ?")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2024-11-02T01:30:00-04:00",
		"2024-11-03T01:30:00-05:00",
		"2024-11-04T01:30:00-05:00",
	}
	at := mustTime(t, "2024-11-01T12:00:00-04:00")
	for i, w := range want {
		next, ok := e.Next(at, loc)
		if !ok || !next.Equal(mustTime(t, w)) {
			t.Fatalf("fire %d = %s, %v; want %s", i, next.Format(time.RFC3339), ok, w)
		}
		at = next
	}
}

func TestNextNilLocationIsUTC(t *testing.T) {
	t.Parallel()
	e, err := cron.Parse("0 0 12 * * ?")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := e.Next(mustTime(t, "2024-05-10T13:00:00+02:00"), nil) // 11:00 UTC
	if want := mustTime(t, "2024-05-10T12:00:00Z"); !ok || !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("Next = %v, %v; want %v in UTC", got, ok, want)
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{
		"0 0 12 * * ?":                "0 0 12 * * ?",
		"  0 15 10 ? * mon-fri\t":     "0 15 10 ? * mon-fri",
		"0 0 12 ? * 6L 2024-2030":     "0 0 12 ? * 6L 2024-2030",
		"0 0 12 * * ?\n":              "0 0 12 * * ?\n", // Quartz separates fields by blanks and tabs only
		"\t0 0 12 * * ? 2030 extra  ": "0 0 12 * * ? 2030 extra",
	} {
		e, err := cron.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := e.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

// Quartz 2.3.2 refuses each of these; the vectors (TestParseAndNextMatchQuartz) check
// many more. The messages are ours.
func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, want string
	}{
		{"", "cron: expected 6 or 7 fields (second minute hour day-of-month month day-of-week [year]), got 0"},
		{"0 0 12 * *", "got 5"},
		{"garbage", `cron: second: invalid value "garbage": names are only allowed in month and day-of-week`},
		{"a b c d e f", `cron: second: invalid value "a"`},
		{"0 0 12 ? * mon-fry", `cron: day-of-week: unknown name "fry"`},
		{"0 0 12 1 * MON", "cron: day-of-month, day-of-week: one of the two must be '?'"},
		{"0 0 12 * * *", "one of the two must be '?'"},
		{"0 0 12 ? * ?", "cron: day-of-month, day-of-week: only one of the two may be '?'"},
		{"? 0 12 * * ?", "cron: second: '?' is only allowed in day-of-month and day-of-week"},
		{"0 0 12 ? ? *", "cron: month: '?' is only allowed"},
		{"0 0 12 ?xy * *", `cron: day-of-month: invalid character after '?' in "?xy"`},
		{"60 0 12 * * ?", "cron: second: value 60 out of range 0-59"},
		{"0 60 12 * * ?", "cron: minute: value 60 out of range 0-59"},
		{"0 0 24 * * ?", "cron: hour: value 24 out of range 0-23"},
		{"0 0 12 0 * ?", "cron: day-of-month: value 0 out of range 1-31"},
		{"0 0 12 32 * ?", "cron: day-of-month: value 32 out of range 1-31"},
		{"0 0 12 ? * 0", "cron: day-of-week: value 0 out of range 1-7"},
		{"0 0 12 ? * 8", "cron: day-of-week: value 8 out of range 1-7"},
		{"0 0 12 ? * 1-8", "cron: day-of-week: value 8 out of range 1-7"},
		{"0 0 12 1 13 ?", "cron: month: value 13 out of range 1-12"},
		{"0 0 12 1 0 ?", "cron: month: value 0 out of range 1-12"},
		{"0 0 12 1 FOO ?", `cron: month: unknown name "FOO"`},
		{"0 0 12 ? * BAR", `cron: day-of-week: unknown name "BAR"`},
		{"0 0 12 ? * ßUN", `cron: day-of-week: unknown name "SSU"`}, // Java upper-cases ß to SS
		{"0 0 12 1 JAN-3 ?", `cron: month: invalid range "JAN-3"`},
		{"0 0 12 1 3-JAN ?", `cron: month: invalid range end in "3-JAN"`},
		{"0 0 12 ? * MO", `cron: day-of-week: invalid value "MO"`},
		{"0 0 12 ? * MON-FR", `cron: day-of-week: invalid range "MON-FR"`},
		{"0 0 12 1,L * ?", `cron: day-of-month: 'L' cannot be combined with other days ("1,L")`},
		{"0 0 12 LW,1 * ?", "'L' cannot be combined"},
		{"0 0 12 ? * SAT,SUN,L", `cron: day-of-week: 'L' cannot be combined with other days ("SAT,SUN,L")`},
		{"0 0 12 ? * 6L,2", "'L' cannot be combined"},
		{"0 0 12 ? * 2#1,3#2", `cron: day-of-week: only one '#' is supported ("2#1,3#2")`},
		{"0 0 12 ? * 2#1#2", "only one '#' is supported"},
		{"0 0 12 5L * ?", `cron: day-of-month: invalid value "5L": 'L' after a number is only allowed in day-of-week`},
		{"0 0 12 L-31 * ?", `cron: day-of-month: "L-31": the offset from the last day must be 0-30`},
		{"0 0 12 L- * ?", "the offset from the last day must be 0-30"},
		{"0 0 12 LX * ?", `cron: day-of-month: invalid value "LX"`},
		{"0 0 12 W * ?", `cron: day-of-month: invalid value "W"`},
		{"0 0 12 ? * 8L", `cron: day-of-week: "8L": value 8 out of range 1-7`},
		{"0 0 12 ? * L/2", `cron: day-of-week: unknown name "L/2"`},
		{"0 0 12 32W * ?", `cron: day-of-month: "32W": value 32 out of range 1-31`},
		{"0 0 12W * * ?", `cron: hour: invalid value "12W": 'W' is only allowed in day-of-month`},
		{"0 0 12 ? * 2#6", `cron: day-of-week: "2#6": '#' must be followed by a number 1-5`},
		{"0 0 12 ? * 2#0", "'#' must be followed by a number 1-5"},
		{"0 0 12 ? * MON#", "'#' must be followed by a number 1-5"},
		{"0 5#2 12 * * ?", `cron: minute: invalid value "5#2": '#' is only allowed in day-of-week`},
		{"0 0 12 1 * ? 2030-2025", "cron: year: range 2030-2025 runs backwards"},
		{"0 0 0 1 1 ? 2200/5", "cron: year: an increment cannot start after 2126, Quartz's last year"},
		{"*/ * * ? * *", `cron: second: "*/": '/' must be followed by a number`},
		{"/ * * ? * *", "'/' must be followed by a number"},
		{"*/60 * * ? * *", "cron: second: increment 60 above the field's maximum 59"},
		{"0 0 0/24 ? * *", "cron: hour: increment 24 above the field's maximum 23"},
		{"0 0 12 /32 * ?", "cron: day-of-month: increment 32 above the field's maximum 31"},
		{"0 0 12 1 */13 ?", "cron: month: increment 13 above the field's maximum 12"},
		{"0 0 12 ? * */8", "cron: day-of-week: increment 8 above the field's maximum 7"},
		{"1/x * * ? * *", `cron: second: invalid increment in "1/x"`}, // quoted as written, though read upper-cased as Quartz does
		{"5/1x * * ? * *", "invalid increment in"},                    // but "5/12x" is 5/12
		{"*/5x * * ? * *", `cron: second: invalid increment "5x"`},
		{"-1 * * ? * *", `cron: second: invalid value "-1"`},
		{"5- * * ? * *", `cron: second: "5-": a range needs an end`},
		{"0 0 12 , * ?", "cron: day-of-week: day-of-month has no value"},
		{"99999999999 * * ? * *", `cron: second: number too large in "99999999999"`},
		{"0 0 0 1 1 ? 2147483648", "cron: year: number too large"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			e, err := cron.Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error containing %q", tc.expr, e, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", tc.expr, err, tc.want)
			}
			if !errors.Is(err, cron.ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			var pe *cron.ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %v is not a *ParseError", err)
			}
		})
	}
}

// Expressions from Quartz's documentation and tests that must parse.
func TestParseValid(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"0 0 12 * * ?",
		"0 15 10 ? * *",
		"0 15 10 * * ? *",
		"0 15 10 * * ? 2005",
		"0 0/5 14,18 * * ?",
		"0 0-5 14 * * ?",
		"0 10,44 14 ? 3 WED",
		"0 15 10 ? * MON-FRI",
		"0 15 10 L-2 * ?",
		"0 15 10 ? * 6L 2002-2005",
		"0 15 10 ? * 6#3",
		"0 0 12 1/5 * ?",
		"0 11 11 11 11 ?",
		"0/5 14,18,3-39,52 * ? JAN,MAR,SEP MON-FRI 2002-2010",
		"0 43 9 ? * 5L",
		"0 0 14-6 ? * FRI-MON",
		"0 15 10 L-0 * ?",
		"0 15 10 L-30W * ?",
		"0 0 12 ? * 7L",
		"0 0 12 ? * sun#5",
		"00 05 1-3,22 ? * *",
		"0 0 12 1,* * ?",
		"0\t0  12 * * ? 2099",
	} {
		if _, err := cron.Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
}

// Quartz's hand-written parser accepts text its documentation does not describe and
// reads it its own way; Parse does the same. Each expression fires as its reading does
// (or, where the reading is "", never).
func TestParseReadsWhatQuartzAcceptsAsQuartzReadsIt(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, expr, reading string }{
		{"an increment after a name is dropped", "0 0 0 ? * MON/3", "0 0 0 ? * MON"},
		{"also after a name range", "0 0 12 ? * MON-FRI/2", "0 0 12 ? * MON-FRI"},
		{"and after a month", "0 0 12 1 JAN/2 ?", "0 0 12 1 JAN ?"},
		{"a long name is read by its first three letters", "0 0 12 ? * MONDAY", "0 0 12 ? * MON"},
		{"Java upper-cases ſ to S", "0 0 12 ? * ſun", "0 0 12 ? * SUN"},
		{"an increment of 0 is no increment", "*/0 * * ? * *", "* * * ? * *"},
		{"a value with an increment of 0 is the value", "5/0 * * ? * *", "5 * * ? * *"},
		{"a negative increment after * is *", "*/-5 * * ? * *", "* * * ? * *"},
		{"text after * is ignored", "*5 * * ? * *", "* * * ? * *"},
		{"text after a number is ignored", "5x * * ? * *", "5 * * ? * *"},
		{"and after a range's end", "1-2-3 * * ? * *", "1-2 * * ? * *"},
		{"a two-digit increment stops at a letter", "5/12x * * ? * *", "5/12 * * ? * *"},
		{"an increment after a range is not checked", "0-59/60 * * ? * *", "0 * * ? * *"},
		{"empty list items are skipped", "0 0 12 1,,15, * ?", "0 0 12 1,15 * ?"},
		{"fields after the seventh are ignored", "0 0 12 * * ? 2030 5 6", "0 0 12 * * ? 2030"},
		{"W after a range is ignored", "0 0 12 1-5W * ?", "0 0 12 1-5 * ?"},
		{"W applies to the list's first day", "0 0 12 1,15W * ?", "0 0 12 1W * ?"},
		{"text after nW is ignored", "0 0 12 1W-5 * ?", "0 0 12 1W * ?"},
		{"L-W is LW", "0 0 12 L-W * ?", "0 0 12 LW * ?"},
		{"L after a day-of-week range is ignored", "0 0 12 ? * 1-5L", "0 0 12 ? * 1-5"},
		{"# applies to the list's first day", "0 0 12 ? * 6,2#1", "0 0 12 ? * 2#1"},
		{"# after a range is ignored", "0 0 12 ? * 2-5#3", "0 0 12 ? * 2-5"},
		{"day-of-week LW is Saturday", "0 0 12 ? * LW", "0 0 12 ? * 7"},
		{"'?' then one more character is '?'", "0 0 12 ?x * MON", "0 0 12 ? * MON"},
		{"L in hours adds no hour", "0 0 L,12 * * ?", "0 0 12 * * ?"},
		{"a range may end at 0, read as wrapping", "0 0 12 ? * 2-0", "0 0 12 ? * 2-7"},
		{"years need not lie in 1970-2099", "0 0 0 1 1 ? 1969,2024,2110", "0 0 0 1 1 ? 2024,2110"},
		{"an hour field of L alone never fires", "0 0 L * * ?", ""},
		{"nor an empty field", "0 , 12 * * ?", ""},
		{"nor a day-of-week that '#' lets past its range", "0 0 12 ? * 8#1", ""},
		{"nor a day-of-month 0W, where Quartz loops forever", "0 0 12 0W * ?", ""},
		{"nor a year past Quartz's last", "0 0 0 1 1 ? 3000", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := cron.Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			var r *cron.Expr
			if tc.reading != "" {
				if r, err = cron.Parse(tc.reading); err != nil {
					t.Fatalf("Parse(%q): %v", tc.reading, err)
				}
			}
			ny := loadZone(t, "America/New_York")
			at := mustTime(t, "2024-01-01T00:00:00Z")
			for i := range 20 {
				got, ok := e.Next(at, ny)
				if r == nil {
					if ok {
						t.Fatalf("%q fires at %s; want never", tc.expr, got)
					}
					return
				}
				want, wantOK := r.Next(at, ny)
				if ok != wantOK || !got.Equal(want) {
					t.Fatalf("fire %d: %q at %s, %v; %q at %s, %v", i, tc.expr, got, ok, tc.reading, want, wantOK)
				}
				if !ok {
					return
				}
				at = got
			}
		})
	}
}
