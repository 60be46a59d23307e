package job

import "time"

// MaxJitter bounds a trigger's jitter: a day.
const MaxJitter = 24 * time.Hour

// Offset is how far after its instant at the fire of job id runs: a hash of the job and
// the instant, from 0 up to the schedule's Jitter and short of the instant that follows
// (following, when ok), so that spread fires never overtake one another; the last
// instant of a life is spread no later than its End (no fire after it). Every trigger
// instance computes the same offset for the same job and instant: a fire's id still
// names its instant, and a replayed or taken-over schedule fires it once. Whole
// milliseconds, as fire ids and the store keep instants.
func (s *Schedule) Offset(id string, at, following time.Time, ok bool) time.Duration {
	if s.Jitter <= 0 {
		return 0
	}
	span := s.Jitter.Milliseconds()
	if !ok && !s.End.IsZero() {
		following, ok = s.End.Add(time.Millisecond), true // End itself may be fired at
	}
	if ok {
		span = min(span, following.Sub(at).Milliseconds())
	}
	if span <= 0 {
		return 0
	}
	// FNV-1a over the id and the instant's milliseconds: fixed, unlike maphash's seed.
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	for n, i := uint64(at.UnixMilli()), 0; i < 8; i++ {
		h = (h ^ (n & 0xff)) * 1099511628211
		n >>= 8
	}
	return time.Duration(h%uint64(span)) * time.Millisecond
}

// NextFire is when job id next fires strictly after t: its next instant (Next) spread
// by its Offset. The last instant at or before t may still be ahead once spread (only
// it can be, since an offset stays short of the following instant), unless it is not
// after the Anchor, when the job started: its first fire is the first instant after.
func (s *Schedule) NextFire(id string, t time.Time) (time.Time, bool) {
	next, ok := s.Next(t)
	if s.Jitter <= 0 {
		return next, ok
	}
	// The last instant at or before t, looked for in a window before t that widens until
	// it holds one (at most the jitter: an instant earlier than that is spread to before t).
	for back := time.Second; ; back *= 16 {
		back = min(back, s.Jitter)
		from := t.Add(-back)
		if from.Before(s.Anchor) {
			from = s.Anchor
		}
		if at, ok2 := s.Next(from); ok2 && !at.After(t) {
			for {
				following, ok3 := s.Next(at)
				if !ok3 || following.After(t) {
					break
				}
				at = following
			}
			if spread := at.Add(s.Offset(id, at, next, ok)); spread.After(t) {
				return spread, true
			}
			break
		}
		if back == s.Jitter {
			break
		}
	}
	if !ok {
		return time.Time{}, false
	}
	following, ok := s.Next(next)
	return next.Add(s.Offset(id, next, following, ok)), true
}
