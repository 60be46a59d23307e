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

// Fired is p raised by a stored fire of job id: run number seq, named fireID. A fire named
// by an instant of the schedule (FireID) raises LastFire to that instant, not to when it
// ran (a jitter spreads it): every start counts from the instant, as the scheduler that
// fired it does.
func (p Progress) Fired(id, fireID string, seq int64) Progress {
	at, scheduled := ScheduledInstant(id, fireID)
	return p.Observe(seq, at, scheduled)
}

// Merge is the further of p and q in each part.
func (p Progress) Merge(q Progress) Progress { return p.Observe(q.Seq, q.LastFire, true) }
