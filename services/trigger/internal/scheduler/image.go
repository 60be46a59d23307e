package scheduler

import (
	"context"
	"io"

	"github.com/jobcenter/jobcenter/services/trigger/internal/jobtable"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Cut returns an image of what the scheduler holds once every change queued before it
// is applied. The loop must be running.
func (s *Scheduler) Cut(ctx context.Context) (*jobtable.Image, error) {
	res := make(chan *jobtable.Image, 1)
	s.enqueue(op{fn: func() { res <- jobtable.Snapshot(&s.t, &s.sh) }}, false)
	select {
	case im := <-res:
		return im, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Import takes up an image written by Image.WriteTo into a new scheduler, before Run
// and instead of Load. A damaged image is an error, and leaves the scheduler empty.
func (s *Scheduler) Import(r io.Reader) (jobs int, err error) {
	return jobtable.Import(r, s.seed, &s.t, &s.sh)
}

// Apply makes a job change found after an image, before Run, as Put does while the loop
// runs.
func (s *Scheduler) Apply(j job.Job) {
	s.apply(s.prepare(&j, j.StartedAt, !j.Live()), nil)
	s.release()
}

// FinishSpent asks for every started job with no fire left to be finished, as Load does
// for each job it loads: a finish lost before the image was cut is asked for again.
func (s *Scheduler) FinishSpent() {
	for e := range s.t.Used() {
		en := s.t.Entry(e)
		if en.Rec != "" && en.Started && en.Pos < 0 {
			v := s.unpack(en.Rec)
			if _, ok := v.next(v.Anchor); ok && v.plan.FixedDelay {
				continue // waits for its run's end, not spent
			}
			s.cfg.Finisher.Finish(v.asJob())
		}
	}
}
