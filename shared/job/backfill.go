package job

import (
	"strconv"
	"time"
)

// Bounds of a backfill: the fires one may store (more only as the first of a range
// holding more, asked for by MaxFires), and how many may run at once.
const (
	MaxBackfillFires       = 10_000
	MaxBackfillConcurrency = 100
)

// BackfillRange asks for the fires of a job's schedule over a past range, as Airflow's and
// Temporal's backfills do: each instant from From to To (both included) that the
// schedule has, run as if it had fired then, Concurrency at once, oldest first.
type BackfillRange struct {
	From, To time.Time
	// Concurrency is how many of its fires run at once (1: one by one).
	Concurrency int
	// MaxFires, when not 0, runs only the first MaxFires fires of a range holding more;
	// without it such a range is refused.
	MaxFires int
	// Of, when set, makes this the continuation of backfill Of (its command), which the
	// trigger sends once the run of its fire at From ended: its one instant is the
	// Concurrency-th after From, if not after To. A backfill keeps Concurrency fires out
	// at once this way, rather than all of them waiting in the broker.
	Of string
}

// Check checks what a backfill asks, all but what depends on its job and the time.
func (b BackfillRange) Check() error {
	switch {
	case b.From.IsZero() || b.From.Year() < 1970:
		return invalid("from", "is required: a date from 1970 on")
	case b.To.IsZero():
		return invalid("to", "is required")
	case b.To.Before(b.From):
		return invalid("to", "must not be earlier than from")
	}
	if err := checkCount("concurrency", int64(b.Concurrency), 1, MaxBackfillConcurrency); err != nil {
		return err
	}
	return checkCount("max_fires", int64(b.MaxFires), 0, MaxBackfillFires)
}

// BackfillInstants are the instants of j's schedule that backfill b runs, at now: its
// cron's, its date's, or an interval's counted from From (From, From + seconds, …),
// within its lifetime, without jitter (they are past); capped when the range holds more
// than MaxFires. A range still to come (To after now), holding no instant, or more than
// MaxBackfillFires without MaxFires, is refused, naming the field to change.
func (j *Job) BackfillInstants(b BackfillRange, now time.Time) (ats []time.Time, capped bool, err error) {
	if b.Of != "" {
		return j.backfillNext(b), false, nil
	}
	if err := b.Check(); err != nil {
		return nil, false, err
	}
	if b.To.After(now) {
		return nil, false, invalid("to", "must not be later than now (%s): a backfill runs past instants; the schedule runs the rest", now.UTC().Format(time.RFC3339))
	}
	s := j.backfillSchedule(b.From)
	limit := MaxBackfillFires
	if b.MaxFires > 0 {
		limit = b.MaxFires
	}
	for t := b.From.Add(-time.Nanosecond); ; {
		at, ok := s.Next(t)
		if !ok || at.After(b.To) {
			break
		}
		if len(ats) == limit {
			if b.MaxFires == 0 {
				return nil, false, invalid("to", "the range holds more than %d fires of the job's schedule: narrow it, or set max_fires to run only its first ones", MaxBackfillFires)
			}
			capped = true
			break
		}
		ats = append(ats, at)
		t = at
	}
	if len(ats) == 0 {
		return nil, false, invalid("from", "the range holds no instant of the job's schedule")
	}
	return ats, capped, nil
}

// backfillNext is a continuation's instant: none when it is past the backfill's end.
func (j *Job) backfillNext(b BackfillRange) []time.Time {
	s := j.backfillSchedule(b.From)
	at := b.From
	for range max(b.Concurrency, 1) {
		next, ok := s.Next(at)
		if !ok || next.After(b.To) {
			return nil
		}
		at = next
	}
	return []time.Time{at}
}

// backfillSchedule is the schedule a backfill from from walks: an interval's counted
// from from, the others' as they are.
func (j *Job) backfillSchedule(from time.Time) Schedule {
	anchor := j.StartedAt
	if j.Spec.Trigger.Kind == Interval {
		anchor = from.Add(-j.Spec.Trigger.Every)
	}
	return j.Spec.Trigger.Compile(anchor)
}

// BackfillFireID names the fire of instant at that backfill command commandID runs: a
// backfill asked again is a new backfill, one applied again stores each fire once.
func BackfillFireID(id, commandID string, at time.Time) string {
	return id + "@backfill-" + commandID + "-" + strconv.FormatInt(at.UnixMilli(), 10)
}
