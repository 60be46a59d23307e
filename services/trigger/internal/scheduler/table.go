package scheduler

// entry is what the loop keeps of a held job: 40 bytes. Everything else is in its record.
type entry struct {
	rec     string // the job's record; "" while the entry is free
	last    int64  // the scheduled instant of the last scheduled fire, Unix ns; 0 if none
	seq     int64  // the last run number given
	pos     int32  // the entry's slot in the queue; -1 when not queued
	started bool
}

// Entries live in pages of 1,024 that never move, so that holding more jobs copies none.
const pageBits = 10

// table is every held job: the entries, the index by id, and the queue of next fires.
// Only the loop touches it (and Load and Observe, before the loop runs).
type table struct {
	pages [][]entry
	used  int32 // entries ever taken: the next new one's number
	free  []int32
	ids   index
	q     queue
}

func (t *table) entry(e int32) *entry { return &t.pages[e>>pageBits][e&(1<<pageBits-1)] }

// find returns the entry of the job with compact id id and hash h, or -1.
func (t *table) find(id string, h uint64) int32 {
	return t.ids.find(h, func(e int32) bool { return hasID(t.entry(e).rec, id) })
}

// add takes a free entry for a job of hash h.
func (t *table) add(h uint64) int32 {
	var e int32
	if n := len(t.free); n > 0 {
		e, t.free = t.free[n-1], t.free[:n-1]
	} else {
		e = t.used
		t.used++
		if int(e>>pageBits) == len(t.pages) {
			t.pages = append(t.pages, make([]entry, 1<<pageBits))
		}
	}
	*t.entry(e) = entry{pos: -1}
	t.ids.insert(h, e)
	return e
}

// remove frees entry e, of hash h.
func (t *table) remove(e int32, h uint64) {
	t.unschedule(e)
	t.ids.remove(h, e)
	*t.entry(e) = entry{pos: -1}
	t.free = append(t.free, e)
}

// held is how many jobs the table holds.
func (t *table) held() int { return t.ids.n }
