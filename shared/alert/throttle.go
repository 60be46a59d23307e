package alert

import (
	"slices"
	"time"
)

// State is a throttled rule's memory of one job's events: kept between events, and
// written back after each (by compare-and-set), so that every trigger instance decides
// alike, before and after a restart.
type State struct {
	// Times are the events counted towards the next alert, oldest first: those within
	// the window, at most After of them.
	Times []time.Time `json:"times,omitempty"`
	// QuietUntil ends the silence that follows an alert.
	QuietUntil time.Time `json:"quiet_until,omitzero"`
	// Seen are the newest events' decisions, newest last: an event handled again (its
	// message redelivered) gets the decision it had.
	Seen []Decision `json:"seen,omitempty"`
}

// Decision is what the throttle decided of one event.
type Decision struct {
	Event string `json:"event"`
	Send  bool   `json:"send,omitempty"`
	// Count is how many events the alert sent stands for.
	Count int `json:"count,omitempty"`
}

// seenKept bounds State.Seen: an event comes again only while its batch is redelivered,
// long before this many later events of the same job.
const seenKept = 64

// Decide decides whether the event (id, at) is sent, and records it in s. Without a
// throttle, every event is sent. The event's own time counts, not the clock's: a
// redelivered or late event is decided as it happened.
func (t *Throttle) Decide(s *State, id string, at time.Time) Decision {
	if i := slices.IndexFunc(s.Seen, func(d Decision) bool { return d.Event == id }); i >= 0 {
		return s.Seen[i]
	}
	d := Decision{Event: id}
	switch {
	case t == nil:
		d.Send, d.Count = true, 1
	case at.Before(s.QuietUntil):
		// Silent: not counted either, so that the next alert needs After events anew.
	default:
		from := at.Add(-time.Duration(t.Within) * time.Second)
		s.Times = slices.DeleteFunc(s.Times, func(x time.Time) bool { return !x.After(from) })
		s.Times = append(s.Times, at)
		slices.SortFunc(s.Times, time.Time.Compare) // runs end out of order
		if len(s.Times) >= t.After {
			d.Send, d.Count = true, len(s.Times)
			s.Times = nil
			s.QuietUntil = at.Add(time.Duration(t.Silence) * time.Second)
		}
	}
	s.Seen = append(s.Seen, d)
	if len(s.Seen) > seenKept {
		s.Seen = slices.Delete(s.Seen, 0, len(s.Seen)-seenKept)
	}
	return d
}

// Stateless reports whether the throttle decides without memory: every event is sent.
func (t *Throttle) Stateless() bool {
	return t == nil || t.After <= 1 && t.Silence == 0
}

// StateKept is how long a job's state must outlive its last event: its window and its
// silence are at most a day each.
const StateKept = 2 * MaxWindow * time.Second
