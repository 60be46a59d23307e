package job

import (
	"time"
)

// Next returns the trigger's first fire strictly after t. anchor is when the job was
// started: an interval fires at anchor + k·Every for k ≥ 1. ok is false when the trigger
// will never fire again (a date in the past, a cron with no later match).
func (tr Trigger) Next(anchor, t time.Time) (next time.Time, ok bool) {
	switch tr.Kind {
	case Interval:
		if tr.Every <= 0 {
			return time.Time{}, false
		}
		return NextInterval(anchor, tr.Every, t), true
	case Date:
		if tr.RunAt.After(t) {
			return tr.RunAt, true
		}
		return time.Time{}, false
	case Cron:
		return nextCron(tr.Cron, tr.Zone, t)
	}
	return time.Time{}, false
}

// NextInterval returns the first anchor + k·every (k ≥ 1) strictly after t; every must
// be positive.
func NextInterval(anchor time.Time, every time.Duration, t time.Time) time.Time {
	first := anchor.Add(every)
	if t.Before(first) {
		return first
	}
	k := t.Sub(anchor)/every + 1
	return anchor.Add(k * every)
}
