package trigger

import (
	"testing"
	"time"
)

func TestACommandIsRemovedOnceAppliedAndOlderThanTheWindow(t *testing.T) {
	l := &commandLog{window: 2 * time.Minute}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		sec            int
		last, ackFloor uint64
		want           uint64
	}{
		{0, 100, 100, 0},     // nothing is two minutes old yet
		{60, 250, 250, 0},    // still not
		{120, 400, 390, 100}, // what was stored by t0 is two minutes old and applied
		{180, 500, 120, 120}, // the trigger is behind: only what it applied
		{240, 500, 500, 400}, // the sample of 120 s
		{600, 900, 900, 500}, // quiet for a while: the newest sample old enough
	}
	for _, s := range steps {
		if got := l.observe(at(s.sec), s.last, s.ackFloor); got != s.want {
			t.Fatalf("at %d s: remove up to %d; want %d", s.sec, got, s.want)
		}
	}
	if len(l.samples) > 3 {
		t.Fatalf("%d samples kept; the old ones are let go", len(l.samples))
	}
}
