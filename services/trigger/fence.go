package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/clock"
)

// A trigger that lost its lease may still have fires in its buffers (cut off from the
// broker, they are sent once it is back): stored after its successor began, they would
// take run numbers the successor gives to other fires, and one of each pair would be
// missing from the journal. So each term opens with a marker in JOBCENTER_RUNS, written
// after the last one by compare-and-set, and every fire the term publishes is stored
// only while that marker is the last (firing.Publisher.Fence). The successor writes its
// marker before it replays the stream: a fire of the old term is either stored before
// it, and replayed, or refused.

// openFence writes this term's marker after the last one and returns its sequence.
func (s *Service) openFence(ctx context.Context, term uint64) (uint64, error) {
	runs, err := s.js.Stream(ctx, contracts.StreamRuns)
	if err != nil {
		return 0, fmt.Errorf("term marker: %w", err)
	}
	for range 8 {
		var last uint64
		m, err := runs.GetLastMsgForSubject(ctx, contracts.FenceSubject)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return 0, fmt.Errorf("read the last term marker: %w", err)
		default:
			last = m.Sequence
		}
		seq, err := s.writeFence(ctx, term, last)
		if wrongLastSequence(err) {
			continue // another instance wrote one meanwhile: after it, then
		}
		return seq, err
	}
	return 0, errors.New("term marker: the last one kept changing")
}

// writeFence writes a term marker if the last one is at after (0: none), and returns its
// sequence.
func (s *Service) writeFence(ctx context.Context, term, after uint64) (uint64, error) {
	data, _ := json.Marshal(contracts.TermMarker{V: contracts.Version, Instance: s.cfg.InstanceID, Term: term, At: s.cfg.Clock.Now().UTC()})
	ack, err := s.js.Publish(ctx, contracts.FenceSubject, data, jetstream.WithExpectLastSequencePerSubject(after))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// keepFence writes the term's marker again, after the one at seq, well within the
// stream's age, which would otherwise remove it and with it every later fire's fence.
// It reports an error when another term's marker came after this one's: this term must
// end.
func (s *Service) keepFence(ctx context.Context, t *term, term, seq uint64) error {
	every := max(s.cfg.Streams.RunsMaxAge/4, 10*time.Second)
	for clock.Sleep(ctx, every) {
		next, err := s.writeFence(ctx, term, seq)
		switch {
		case wrongLastSequence(err):
			return errors.New("another trigger's term began: this one ends")
		case err != nil:
			if ctx.Err() == nil {
				s.cfg.Log.Warn().Err(err).Msg("term marker not written again; tries again")
			}
			every = 5 * time.Second
			continue
		}
		seq = next
		t.pub.Fence(seq)
		every = max(s.cfg.Streams.RunsMaxAge/4, 10*time.Second)
	}
	return nil
}

// wrongLastSequence: a compare-and-set on a subject's last message lost.
func wrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
