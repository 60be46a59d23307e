package job

import "time"

// Progress is how far a job has fired: the number of its last run (runs are numbered 1,
// 2, … per job, and an exec takes a number too) and the instant of its last scheduled
// fire, which its schedule goes on from (an exec is outside the schedule).
type Progress struct {
	Seq int64
	// LastFire is zero when the job has had no scheduled fire.
	LastFire time.Time
}

// Observe is p raised by a stored fire: run number seq, at instant at, which is an
// instant of the job's schedule when scheduled is true. Fires may be observed in any
// order and more than once.
func (p Progress) Observe(seq int64, at time.Time, scheduled bool) Progress {
	p.Seq = max(p.Seq, seq)
	if scheduled && at.After(p.LastFire) {
		p.LastFire = at
	}
	return p
}

// Merge is the further of p and q in each part.
func (p Progress) Merge(q Progress) Progress { return p.Observe(q.Seq, q.LastFire, true) }
