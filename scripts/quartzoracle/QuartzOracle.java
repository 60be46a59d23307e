// QuartzOracle runs real Quartz 2.3.2 (org.quartz.CronExpression) over a fixed set of
// cron expressions, time zones and start instants, and prints what Quartz answers, one JSON
// object a line, for shared/cron's TestQuartzVectors. gen.sh compiles and runs it
// (make cron-vectors); nothing else needs Java.
//
// The cases are fixed: the hand-picked expressions below, then a seeded random grammar
// (java.util.Random's sequence is specified, so the same seed gives the same cases on every
// JVM), each with start instants in zones with and without daylight saving, chosen around
// the zones' transitions, month and year ends, 29 February and 2099.
//
// Quartz bounds years at CronExpression.MAX_YEAR, the year its class was loaded plus 100,
// so an answer that reaches that bound changes with the date it is computed on. The oracle
// therefore runs every case a second time in a child JVM in which MAX_YEAR is moved 400
// years on (it is a static final computed at class load, so only sun.misc.Unsafe can move
// it), and leaves out each case whose answer differs: what remains is what Quartz answers
// on any date from now on.
//
// Output lines:
//   {"meta":{...}}
//   {"expr":E,"error":MESSAGE}                                Quartz refuses E
//   {"expr":E,"zone":Z,"from":MS,"next":[MS,...]}             K fires in a row
//   {"expr":E,"zone":Z,"from":MS,"next":[MS,...],"end":WHY}   fewer: WHY is "null"
//                                                             (getTimeAfter returned null),
//                                                             "exception: ..." or "hang"
// Each fire is getTimeAfter of the previous one (the first of the start instant), in epoch
// milliseconds, with setTimeZone(Z).

import java.lang.reflect.Field;
import java.text.ParseException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TimeZone;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.quartz.CronExpression;

public final class QuartzOracle {
    static final long SEED = 2409L; // issue 24, part 9
    static final int K = 5; // fires per case
    static final int RANDOM_EXPRESSIONS = 600;
    static final long TIMEOUT_MS = 3000; // a case that takes longer hangs in Quartz
    static final int SHIFT_YEARS = 400;

    // Zones with and without daylight saving, whole-hour and not, both hemispheres,
    // transitions at midnight (Santiago, Sao Paulo until 2019) and a skipped day (Apia).
    static final String[] ZONES = {
        "UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney",
        "Asia/Shanghai", "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham",
        "Australia/Lord_Howe", "America/Santiago", "Pacific/Apia",
    };
    static final String[] DST_ZONES = {
        "America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney",
        "America/Sao_Paulo", "Pacific/Chatham", "Australia/Lord_Howe", "America/Santiago",
        "Pacific/Apia", "Asia/Shanghai",
    };
    // Years whose transitions are used: Shanghai's DST years, Sao Paulo's last DST,
    // Apia's skipped day, recent years, and years past 2037, where Java's zone data ends
    // its transition table and applies the zone's last rule.
    static final int[] TRANSITION_YEARS = {1986, 1991, 2011, 2018, 2024, 2025, 2042, 2099};

    // Hand-picked: the documentation's examples, every special character, Quartz's
    // leniencies and refusals, DST-sensitive times and year forms.
    static final String[] HAND = {
        // Documentation and seeds.
        "0 0 12 * * ?", "0 15 10 ? * *", "0 15 10 * * ? *", "0 15 10 * * ? 2005",
        "0 */30 8-19 ? * * *", "57 24 11 ? * * *", "* * * ? * *", "0 0/5 14,18 * * ?",
        "0 0-5 14 * * ?", "0 10,44 14 ? 3 WED", "0 15 10 ? * MON-FRI", "0 15 10 15 * ?",
        "0 11 11 11 11 ?", "0/5 14,18,3-39,52 * ? JAN,MAR,SEP MON-FRI 2002-2030",
        "0 0 12 1/5 * ?", "5/20 10-50/10 * ? * *", "0 0 */5 ? * *", "0 0 12 */10 * ?",
        "0 0 12 1 */4 ?", "0 0 12 ? * */2", "0 0 12 ? * 2/2", "0 0,15,30-35/5 9-10,22 ? * *",
        "0 15 10 ? * 6L 2002-2030", "0 15 10 ? * 6#3", "0 43 9 ? * 5L", "00 05 1-3,22 ? * *",
        // Ranges that wrap, and ends Quartz does not check.
        "0 0 22-2 ? * *", "0 0 12 1 NOV-FEB ?", "0 0 12 ? * FRI-MON", "0 0 12 28-3 * ?",
        "50-10 * * ? * *", "0 50-10/7 * ? * *", "0 0 20-4/3 ? * *", "0 0 12 30-2/2 * ?",
        "0 0 12 ? * 6-2/2", "0 0 12 1 11-2/2 ?", "0 0 12 ? * 1-0", "0 0 12 1 1-0 ?",
        "0 0 12 5-0 * ?", "0 0 5-0 ? * *", "0 0-0 12 ? * *", "0 5-4 12 ? * *",
        "0 0 12 ? * SAT-SUN", "0 0 12 ? * MON-SUN", "0 0 14-6 ? * FRI-MON",
        // Names: increments after them, long names, case, look-alike letters, junk.
        "0 0 0 ? * MON/3", "0 0 12 ? * MON/2", "0 0 12 1 JAN/2 ?", "0 0 12 ? * MON-FRI/2",
        "0 0 12 1 JAN-JUN/2 ?", "0 0 12 ? * MONDAY", "0 0 12 1 JANUARY ?", "0 0 12 ? * mon",
        "0 0 12 ? * Mon-fRi", "0 0 12 1 jan,Jul ?", "0 0 12 ? * sun", "0 0 12 ? * SUNDAY,SATURDAY",
        "0 0 12 ? * \u017Fun", "0 0 12 ? * FR\u0131", "0 0 12 1 \u017Fep ?", "0 0 12 ? * MON-FRIDAY",
        "0 0 12 ? * MONX", "0 0 12 ? * MO", "0 0 12 ? * MON-FR", "0 0 12 ? * MON-",
        "0 0 12 ? * MON#2", "0 0 12 ? * MONL", "0 0 12 ? * FRIL", "0 0 12 ? * MON-WEDL",
        "0 0 12 ? * FOO", "0 0 12 1 FOO ?", "0 0 12 1 JAN-3 ?", "0 0 12 1 3-JAN ?",
        "0 0 12 1 JAN-MAR ?", "0 0 12 ? * SUN-SAT", "0 0 12 ? 2 MON", "0 0 MON * * ?",
        "JAN 0 12 * * ?", "0 0 12 ? * MON-FRI,SUN", "0 0 12 ? * WED#5", "0 0 12 ? * SAT#1",
        "0 0 12 ? * TUE#6", "0 0 12 ? * THU#x", "0 0 12 1 DEC-JAN ?", "0 0 12 ? * \u00DFUN",
        // Day-of-month specials.
        "0 0 12 L * ?", "0 0 12 L-3 * ?", "0 0 12 L-0 * ?", "0 0 12 L-30 * ?", "0 0 12 L-31 * ?",
        "0 0 12 LW * ?", "0 0 12 L-1W * ?", "0 0 12 L-5W * ?", "0 0 12 L-30W * ?",
        "0 0 12 L-W * ?", "0 0 12 L- * ?", "0 0 12 L-3X * ?", "0 0 12 LX * ?", "0 0 12 1W * ?",
        "0 0 12 15W * ?", "0 0 12 31W * ?", "0 0 12 30W * ?", "0 0 12 29W 2 ?", "0 0 12 0W * ?",
        "0 0 12 32W * ?", "0 0 12 1-5W * ?", "0 0 12 1,15W * ?", "0 0 12 15W,1 * ?",
        "0 0 12 */5W * ?", "0 0 12 W * ?", "0 0 12 L,15 * ?", "0 0 12 5L * ?", "0 0 12 1W-5 * ?",
        "0 0 12 15WW * ?", "0 0 12 L * ? 2024", "0 15 10 L-1W * ? 2010", "0 15 10 L-5W * ? 2010",
        "0 0 12 LW,1 * ?", "0 0 12 L-1 2 ?", "0 0 12 L-2 2 ?", "0 0 0 LW 2 ?", "0 0 0 L 2 ?",
        "0 30 2 L * ?", "0 30 2 1W * ?", "0 30 2 LW * ?", "0 0 0 2W * ?", "0 0 23 31W 4,6,9,11 ?",
        "0 0 12 L-2W * ?", "0 0 12 00W * ?", "0 0 12 31W 2 ?",
        // Day-of-week specials.
        "0 0 12 ? * L", "0 0 12 ? * 6L", "0 0 12 ? * 1L", "0 0 12 ? * 7L", "0 0 12 ? * 8L",
        "0 0 12 ? * 0L", "0 0 12 ? * LW", "0 0 12 ? * L-3", "0 0 12 ? * 2#1", "0 0 12 ? * 6#5",
        "0 0 12 ? * 1#5", "0 0 12 ? * 2#6", "0 0 12 ? * 2#0", "0 0 12 ? * 2#", "0 0 12 ? * 2#1,6",
        "0 0 12 ? * 6,2#1", "0 0 12 ? * 1,2#1", "0 0 12 ? * 2#1#2", "0 0 12 ? * 2#1,3#2",
        "0 0 12 ? * 0#1", "0 0 12 ? * 8#1", "0 0 12 1 * 98#1", "0 0 12 ? * 98#1", "0 0 12 ? * 2#+1",
        "0 0 12 ? * 2#01", "0 0 12 ? * 2-5#3", "0 0 12 ? * 6L-2", "0 0 12 ? * SAT,SUN,L",
        "0 0 12 ? * 1-5L", "0 0 12 ? * L/2", "0 0 12 ? * 6L,2", "0 0 12 ? * 7#5", "0 0 0 ? 2 6#5",
        "0 30 2 ? * 1#2", "0 30 2 ? 3 1#2", "0 30 1 ? 11 1#1", "0 0 2 ? * 1L", "0 0 0 ? * SUN",
        "0 0 12 ? * 5#3,1", "0 0 12 ? * 3#2 2025",
        // Increments.
        "*/0 * * ? * *", "0/0 * * ? * *", "0 */0 * ? * *", "0 0 12 ? * */0", "*/60 * * ? * *",
        "0-59/60 * * ? * *", "0-59/100 * * ? * *", "5/0 * * ? * *", "/5 * * ? * *", "/ * * ? * *",
        "*/ * * ? * *", "*/-5 * * ? * *", "*/+5 * * ? * *", "*/5x * * ? * *", "5/1x * * ? * *",
        "5/12x * * ? * *", "1-5/2x * * ? * *", "0 0 0/24 ? * *", "0 0 0-23/24 ? * *",
        "0 0 12 /32 * ?", "0 0 12 1 */13 ?", "0 0 12 ? * */8", "*5 * * ? * *", "*x * * ? * *",
        "0 0 12 /31 * ?", "0 0 12 1 /12 ?", "0 0/59 * ? * *", "0 0/60 * ? * *", "0 */7 * ? * *",
        "0 7/7 * ? * *", "0 0 12 1/31 * ?", "0 0 12 ? * 1/7", "0 0 12 ? * 3/0", "5-50/15 * * ? * *",
        "0 0 12 1-31/2 * ?", "0 0 0 1-31/10 1/3 ?", "5-10/2147483647 * * ? * *",
        "50-10/2147483647 * * ? * *",
        // White space, field counts, empty items and fields.
        "0  0\t12 * * ?", "\t0 0 12 * * ?  ", "0 0 12 * * ? 2030 extra", "0 0 12 * * ? 2030 5 6",
        "0 0 12 * *", "0 0 12 * * ?\n", "0 0 12 * *\n? 2099", "0 0 12 * * ? \n", "\n0 0 12 * * ?",
        "0 0 12 * *\u000B?", "0 , 12 * * ?", "0 0 12 , * ?", "0 0 12 ? , *", "0 0 12 ? * ,",
        "0 0 12 1,,2 * ?", "0 0 12 1, * ?", "0 0 12 ,1 * ?", "0 0 12 * * \u00A0?", "", "garbage",
        "a b c d e f", "0 0 12 ? * * *", "0\u30000 12 * * ?",
        // '?' and both or neither day field.
        "0 0 12 ?x * *", "0 0 12 ?xy * *", "0 0 12 * * ?x", "0 0 12 ? * ?", "0 0 12 1 * MON",
        "0 0 12 * * *", "? 0 12 * * ?", "0 0 12 5? * ?", "0 0 12 ?,5 * MON", "0 0 12 ? ? *",
        "0 0 12 L * ?,1", "0 0 12 ?5 * *",
        // Years.
        "0 0 0 1 1 ? 2099", "0 0 0 1 1 ? 2100", "0 0 0 1 1 ? 2110", "0 0 0 1 1 ? 2024-2026",
        "0 0 0 1 1 ? 2030/5", "0 0 0 1 1 ? 2030-2025", "0 0 0 1 1 ? 1969", "0 0 0 1 1 ? 1970",
        "0 0 0 1 1 ? 0", "0 0 0 1 1 ? 3000", "0 0 0 1 1 ? */10", "0 0 0 1 1 ? 2000/0",
        "0 0 0 1 1 ? 2000/200", "0 0 0 1 1 ? 2024,2031,2099,2100", "0 0 0 29 2 ? 2096-2104",
        "0 0 0 1 1 ? 2147483647", "0 0 0 1 1 ? 2147483648", "0 0 0 1 1 ? 2000/2147483647",
        "0 0 0 1 1 ? 2099-2100", "0 0 0 1 1 ? 1999/100", "0 0 0 1 1 ? L", "0 0 0 1 1 ? 2024L",
        "0 0 0 1 1 ? ?", "0 0 0 1 1 ? 2024W", "0 0 0 1 1 ? 2024#1", "0 0 0 * * ? 2099",
        "0 0 0 1 * ? 2099-2101", "0 0 12 ? * MON 2100", "0 0 0 1 1 ? 1999-2001", "0 0 0 1 1 ? /50",
        "0 0 0 1 1 ? 2090-2110/5", "0 0 0 1 1 ? 2126", "0 0 0 1 1 ? 2024-2025,2027",
        // Values out of range, specials in the wrong field, odd characters.
        "0 0 L * * ?", "0 0 L,12 * * ?", "0 0 12 1 L ?", "L 0 12 * * ?", "0 0 12W * * ?",
        "0 5#2 12 * * ?", "60 0 12 * * ?", "0 60 12 * * ?", "0 0 24 * * ?", "0 0 12 0 * ?",
        "0 0 12 32 * ?", "0 0 12 ? * 0", "0 0 12 ? * 8", "0 0 12 ? * 1-8", "0 0 12 1 13 ?",
        "0 0 12 1 0 ?", "-1 * * ? * *", "1-2-3 * * ? * *", "1--2 * * ? * *", "0 0 1-\u0665 ? * *",
        "0 0 \u0665 ? * *", "0 0 1/\u0665 ? * *", "0 0 1-\uFF15 ? * *", "0 0 12 ? * 2#\u0661",
        "*/\u0665 * * ? * *", "0 0 12 ? * \uFB00", "1-5 * * ? * *", "0 0 12-12 * * ?",
        "0 0 12 1-5L * ?", "0 0 12 1-5# * ?", "5x * * ? * *", "5* * * ? * *", "0 0 12 * JAN-DEC/2 ?",
        "0 0 12 ? * L-", "0 0 12 L-3W,5 * ?", "99999999999 * * ? * *", "0 0 0 1 1 ? 99999999999",
        // Times a daylight-saving change skips or repeats.
        "0 30 2 * * ?", "0 */15 * * * ?", "0 0 * * * ?", "0 30 1 * * ?", "0 0 0 * * ?",
        "0 0 2 * * ?", "0 45 2 * * ?", "0 0 3 * * ?", "0 30 2,3 * * ?", "0 0 1-3 * * ?",
        "0 0,30 0-4 ? * *", "* 30 2 * * ?", "0 0 0 L * ?", "0 0 2 L * ?", "0 15 2 ? * *",
        "0 45 2 ? * *", "0 0/20 1-3 ? * *", "30 59 1 ? * *", "0 0 0,1 ? * *", "0 0 23 ? * *",
        "0 0 0 1 * ?", "0 0 0 ? * 1#1", "59 59 23 ? * *", "0 0 12 * * ?",
    };

    final Random rnd = new Random(SEED);

    public static void main(String[] args) throws Exception {
        Locale.setDefault(Locale.US);
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        boolean shifted = args.length > 0 && args[0].equals("--shifted");
        int maxYear = CronExpression.MAX_YEAR;
        if (shifted) {
            moveMaxYear(maxYear + SHIFT_YEARS);
        }
        List<Case> cases = new QuartzOracle().cases();
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        if (shifted) {
            for (Case c : cases) {
                out.println(c.run());
            }
            out.flush();
            return;
        }

        Process child = new ProcessBuilder(
                new File(System.getProperty("java.home"), "bin/java").getPath(),
                "-Duser.language=en", "-Duser.country=US", "-Duser.timezone=UTC",
                "-cp", System.getProperty("java.class.path"), "QuartzOracle", "--shifted")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> later = new ArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    later.add(l);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        reader.start();

        List<String> lines = new ArrayList<>();
        for (Case c : cases) {
            lines.add(c.run());
        }
        reader.join();
        if (child.waitFor() != 0 || later.size() != lines.size()) {
            throw new IllegalStateException("the shifted run failed or printed " + later.size() + " lines for " + lines.size());
        }
        int accepted = 0, refused = 0, dropped = 0, short_ = 0;
        StringBuilder kept = new StringBuilder();
        String last = "";
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.equals(last)) {
                continue; // a refused expression's line, once per case
            }
            last = l;
            if (!l.equals(later.get(i))) {
                dropped++;
                System.err.println("depends on MAX_YEAR, left out: " + l);
                continue;
            }
            if (l.contains("\"error\":")) {
                refused++;
            } else {
                accepted++;
                if (l.contains("\"end\":")) {
                    short_++;
                }
            }
            kept.append(l).append('\n');
        }
        out.println("{\"meta\":{\"quartz\":" + json(quartzVersion())
                + ",\"java\":" + json(System.getProperty("java.version"))
                + ",\"tzdata\":" + json(java.time.zone.ZoneRulesProvider.getVersions("UTC").lastKey())
                + ",\"seed\":" + SEED + ",\"k\":" + K + ",\"accepted_cases\":" + accepted
                + ",\"refused_expressions\":" + refused + ",\"left_out_for_max_year\":" + dropped + "}}");
        out.print(kept);
        out.flush();
        System.err.printf("%d accepted cases (%d with fewer than %d fires), %d refused expressions, %d left out (MAX_YEAR %d)%n",
                accepted, short_, K, refused, dropped, maxYear);
    }

    // quartzVersion returns the version in the Quartz jar's Maven properties.
    static String quartzVersion() throws Exception {
        java.util.Properties p = new java.util.Properties();
        try (java.io.InputStream in = CronExpression.class.getResourceAsStream(
                "/META-INF/maven/org.quartz-scheduler/quartz/pom.properties")) {
            if (in == null) {
                return null;
            }
            p.load(in);
        }
        return p.getProperty("version");
    }

    // moveMaxYear sets CronExpression.MAX_YEAR, a static final computed when the class loads.
    static void moveMaxYear(int year) throws Exception {
        Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
        f.setAccessible(true);
        sun.misc.Unsafe u = (sun.misc.Unsafe) f.get(null);
        Field m = CronExpression.class.getField("MAX_YEAR");
        @SuppressWarnings("deprecation")
        Object base = u.staticFieldBase(m);
        @SuppressWarnings("deprecation")
        long off = u.staticFieldOffset(m);
        u.putInt(base, off, year);
        if (CronExpression.MAX_YEAR != year) {
            throw new IllegalStateException("MAX_YEAR did not move");
        }
    }

    // A case: an expression, and for an accepted one a zone and a start instant.
    static final class Case {
        final String expr, zone;
        final long from;

        Case(String expr, String zone, long from) {
            this.expr = expr;
            this.zone = zone;
            this.from = from;
        }

        // run returns the case's output line.
        String run() throws InterruptedException {
            String[] line = new String[1];
            Thread t = new Thread(() -> line[0] = compute());
            t.setDaemon(true);
            t.start();
            t.join(TIMEOUT_MS);
            if (t.isAlive()) {
                stop(t);
                return partial.toString() + "],\"end\":\"hang\"}";
            }
            return line[0];
        }

        final StringBuffer partial = new StringBuffer();

        String compute() {
            CronExpression ce;
            try {
                ce = new CronExpression(expr);
            } catch (ParseException e) {
                return "{\"expr\":" + json(expr) + ",\"error\":" + json(e.getMessage()) + "}";
            }
            ce.setTimeZone(TimeZone.getTimeZone(zone));
            partial.append("{\"expr\":").append(json(expr)).append(",\"zone\":").append(json(zone))
                    .append(",\"from\":").append(from).append(",\"next\":[");
            Date at = new Date(from);
            for (int i = 0; i < K; i++) {
                Date next;
                try {
                    next = ce.getTimeAfter(at);
                } catch (RuntimeException e) {
                    return partial + "],\"end\":" + json("exception: " + e.getClass().getName()) + "}";
                }
                if (next == null) {
                    return partial + "],\"end\":\"null\"}";
                }
                if (i > 0) {
                    partial.append(',');
                }
                partial.append(next.getTime());
                at = next;
            }
            return partial + "]}";
        }
    }

    @SuppressWarnings("deprecation")
    static void stop(Thread t) {
        t.stop();
    }

    // cases returns every case, in a fixed order.
    List<Case> cases() {
        List<Case> out = new ArrayList<>();
        for (String e : HAND) {
            add(out, e, 8);
        }
        for (int i = 0; i < RANDOM_EXPRESSIONS; i++) {
            add(out, randomExpression(), 2);
        }
        return out;
    }

    // add adds n cases for expr. Whether Quartz accepts it is left to run (a refused
    // expression prints the same line n times, and main keeps one), so that the cases,
    // and the instants drawn for the next expressions, do not depend on MAX_YEAR.
    void add(List<Case> out, String expr, int n) {
        boolean w = expr.toUpperCase(Locale.US).indexOf('W') >= 0;
        for (int i = 0; i < n; i++) {
            String zone;
            long from;
            switch (i % 8) {
                case 0: zone = "UTC"; from = randomInstant(zone); break;
                case 1: zone = "America/New_York"; from = transitionInstant(zone); break;
                case 2: zone = "Europe/London"; from = transitionInstant(zone); break;
                case 3: zone = "Australia/Sydney"; from = transitionInstant(zone); break;
                case 4: zone = pick(DST_ZONES); from = transitionInstant(zone); break;
                case 5: zone = pick(new String[] {"Asia/Shanghai", "Asia/Kolkata", "UTC", "Europe/Berlin"}); from = calendarEdge(zone); break;
                case 6: zone = pick(ZONES); from = near2099(zone); break;
                default: zone = pick(ZONES); from = rnd.nextBoolean() ? transitionInstant(zone) : calendarEdge(zone);
            }
            // Sub-second starts, but not where Quartz compares with a calendar holding
            // the milliseconds of the moment it runs ("W").
            if (!w && rnd.nextInt(10) == 0) {
                from += 1 + rnd.nextInt(999);
            }
            out.add(new Case(expr, zone, from));
        }
    }

    String pick(String[] a) {
        return a[rnd.nextInt(a.length)];
    }

    long randomInstant(String zone) {
        // 1971-2100, whole seconds.
        long lo = 31536000L, hi = 4133980800L;
        return (lo + (long) (rnd.nextDouble() * (hi - lo))) * 1000;
    }

    // transitionInstant returns an instant close to one of zone's offset changes.
    long transitionInstant(String zone) {
        ZoneRules rules = ZoneId.of(zone).getRules();
        List<ZoneOffsetTransition> ts = new ArrayList<>();
        for (int y : TRANSITION_YEARS) {
            Instant at = LocalDate.of(y, 1, 1).atStartOfDay(ZoneOffset.UTC).toInstant();
            for (int i = 0; i < 3; i++) {
                ZoneOffsetTransition t = rules.nextTransition(at);
                if (t == null || t.getInstant().atZone(ZoneOffset.UTC).getYear() != y) {
                    break;
                }
                ts.add(t);
                at = t.getInstant();
            }
        }
        if (ts.isEmpty()) {
            return calendarEdge(zone);
        }
        ZoneOffsetTransition t = ts.get(rnd.nextInt(ts.size()));
        long at = t.getInstant().getEpochSecond();
        long[] deltas = {-3601, -3600, -1800, -1, 0, 1, 1799, 3600, -86400, -43200};
        long s;
        if (rnd.nextInt(4) == 0) {
            // The start of the local day of the change, or of the day before.
            LocalDate d = t.getDateTimeBefore().toLocalDate().minusDays(rnd.nextInt(2));
            s = d.atStartOfDay(ZoneId.of(zone)).toEpochSecond();
        } else {
            s = at + deltas[rnd.nextInt(deltas.length)];
        }
        return s * 1000;
    }

    // calendarEdge returns a local time at a month's or year's end, on 29 February, or
    // around 2000.
    long calendarEdge(String zone) {
        String[] locals = {
            "2024-01-31T23:59:59", "2024-02-28T12:00:00", "2024-02-29T00:00:00", "2024-02-29T23:59:59",
            "2023-02-28T23:59:59", "2024-04-30T23:59:59", "2024-12-31T23:59:59", "2025-06-30T12:00:00",
            "1999-12-31T23:59:59", "2000-02-29T12:00:00", "2025-08-31T23:00:00", "2026-02-28T23:59:59",
            "2027-12-31T00:00:00", "2028-02-29T12:00:00", "2030-09-30T23:59:59", "2021-05-31T08:00:00",
            "2024-09-30T12:00:00", "2024-06-01T00:00:00", "2032-02-29T23:59:59", "1970-01-01T00:00:00",
        };
        return local(zone, locals[rnd.nextInt(locals.length)]);
    }

    long near2099(String zone) {
        String[] locals = {
            "2099-12-31T23:59:59", "2099-12-31T12:00:00", "2099-06-15T00:00:00", "2099-11-30T23:59:59",
            "2098-12-31T23:59:59", "2099-02-28T23:59:59", "2100-02-28T12:00:00", "2096-02-29T12:00:00",
            "2099-12-01T00:00:00", "2100-06-30T00:00:00",
        };
        return local(zone, locals[rnd.nextInt(locals.length)]);
    }

    static long local(String zone, String s) {
        return LocalDateTime.parse(s).atZone(ZoneId.of(zone)).toEpochSecond() * 1000;
    }

    // randomExpression draws from a grammar of Quartz's syntax, lenient and not: mostly
    // well-formed fields, some out of range, some with Quartz's accepted oddities.
    String randomExpression() {
        int n = 6;
        int r = rnd.nextInt(20);
        if (r == 0) {
            n = 5;
        } else if (r < 8) {
            n = 7;
        } else if (r == 8) {
            n = 8;
        }
        String[] f = new String[n];
        f[0] = plainField(0, 59, null);
        f[1] = plainField(0, 59, null);
        f[2] = plainField(0, 23, null);
        f[3] = domField();
        f[4] = plainField(1, 12, MONTHS);
        if (n > 5) {
            f[5] = dowField();
        }
        // One day field '?', as Quartz requires, most of the time.
        if (n > 5) {
            int q = rnd.nextInt(10);
            if (q < 5) {
                f[3] = "?";
            } else if (q < 9) {
                f[5] = "?";
            }
        }
        if (n > 6) {
            f[6] = yearField();
        }
        if (n > 7) {
            f[7] = plainField(0, 59, null);
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                int s = rnd.nextInt(12);
                b.append(s == 0 ? "\t" : s == 1 ? "  " : " ");
            }
            b.append(f[i]);
        }
        return b.toString();
    }

    static final String[] MONTHS = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    static final String[] DAYS = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

    String plainField(int lo, int hi, String[] names) {
        int items = 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(3) : 0);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < items; i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(plainItem(lo, hi, names));
        }
        return b.toString();
    }

    String value(int lo, int hi, String[] names) {
        if (names != null && rnd.nextInt(3) == 0) {
            String s = names[rnd.nextInt(names.length)];
            return rnd.nextInt(4) == 0 ? s.toLowerCase(Locale.US) : s;
        }
        int r = rnd.nextInt(30);
        if (r == 0) {
            return Integer.toString(hi + 1);
        }
        if (r == 1 && lo > 0) {
            return "0";
        }
        return Integer.toString(lo + rnd.nextInt(hi - lo + 1));
    }

    String plainItem(int lo, int hi, String[] names) {
        int span = hi - lo + 1;
        switch (rnd.nextInt(14)) {
            case 0: case 1: return "*";
            case 2: case 3: case 4: return value(lo, hi, names);
            case 5: case 6: return value(lo, hi, names) + "-" + value(lo, hi, names);
            case 7: return value(lo, hi, null) + "/" + (rnd.nextInt(span + 2));
            case 8: return "*/" + (rnd.nextInt(span + 2));
            case 9: return value(lo, hi, null) + "-" + value(lo, hi, null) + "/" + (1 + rnd.nextInt(span + 1));
            case 10: return "/" + (1 + rnd.nextInt(span));
            case 11: return value(lo, hi, names) + junk();
            case 12: return names != null ? names[rnd.nextInt(names.length)] + "/" + (1 + rnd.nextInt(4)) : value(lo, hi, null);
            default: return value(lo, hi, null);
        }
    }

    String junk() {
        String[] j = {"L", "W", "#2", "?", "x", "-", "/", "*", "LW", "/0", "-/2"};
        return j[rnd.nextInt(j.length)];
    }

    String domField() {
        switch (rnd.nextInt(12)) {
            case 0: return "L";
            case 1: return "L-" + rnd.nextInt(32);
            case 2: return "LW";
            case 3: return "L-" + rnd.nextInt(31) + "W";
            case 4: case 5: return (rnd.nextInt(33)) + "W";
            case 6: return plainItem(1, 31, null) + "," + (1 + rnd.nextInt(31)) + "W";
            default: return plainField(1, 31, null);
        }
    }

    String dowField() {
        switch (rnd.nextInt(12)) {
            case 0: return "L";
            case 1: return (rnd.nextInt(9)) + "L";
            case 2: return DAYS[rnd.nextInt(7)] + "L";
            case 3: return (rnd.nextInt(9)) + "#" + rnd.nextInt(7);
            case 4: return DAYS[rnd.nextInt(7)] + "#" + (1 + rnd.nextInt(5));
            case 5: return DAYS[rnd.nextInt(7)] + "/" + (1 + rnd.nextInt(7));
            default: return plainField(1, 7, DAYS);
        }
    }

    String yearField() {
        switch (rnd.nextInt(8)) {
            case 0: return "*";
            case 1: return Integer.toString(2020 + rnd.nextInt(85));
            case 2: return (2020 + rnd.nextInt(60)) + "-" + (2024 + rnd.nextInt(80));
            case 3: return (1970 + rnd.nextInt(120)) + "/" + rnd.nextInt(40);
            case 4: return "*/" + (1 + rnd.nextInt(30));
            case 5: return (2024 + rnd.nextInt(10)) + "," + (2030 + rnd.nextInt(70));
            case 6: return Integer.toString(1960 + rnd.nextInt(20));
            default: return Integer.toString(2024 + rnd.nextInt(6));
        }
    }

    static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
