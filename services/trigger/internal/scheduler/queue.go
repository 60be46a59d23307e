package scheduler

import "time"

// queue is a min-heap of entries by next fire time. Each entry knows its index, so a
// reschedule or removal is O(log n) without a search.
type queue []*entry

func (q queue) less(i, j int) bool { return q[i].next.Before(q[j].next) }

func (q queue) swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *queue) push(e *entry) {
	e.index = len(*q)
	*q = append(*q, e)
	q.up(e.index)
}

// remove takes e out of the queue if it is in it.
func (q *queue) remove(e *entry) {
	i := e.index
	if i < 0 || i >= len(*q) || (*q)[i] != e {
		return
	}
	last := len(*q) - 1
	q.swap(i, last)
	(*q)[last] = nil
	*q = (*q)[:last]
	e.index = -1
	if i < last {
		q.down(i)
		q.up(i)
	}
}

// fix restores order after e.next changed.
func (q *queue) fix(e *entry) {
	q.down(e.index)
	q.up(e.index)
}

func (q queue) peek() (time.Time, bool) {
	if len(q) == 0 {
		return time.Time{}, false
	}
	return q[0].next, true
}

func (q queue) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			return
		}
		q.swap(i, p)
		i = p
	}
}

func (q queue) down(i int) {
	n := len(q)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			return
		}
		q.swap(i, m)
		i = m
	}
}
