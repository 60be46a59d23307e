// Package cron parses Quartz cron expressions (org.quartz.CronExpression) and computes
// their next fire time in a time zone, as Quartz 2.3.2 does: Parse accepts exactly what
// Quartz accepts, with the meaning Quartz gives it, quirks included, and [Expr.Next]
// returns what CronExpression.getTimeAfter returns.
//
// # Dialect
//
// An expression has 6 or 7 fields separated by blanks or tabs:
//
//	second  minute  hour  day-of-month  month  day-of-week  [year]
//	0-59    0-59    0-23  1-31          1-12   1-7          1970-2126
//	                                    JAN-DEC SUN-SAT
//
// Day-of-week 1 is Sunday and 7 is Saturday. Every field takes '*', a value, a range
// "a-b", a list "a,b-c", and increments: "a/n" (a, a+n, ... up to the field's maximum),
// "a-b/n", "*/n" (from the field's minimum) and "/n" for "*/n". A range whose end is
// below its start wraps around ("22-2" hours, "NOV-FEB", "FRI-MON"); year ranges cannot
// wrap. The special characters:
//
//   - '?' (no specific value) in day-of-month or day-of-week. Exactly one of the two
//     day fields must be '?': Quartz supports neither both nor none.
//   - Day-of-month "L" (last day), "L-n" (n = 0-30 days before the last day), "LW"
//     (last weekday of the month), "L-nW", and "nW" (the weekday nearest day n:
//     Saturday moves to Friday, Sunday to Monday, but not across the month's edge, so
//     "1W" on a Saturday 1st is Monday the 3rd and a Sunday last day moves back to
//     Friday).
//   - Day-of-week "L" alone (= 7, every Saturday), "nL" (last weekday n of the month,
//     "6L" = last Friday) and "n#k" (k-th weekday n, k = 1-5).
//
// Parse rejects what Quartz 2.3.2's CronExpression rejects: fewer than 6 fields, values
// out of range, unknown names, '?' outside the day fields or in both or neither of them,
// "L" in a day-of-month or day-of-week list, more than one "#", "#" with k outside 1-5,
// "*/n" or "a/n" with n above the field's maximum, backwards year ranges.
//
// Quartz's parser is hand-written and reads much that its documentation does not
// describe; Parse reads it the same way (TestParseReadsWhatQuartzAcceptsAsQuartzReadsIt
// lists examples):
//
//   - Names are upper-cased as Java's toUpperCase(Locale.US) does ("ſun" is "SUN", "ß"
//     is "SS") and read by their first three letters: "MONDAY" is "MON".
//   - Text after a complete item is ignored: an increment after a name ("MON/3" is
//     "MON", every Monday; "MON-FRI/2" is "MON-FRI"), "W" after a range ("1-5W" is
//     "1-5"), "L" or "#k" after a day-of-week range, a character after '?' ("?x"), after
//     '*' ("*5" is "*"), after a number ("5x"), after "nW" ("1W-5").
//   - An increment of 0 is no increment ("*/0" is "*", "5/0" is "5"), so is a negative
//     one after '*' ("*/-5"); an increment after a range is not checked ("0-59/60" is
//     "0"); years take any increment.
//   - "W" and "#" are flags for the whole field: "1,15W" is "1W" (the list's first day),
//     "6,2#1" is "2#1"; "L-W" is "LW"; day-of-week "LW" and "L-3" are Saturday.
//   - Empty list items are skipped ("1,,2"), fields after the seventh are ignored, each
//     field is trimmed of control characters (a newline inside a field is kept, and ends
//     its value), digits of any script count after '-', '/' and '#' ("1-٥" is "1-5").
//   - A range's end is only checked against the field's maximum, so an end of 0
//     wraps ("2-0" in day-of-week is "2-7", "1-0" every day); "n#k" does not check n
//     at all, and a
//     day-of-week of "8#1" never matches ("98#1" even reads as '?', the value Quartz
//     stores for it); years are any int.
//   - A field that ends up with no value ("L" in hours, "," alone, a year field of
//     "\n") is accepted; getTimeAfter then throws, and Next reports no fire.
//
// The only place Parse does not follow Quartz: a year range Quartz cannot finish
// building, because its int loop overflows and never ends ("2000-2147483647"), is
// refused; Quartz hangs or runs out of memory on it.
//
// # The last year
//
// Quartz bounds years at CronExpression.MAX_YEAR: the year its class is loaded plus
// 100. '*' and open increments in the year field stop there, a year after it never
// fires, and an increment starting after it ("2200/5") is refused. So Quartz's answers
// near that bound depend on the date it runs. Parse and Next must not: maxYear fixes the
// bound at 2126, MAX_YEAR for a Quartz started in 2026, when this package was checked
// against Quartz. Next therefore matches Quartz started in 2026 everywhere, and Quartz
// started later for every fire up to 2126; past 2126 a later Quartz fires where Next
// does not.
//
// The test vectors (below) are chosen to stay valid when regenerated at any later date:
// the generator runs every case twice, with Quartz's own MAX_YEAR and with it moved 400
// years on, and keeps only the cases whose answers agree, that is, whose fires all come
// before the bound and whose end, if any, is not the bound. Start instants near 2099
// therefore test fires into 2100 and after, which every Quartz from 2026 on gives.
//
// # Next fire time
//
// [Expr.Next] is getTimeAfter, statement by statement: starting one second after t with
// the sub-second part dropped, it fixes second, minute, hour, day, month and year in
// turn, each jumping to the next allowed value and starting over when a larger field
// changes, until all match; an expression it cannot satisfy ends when the years run out.
// It keeps Quartz's own rules for the day fields, with their quirks:
//
//   - "nW" is worked out on a lenient calendar, so a day past the month's end is read
//     in the next month: "31W" in a 30-day month fires on the 30th when the 1st of the
//     next month is a Saturday, "29W" in a common February on the 28th when 1 March is.
//   - "0W" and "L-30W" in a 30-day month send getTimeAfter round in circles: it never
//     returns. Next notices the cycle (Brent's algorithm on the calendar's state) and
//     reports no fire.
//   - Where getTimeAfter compares a "W" day with the start instant, it uses a calendar
//     that keeps the milliseconds of the moment Quartz runs; Next compares whole
//     seconds, as Quartz does when the start instant has no milliseconds.
//
// Quartz does that arithmetic on a lenient java.util.GregorianCalendar, and the way
// that calendar turns wall-clock fields back into an instant decides what happens at
// daylight-saving changes. Next emulates it: fields may be set out of range (hour 24,
// the 32nd) and are normalized when next read, by reading them as one wall-clock time
// and resolving it to an instant as GregorianCalendar.computeTime does with
// ZoneInfo.getOffsetsByWall: with the offset of the last transition whose wall-clock
// start is not after the fields. A time in a spring-forward gap is read with the old
// offset (02:30 becomes 03:30 daylight time) and a time in a fall-back overlap with the
// new, standard-time offset (its second occurrence). getTimeAfter re-reads the fields
// after every change, so:
//
//   - A wall-clock time that does not exist never fires. The shifted instant no longer
//     shows the wanted hour, so getTimeAfter moves on (its setCalendarHour steps to the
//     next hour when the wanted one is missing): a daily 02:30 job in America/New_York
//     does not fire on the spring-forward day, and an every-15-minutes job goes from
//     01:45 EST to 03:00 EDT. The Quartz FAQ says so ("if you have a CronTrigger that
//     fires every day at 2:15 am, then on the day of the beginning of daylight savings
//     time the trigger will be skipped"), as do the maintainers in
//     github.com/quartz-scheduler/quartz/issues/51 ("that's how we design").
//   - A wall-clock time that occurs twice fires once, at its second, standard-time
//     occurrence: a daily 01:30 job in New York fires at 01:30 EST on the fall-back
//     day. Any time matched in the repeated hour is read the same way, so an
//     every-15-minutes job has no fire during the first, daylight-time pass of that
//     hour and fires through the second one (00:45 EDT, then 01:00 EST, 01:15 EST, ...),
//     the gap quartz-scheduler/quartz#1104 reports and the FAQ warns about for such
//     triggers. Next called at an instant inside the first pass searches on from its
//     wall-clock time, as Quartz does.
//   - In zones whose changes are not a whole hour (Australia/Lord_Howe's 30 minutes,
//     Pacific/Chatham's at 02:45) and at midnight (America/Santiago), the same rules
//     give what Quartz gives, including a day Pacific/Apia skipped (2011-12-30).
//
// Next supports start instants from 1970 on: Quartz's Gregorian calendar switches to
// the Julian one before 1582, and years before 1970 in the year field are not kept.
//
// # Checked against Quartz
//
// testdata/quartz_vectors.jsonl holds what real Quartz 2.3.2 (Debian's libquartz2-java
// on Java 17) answers in about 3000 cases, and TestParseAndNextMatchQuartz checks Parse
// and Next against every one. scripts/quartzoracle/QuartzOracle.java writes them (make
// cron-vectors): for 337 hand-picked expressions (the documentation's, every
// special character, each leniency above, refusals, DST-sensitive times, year forms)
// and 600 from a grammar with a fixed seed, whether Quartz accepts each, and for those
// accepted the chain of the next five getTimeAfter results from several start instants:
// around the offset changes of America/New_York, Europe/London, Europe/Berlin,
// Australia/Sydney, Australia/Lord_Howe, Pacific/Chatham, America/Sao_Paulo,
// America/Santiago, Pacific/Apia and Asia/Shanghai (in 1986-1991, 2011, 2018, 2024,
// 2025, and in 2042 and 2099, past the end of Java's transition tables), at month and
// year ends and 29 February in those and UTC and Asia/Kolkata, near 2099, and at random.
// The zones come from Java's tz data there and Go's (the system's) here; a change of
// rules in one of them calls for new vectors.
//
// # gronx
//
// The project builds cron support on github.com/adhocore/gronx where it fits. It does
// not fit here, so this package does not import gronx; its tests use it as an
// independent oracle. Validation is ours, in Quartz's terms, because gronx's is a
// different dialect (day-of-week 0-6 from Sunday with 7 also Sunday, '?' read as '*',
// 5-field expressions, '@' tags) and it rejects valid Quartz ("L-3", "LW", "L" in
// day-of-week, wrap-around ranges such as "22-2"). Next time computation is ours because
// gronx's NextTickAfter re-parses the expression on every call and steps one unit at a
// time under fixed iteration limits (an impossible expression such as "0 0 0 30 2 ?"
// ends in a generic "tried so hard" error instead of a clean "no more fires"), and at a
// fall-back change it fires in both passes of the repeated hour and fires a daily 01:30
// at its first occurrence, where Quartz fires once, at the second. The tests check that
// Next and NextTickAfter agree, after translating the dialect, on expressions both
// accept with the same meaning, in UTC.
package cron
