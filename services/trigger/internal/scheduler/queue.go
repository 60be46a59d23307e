package scheduler

// queue is a min-heap of next fire times, held by value: each slot carries the time it is
// ordered by, so sifting reads one array rather than chasing a pointer per comparison.
// Each entry knows its slot, so a reschedule or removal is O(log n) without a search.
type queue []slot

type slot struct {
	at int64 // next fire, Unix nanoseconds
	e  int32 // the entry's number
}

func (t *table) less(i, j int) bool { return t.q[i].at < t.q[j].at }

func (t *table) swap(i, j int) {
	q := t.q
	q[i], q[j] = q[j], q[i]
	t.entry(q[i].e).pos, t.entry(q[j].e).pos = int32(i), int32(j)
}

// schedule queues entry e to fire at at, or moves it there if it is queued.
func (t *table) schedule(e int32, at int64) {
	en := t.entry(e)
	if en.pos < 0 {
		en.pos = int32(len(t.q))
		t.q = append(t.q, slot{at, e})
		t.up(int(en.pos))
		return
	}
	i := int(en.pos)
	t.q[i].at = at
	t.down(i)
	t.up(i)
}

// unschedule takes entry e out of the queue if it is in it.
func (t *table) unschedule(e int32) {
	en := t.entry(e)
	i := int(en.pos)
	if i < 0 {
		return
	}
	last := len(t.q) - 1
	t.swap(i, last)
	t.q = t.q[:last]
	en.pos = -1
	if i < last {
		t.down(i)
		t.up(i)
	}
}

// peek returns the earliest queued fire.
func (t *table) peek() (slot, bool) {
	if len(t.q) == 0 {
		return slot{}, false
	}
	return t.q[0], true
}

func (t *table) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

func (t *table) down(i int) {
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
