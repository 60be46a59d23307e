package jobtable

import "time"

// queue is a min-heap of next fire times, held by value: each slot carries the time it is
// ordered by, so sifting reads one array rather than chasing a pointer per comparison.
// Each entry knows its slot, so a reschedule or removal is O(log n) without a search.
type queue []Slot

type Slot struct {
	At int64 // next fire, Unix nanoseconds
	E  int32 // the entry's number
	// Spread is how many milliseconds after its instant the fire is (its job's jitter):
	// its instant, which names the fire, is At less Spread. It fills the slot's padding.
	Spread uint32
}

func (t *Table) less(i, j int) bool { return t.q[i].At < t.q[j].At }

func (t *Table) swap(i, j int) {
	q := t.q
	q[i], q[j] = q[j], q[i]
	t.Entry(q[i].E).Pos, t.Entry(q[j].E).Pos = int32(i), int32(j)
}

// Schedule queues entry e to fire at at, or moves it there if it is queued.
func (t *Table) Schedule(e int32, at int64) { t.ScheduleSpread(e, at, 0) }

// ScheduleSpread queues entry e to fire at at, spread ms milliseconds after its instant.
func (t *Table) ScheduleSpread(e int32, at int64, spread uint32) {
	en := t.Entry(e)
	if en.Pos < 0 {
		en.Pos = int32(len(t.q))
		t.q = append(t.q, Slot{at, e, spread})
		t.up(int(en.Pos))
		return
	}
	i := int(en.Pos)
	t.q[i].At, t.q[i].Spread = at, spread
	t.down(i)
	t.up(i)
}

// SlotOf is queued entry e's slot.
func (t *Table) SlotOf(e int32) Slot { return t.q[t.Entry(e).Pos] }

// Instant is the slot's instant: its fire time less its spread.
func (sl Slot) Instant() int64 { return sl.At - int64(sl.Spread)*int64(time.Millisecond) }

// Unschedule takes entry e out of the queue if it is in it.
func (t *Table) Unschedule(e int32) {
	en := t.Entry(e)
	i := int(en.Pos)
	if i < 0 {
		return
	}
	last := len(t.q) - 1
	t.swap(i, last)
	t.q = t.q[:last]
	en.Pos = -1
	if i < last {
		t.down(i)
		t.up(i)
	}
}

// Peek returns the earliest queued fire.
func (t *Table) Peek() (Slot, bool) {
	if len(t.q) == 0 {
		return Slot{}, false
	}
	return t.q[0], true
}

func (t *Table) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

func (t *Table) down(i int) {
	n := len(t.q)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.less(r, l) {
			m = r
		}
		if !t.less(m, i) {
			return
		}
		t.swap(i, m)
		i = m
	}
}
