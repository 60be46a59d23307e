package jobtable

// Entry is what the loop keeps of a held job: 40 bytes. Everything else is in its record.
type Entry struct {
	Rec     string // the job's record; "" while the entry is free
	Last    int64  // the scheduled instant of the last scheduled fire, Unix ns; 0 if none
	Seq     int64  // the last run number given
	Pos     int32  // the entry's slot in the queue; -1 when not queued
	Started bool
}

// Entries live in pages of 1,024 that never move, so that holding more jobs copies none.
const pageBits = 10

// Table is every held job: the entries, the index by id, and the queue of next fires.
// Only the loop touches it (and Load and Observe, before the loop runs).
type Table struct {
	pages [][]Entry
	used  int32 // entries ever taken: the next new one's number
	free  []int32
	ids   index
	q     queue
}

func (t *Table) Entry(e int32) *Entry { return &t.pages[e>>pageBits][e&(1<<pageBits-1)] }

// Find returns the entry of the job with compact id id and hash h, or -1.
func (t *Table) Find(id string, h uint64) int32 {
	return t.ids.find(h, func(e int32) bool { return hasID(t.Entry(e).Rec, id) })
}

// Add takes a free entry for a job of hash h.
func (t *Table) Add(h uint64) int32 {
	var e int32
	if n := len(t.free); n > 0 {
		e, t.free = t.free[n-1], t.free[:n-1]
	} else {
		e = t.used
		t.used++
		if int(e>>pageBits) == len(t.pages) {
			t.pages = append(t.pages, make([]Entry, 1<<pageBits))
		}
	}
	*t.Entry(e) = Entry{Pos: -1}
	t.ids.insert(h, e)
	return e
}

// Remove frees entry e, of hash h.
func (t *Table) Remove(e int32, h uint64) {
	t.Unschedule(e)
	t.ids.remove(h, e)
	*t.Entry(e) = Entry{Pos: -1}
	t.free = append(t.free, e)
}

// Queued is how many jobs have a next fire.
func (t *Table) Queued() int { return len(t.q) }

// Used is how many entries were ever taken: every entry is numbered below it.
func (t *Table) Used() int32 { return t.used }

// Held is how many jobs the table holds.
func (t *Table) Held() int { return t.ids.n }
