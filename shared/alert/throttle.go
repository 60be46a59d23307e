package alert

import (
	"slices"
	"time"
)

// State is a throttled rule's memory of one job's events: kept between events, and
// written back after each batch of them (by compare-and-set), so that every trigger
// instance decides alike, before and after a restart.
//
// An event handled again (its batch redelivered, a takeover) must get the decision it
// had, however many events came since: one counted is found among Counted, one that
// sent an alert among Sent, and any other was either silent or too old to count, which
// it still is (both are judged by its own time, against times that only move forward).
type State struct {
	// Counted are the events counted towards the next alert, oldest first: those within
	// the window of the newest, at most After of them.
	Counted []Counted `json:"counted,omitempty"`
	// QuietUntil ends the silence that follows an alert.
	QuietUntil time.Time `json:"quiet_until,omitzero"`
	// Sent are the newest events that sent an alert, newest last.
	Sent []Decision `json:"sent,omitempty"`
}

// Counted is an event counted towards an alert.
type Counted struct {
	Event string    `json:"event"`
	At    time.Time `json:"at"`
}

// Decision is what the throttle decided of one event.
type Decision struct {
	Event string `json:"event"`
	Send  bool   `json:"send,omitempty"`
	// Count is how many events the alert sent stands for.
	Count int `json:"count,omitempty"`
}

// SentKept bounds State.Sent: more than the alerts one journal batch (512 messages) can
// send for one job, so that a batch handled again finds every alert it sent.
const SentKept = 600

// Decide decides whether the event (id, at) is sent, and records it in s; changed is
// false when s is as it was (the event was decided before, or changes nothing). Without
// a throttle, every event is sent. The event's own time counts, not the clock's: a
// redelivered or late event is decided as it happened.
func (t *Throttle) Decide(s *State, id string, at time.Time) (d Decision, changed bool) {
	if t == nil {
		return Decision{Event: id, Send: true, Count: 1}, false
	}
	if i := slices.IndexFunc(s.Sent, func(d Decision) bool { return d.Event == id }); i >= 0 {
		return s.Sent[i], false
	}
	d = Decision{Event: id}
	if slices.ContainsFunc(s.Counted, func(c Counted) bool { return c.Event == id }) || at.Before(s.QuietUntil) {
		// Counted already, or silent: not counted either, so that the next alert needs
		// After events anew.
		return d, false
	}
	newest := at
	for _, c := range s.Counted {
		if c.At.After(newest) {
			newest = c.At
		}
	}
	from := newest.Add(-time.Duration(t.Within) * time.Second)
	if t.After > 1 && !at.After(from) {
		return d, false // outside the window of the newest event: it counts for nothing
	}
	s.Counted = append(s.Counted, Counted{Event: id, At: at})
	s.Counted = slices.DeleteFunc(s.Counted, func(c Counted) bool { return t.After > 1 && !c.At.After(from) })
	slices.SortFunc(s.Counted, func(a, b Counted) int { return a.At.Compare(b.At) }) // runs end out of order
	if len(s.Counted) >= t.After {
		d.Send, d.Count = true, len(s.Counted)
		s.Counted = nil
		s.QuietUntil = newest.Add(time.Duration(t.Silence) * time.Second)
		s.Sent = append(s.Sent, d)
		if len(s.Sent) > SentKept {
			s.Sent = slices.Delete(s.Sent, 0, len(s.Sent)-SentKept)
		}
	}
	return d, true
}

// Stateless reports whether the throttle decides without memory: every event is sent.
func (t *Throttle) Stateless() bool {
	return t == nil || t.After <= 1 && t.Silence == 0
}

// StateKept is how long a job's state must outlive its last event: its window and its
// silence are at most a day each.
const StateKept = 2 * MaxWindow * time.Second
