// Package cron parses Quartz cron expressions (org.quartz.CronExpression) and computes
// their next fire time in a time zone, as Quartz does.
//
// # Dialect
//
// An expression has 6 or 7 fields separated by white space:
//
//	second  minute  hour  day-of-month  month  day-of-week  [year]
//	0-59    0-59    0-23  1-31          1-12   1-7          1970-2099
//	                                    JAN-DEC SUN-SAT
//
// Day-of-week 1 is Sunday and 7 is Saturday. Names and letters are case-insensitive.
// A missing year means every year 1970-2099 (Quartz's documented range; Quartz's
// parser bounds it at "now + 100 years", we keep the documented fixed bound so a
// schedule does not change with the date it is parsed on).
//
// Every field takes '*', a value, a range "a-b", a list "a,b-c", and increments:
// "a/n" (a, a+n, ... up to the field's maximum), "a-b/n", "*/n" (from the field's
// minimum) and Quartz's shorthand "/n" for "*/n". A range whose end is below its start
// wraps around ("22-2" hours, "NOV-FEB", "FRI-MON"), as Quartz documents; year ranges
// cannot wrap. The special characters are Quartz's:
//
//   - '?' (no specific value) in day-of-month or day-of-week. Exactly one of the two
//     day fields must be '?': Quartz supports neither both nor none.
//   - Day-of-month "L" (last day), "L-n" (n = 0-30 days before the last day), "LW"
//     (last weekday of the month), "L-nW" (weekday nearest the n-th day before the
//     last), and "nW" (weekday nearest day n: Saturday moves to Friday, Sunday to
//     Monday, but never across the month's edge, so "1W" on a Saturday 1st is Monday
//     the 3rd and a Sunday last day moves back to Friday; a month without day n has no
//     fire, as documented — Quartz's lenient calendar can turn "31W" in a 30-day month
//     into the 30th when the 1st of the next month is a Saturday, which Next does not
//     reproduce).
//   - Day-of-week "L" alone (= 7, every Saturday), "nL" (last weekday n of the month,
//     "6L" = last Friday) and "n#k" (k-th weekday n, k = 1-5; a month without a k-th
//     one has no fire).
//
// Parse rejects what Quartz 2.3's CronExpression rejects — 5-field Unix expressions,
// more than 7 fields, values out of range, unknown names, '?' outside the day fields or
// in both or neither of them, "L" in a day-of-month or day-of-week list, more than one
// "#", "#" with k outside 1-5, increments above the field's maximum, backwards year
// ranges. Where Quartz's hand-written parser instead ignores text or reads it against
// its own documentation, Parse rejects as well rather than guess:
//
//   - "W" after a range, list or increment ("1-5W" is read as "1-5", "1,15W" as "1W";
//     the documentation allows "W" only after a single day);
//   - "#" with other days ("2#1,6" is read as "2#1"; documented as invalid);
//   - an increment after a name ("MON-FRI/2" is read as "MON-FRI");
//   - an increment of 0 ("*/0" is read as "*", "5/0" as "5") and a year increment
//     above 129;
//   - names longer than three letters ("MONDAY" is read as "MON") and anything after
//     a complete value ("*5", "L/2").
//
// # Next fire time
//
// [Expr.Next] reproduces CronExpression.getTimeAfter: starting one second after t with
// the sub-second part dropped, it advances the wall-clock fields in loc field by field
// (second, minute, hour, day, month, year, jumping straight to the next allowed value
// of each) until all match, so sparse and impossible expressions cost a few hundred
// steps at most: the search ends after 2099.
//
// Quartz does that arithmetic on a lenient java.util.GregorianCalendar, and the way
// that calendar turns wall-clock fields back into an instant decides what happens at
// daylight-saving changes. GregorianCalendar.computeTime looks the fields up with
// ZoneInfo.getOffsetsByWall, which takes the offset of the last transition whose
// wall-clock start is not after the fields: a time in a spring-forward gap is read with
// the old offset (02:30 becomes 03:30 daylight time) and a time in a fall-back overlap
// with the new, standard-time offset (its second occurrence). getTimeAfter re-reads the
// fields after every change, so:
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
//
// These outcomes were checked against Quartz 2.3's getTimeAfter run on the JDK's
// GregorianCalendar.
//
// Next matches the wall-clock fields in loc and resolves them to an instant with that
// same rule. In a zone whose transition is not a whole hour (Australia/Lord_Howe's
// 30 minutes), getTimeAfter can also pass over matching times just after a gap; Next
// returns the first existing match instead.
//
// # gronx
//
// The project builds cron support on github.com/adhocore/gronx where it fits. It does
// not fit here, so this package does not import gronx; its tests use it as an
// independent oracle. Validation is ours, in Quartz's terms, because gronx's is laxer
// and a different dialect (day-of-week 0-6 from Sunday with 7 also Sunday, '?' read as
// '*', 5-field expressions, '@' tags) and it rejects valid Quartz ("L-3", "LW", "L" in
// day-of-week, wrap-around ranges such as "22-2"). Next time computation is ours because
// gronx's NextTickAfter re-parses the expression on every call and steps one unit at a
// time under fixed iteration limits (tens of microseconds per call; an impossible
// expression such as "0 0 0 30 2 ?" ends in a generic "tried so hard" error after
// milliseconds instead of a clean "no more fires"), and at a fall-back change it fires
// in both passes of the repeated hour and fires a daily 01:30 at its first occurrence,
// where Quartz fires once, at the second. The tests check that Next and NextTickAfter
// agree, after translating the dialect, on expressions both accept with the same
// meaning, in UTC.
package cron
