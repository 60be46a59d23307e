package jobtable

// index finds a held job's entry by the hash of its id: open addressing with linear
// probing, 8 bytes a slot, where a Go map of the same would take about 50 bytes a job.
// It is split in 256 shards that grow one at a time, so that growing never holds the
// loop up for more than a shard's worth. The caller compares ids: the index only
// narrows the search to the entries whose hash matches.
type index struct {
	shards [256]shard
	n      int
}

type shard struct {
	slots []islot
	n     int
}

type islot struct {
	h uint32 // the low bits of the hash, which place the slot
	e int32  // the entry's number + 1; 0 is an empty slot
}

// find returns the entry with hash h for which is reports true, or -1.
func (x *index) find(h uint64, is func(e int32) bool) int32 {
	s := &x.shards[h>>56]
	if len(s.slots) == 0 {
		return -1
	}
	mask := uint32(len(s.slots) - 1)
	for i := uint32(h) & mask; ; i = (i + 1) & mask {
		sl := s.slots[i]
		if sl.e == 0 {
			return -1
		}
		if sl.h == uint32(h) && is(sl.e-1) {
			return sl.e - 1
		}
	}
}

// insert adds entry e with hash h; e must not be in the index.
func (x *index) insert(h uint64, e int32) {
	s := &x.shards[h>>56]
	// Grow at three quarters full: linear probing slows fast beyond.
	if 4*(s.n+1) > 3*len(s.slots) {
		old := s.slots
		s.slots = make([]islot, max(8, 2*len(old)))
		for _, sl := range old {
			if sl.e != 0 {
				s.place(sl)
			}
		}
	}
	s.place(islot{uint32(h), e + 1})
	s.n++
	x.n++
}

func (s *shard) place(sl islot) {
	mask := uint32(len(s.slots) - 1)
	i := sl.h & mask
	for s.slots[i].e != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = sl
}

// remove takes entry e, of hash h, out of the index. The slots after it that would
// not be found past the hole it leaves are moved back into it, so no tombstone is left.
func (x *index) remove(h uint64, e int32) {
	s := &x.shards[h>>56]
	mask := uint32(len(s.slots) - 1)
	i := uint32(h) & mask
	for s.slots[i].e != e+1 {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; s.slots[j].e != 0; j = (j + 1) & mask {
		// home is where the slot at j would be placed; it may fill the hole at i when
		// i lies on its way from home to j.
		home := s.slots[j].h & mask
		if (j-home)&mask >= (j-i)&mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = islot{}
	s.n--
	x.n--
}
