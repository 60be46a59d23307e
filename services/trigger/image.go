package trigger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/jobtable"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// The scheduler's image: what the active trigger held at one instant, kept in a JetStream
// object store so that any instance taking over can start from it. Loading a million jobs
// from the store takes minutes (FerretDB decodes each document); an image, a few seconds.
//
// An image is cut at a moment that the streams can be replayed after:
//   - the command processor is between batches and the commands consumer has nothing
//     delivered and unacknowledged, so every lifecycle event recorded so far is in the
//     scheduler and none is half applied. The events recorded after the image's
//     events_seq are replayed on top of it.
//   - the runs stream's last sequence, read just before, is runs_seq: every fire stored
//     up to it was made before the cut. The fires stored after it are replayed as after a
//     store load. Those made before the cut but not stored yet are waited for before the
//     image is stored: an image never claims a fire the stream does not hold.
const (
	ImageBucket = "jobcenter_images"
	imageObject = "trigger"
	metaEvents  = "events_seq"
	metaRuns    = "runs_seq"
	metaJobs    = "jobs"
)

func (s *Service) imageStore(ctx context.Context) (jetstream.ObjectStore, error) {
	return bus.EnsureObjectStore(ctx, s.ijs, jetstream.ObjectStoreConfig{
		Bucket:      ImageBucket,
		Description: "The trigger's last image of its scheduler, which a start takes up instead of loading every job.",
		Storage:     jetstream.FileStorage,
		Replicas:    max(s.cfg.Streams.Replicas, 1),
	})
}

// imager cuts and stores images during one active term.
type imager struct {
	s     *Service
	t     *term
	obs   jetstream.ObjectStore
	cmds  jetstream.Consumer
	every time.Duration
	log   zerolog.Logger

	due     atomic.Bool // an image is wanted at the processor's next pause
	storing atomic.Bool
	notTill time.Time // the processor's: no new attempt before
	missed  int       // the processor's: attempts in a row that found no cut point
	// wg is the image being stored, if any: waited for once the processor has stopped,
	// as only the processor starts one.
	wg sync.WaitGroup
}

// run asks for an image every interval until ctx ends.
func (im *imager) run(ctx context.Context) { every(ctx, im.every, func() { im.due.Store(true) }) }

// pause is the command processor's Pause: when an image is due it cuts one, then stores
// it on a goroutine of its own.
func (im *imager) pause(ctx context.Context) {
	if im.obs == nil || !im.due.Load() || im.storing.Load() || time.Now().Before(im.notTill) {
		return
	}
	events, runs, err := im.cutPoint(ctx)
	if err != nil {
		// Retried a little later: the commands may be settling, or the broker away. A
		// command given back again and again (its job's store writes failing) keeps every
		// cut away: said once a minute, as restarts then replay from an older image.
		im.notTill = time.Now().Add(time.Second)
		if im.missed++; im.missed%60 == 0 {
			im.log.Warn().Err(err).Int("attempts", im.missed).Msg("no scheduler image could be cut")
		} else {
			im.log.Debug().Err(err).Msg("no image cut now")
		}
		return
	}
	im.missed = 0
	// The loop takes the cut between passes; one held up by a full publisher queue (a
	// burst) must not hold the commands up for long.
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	cut, err := im.t.sched.Cut(cctx)
	cancel()
	if err != nil {
		// The abandoned cut is still made once the loop gets to it: ask for no other
		// before the next interval, so that they do not pile up behind a busy loop.
		im.notTill = time.Now().Add(im.every)
		return
	}
	made := im.t.pub.Accepted()
	im.due.Store(false)
	im.storing.Store(true)
	im.wg.Go(func() {
		defer im.storing.Store(false)
		// A failure waits for the next interval: storing again at once would send another
		// hundred megabytes to a broker that just refused them.
		if err := im.store(ctx, cut, made, events, runs); err != nil && ctx.Err() == nil {
			im.log.Warn().Err(err).Dur("next_in", im.every).Msg("storing the scheduler's image failed")
		}
	})
}

// cutPoint reads the streams' positions an image cut now is consistent with, once the
// commands consumer has no command delivered and unacknowledged. Acknowledgements are
// asynchronous: the processor's own last batch may take a moment to show as settled.
func (im *imager) cutPoint(ctx context.Context) (events, runs uint64, err error) {
	for try := 0; ; try++ {
		info, err := im.cmds.Info(ctx)
		if err != nil {
			return 0, 0, err
		}
		if info.NumAckPending == 0 {
			break
		}
		if try == 5 {
			return 0, 0, fmt.Errorf("%d commands delivered and not settled", info.NumAckPending)
		}
		if !clock.Sleep(ctx, 20*time.Millisecond) {
			return 0, 0, ctx.Err()
		}
	}
	ev, err := im.s.streams.Info(ctx, contracts.StreamEvents)
	if err != nil {
		return 0, 0, err
	}
	ru, err := im.s.streams.Info(ctx, contracts.StreamRuns)
	if err != nil {
		return 0, 0, err
	}
	return ev.State.LastSeq, ru.State.LastSeq, nil
}

// store waits for the fires made before the cut to be stored, then stores the image.
func (im *imager) store(ctx context.Context, cut *jobtable.Image, made, events, runs uint64) error {
	began := time.Now()
	if !im.t.pub.WaitStored(ctx, made) {
		return ctx.Err()
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := cut.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	info, err := im.obs.Put(ctx, jetstream.ObjectMeta{Name: imageObject, Metadata: map[string]string{
		metaEvents: strconv.FormatUint(events, 10), metaRuns: strconv.FormatUint(runs, 10),
		metaJobs: strconv.Itoa(cut.Jobs()),
	}}, pr)
	_ = pr.CloseWithError(errors.New("image not stored")) // ends the writer if Put gave up early
	if err != nil {
		return err
	}
	im.s.metrics.Imaged(time.Now(), int64(info.Size))
	im.log.Info().Int("jobs", cut.Jobs()).Uint64("bytes", info.Size).Dur("took", time.Since(began)).
		Uint64("events_seq", events).Uint64("runs_seq", runs).Msg("scheduler image stored")
	return nil
}

// loadImage takes up the last image in obs into t's scheduler, then the lifecycle events
// recorded after it, and returns the runs stream's sequence the image is consistent
// with. It reports false when there is no image (or no obs: lead said why) or it cannot
// be used — damaged, the streams recreated or no longer holding what followed it, the
// object store out of reach — saying why: the start then loads from the store, which the
// image only spares.
func (s *Service) loadImage(ctx context.Context, t *term, obs jetstream.ObjectStore) (ok bool, runs uint64) {
	if obs == nil {
		return false, 0
	}
	log := s.cfg.Log.With().Str("part", "image").Logger()
	ok, runs, err := s.takeUp(ctx, t, obs, log)
	if err != nil {
		log.Warn().Err(err).Msg("the scheduler's image cannot be used; loading from the store")
		return false, 0
	}
	return ok, runs
}

func (s *Service) takeUp(ctx context.Context, t *term, obs jetstream.ObjectStore, log zerolog.Logger) (ok bool, runs uint64, err error) {
	info, err := obs.GetInfo(ctx, imageObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("scheduler image: %w", err)
	}
	events, err1 := strconv.ParseUint(info.Metadata[metaEvents], 10, 64)
	runs, err2 := strconv.ParseUint(info.Metadata[metaRuns], 10, 64)
	if err1 != nil || err2 != nil {
		return false, 0, errors.New("the image does not say where the streams were")
	}
	for _, c := range []struct {
		stream string
		seq    uint64
	}{{contracts.StreamEvents, events}, {contracts.StreamRuns, runs}} {
		if err := s.follows(ctx, c.stream, c.seq, info.ModTime); err != nil {
			return false, 0, err
		}
	}
	res, err := obs.Get(ctx, imageObject)
	if err != nil {
		return false, 0, fmt.Errorf("scheduler image: %w", err)
	}
	defer res.Close()
	n, err := t.sched.Import(res)
	if err != nil {
		return false, 0, err
	}
	applied, err := s.replayEvents(ctx, t, events)
	if err != nil {
		return false, 0, err
	}
	log.Info().Int("jobs", n).Int("events_replayed", applied).Time("cut", info.ModTime).Msg("scheduler image taken up")
	return true, runs, nil
}

// follows checks that stream still holds every message after seq, and is the stream the
// image was cut against: not one created since (at cut), which numbers anew.
func (s *Service) follows(ctx context.Context, stream string, seq uint64, cut time.Time) error {
	info, err := s.streams.Info(ctx, stream)
	if err != nil {
		return err
	}
	last, first := info.State.LastSeq, info.State.FirstSeq
	switch {
	case !cut.IsZero() && info.Created.After(cut):
		return fmt.Errorf("%s stream was created at %s, after the image: it was recreated", stream, info.Created.Format(time.RFC3339))
	case last < seq:
		return fmt.Errorf("%s stream ends at %d, before the image's %d: it was recreated", stream, last, seq)
	case last > seq && first > seq+1:
		return fmt.Errorf("%s stream starts at %d: what followed the image's %d is gone", stream, first, seq)
	}
	return nil
}

// replayEvents applies the lifecycle events recorded after seq, in order, as the command
// processor applied them.
func (s *Service) replayEvents(ctx context.Context, t *term, seq uint64) (int, error) {
	n := 0
	_, err := s.streams.ReplayFrom(ctx, contracts.StreamEvents, contracts.EventSubjects, seq+1, func(subject string, data []byte, sseq uint64) error {
		_, j, err := wire.EventJob(subject, data)
		if err != nil {
			// The trigger records events itself, so this one is not its own: something
			// else wrote to the stream. It was never applied, and is not now.
			s.cfg.Log.Warn().Err(err).Str("subject", subject).Uint64("seq", sseq).Msg("event not applied: not one the trigger recorded")
			return nil
		}
		t.sched.Apply(j)
		n++
		return nil
	})
	return n, err
}
