// Package firing takes the scheduler's fires to JetStream: published asynchronously with
// the fire id as message id, retried until stored, and remembered once stored so that
// the job's progress is saved only for fires the stream really holds. It must not drop a
// fire, nor decide one: what fires and when is the scheduler's.
package firing

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// Metrics counts the fires stored, lateness after their scheduled instant.
type Metrics interface {
	Stored(f contracts.Fire, lateness time.Duration)
}

// Publisher is the scheduler's way to the broker.
type Publisher struct {
	js      jetstream.JetStream
	clock   clock.Clock
	metrics Metrics
	log     zerolog.Logger
	in      chan contracts.Fire
	pending chan inflight

	mu      sync.Mutex
	stored  map[string]job.Progress
	lastSeq uint64
	// inFlight counts fires sent and not yet recorded (asynchronous ones, and PublishNow's
	// while it waits); safeSeq is the
	// highest stream sequence at a moment none was: every fire at or below it is
	// recorded, whatever order the acknowledgements came in.
	inFlight int
	safeSeq  uint64

	// accepted counts the fires Publish queued, settled those of them stored since: the
	// queue is kept in order, so settled reaching a count of accepted means every fire
	// queued up to then is stored.
	accepted, settled atomic.Uint64

	draining chan struct{}
	done     chan struct{}
	halt     chan struct{}
	halted   sync.Once
}

type inflight struct {
	fire contracts.Fire
	msg  *nats.Msg
	ack  jetstream.PubAckFuture
}

// New returns a publisher; Run it. m (nil: none) counts the fires stored, as of clk.
func New(js jetstream.JetStream, clk clock.Clock, m Metrics, log zerolog.Logger) *Publisher {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Publisher{
		js:       js,
		clock:    clk,
		metrics:  m,
		log:      log,
		in:       make(chan contracts.Fire, 1<<16),
		pending:  make(chan inflight, 1<<16),
		stored:   make(map[string]job.Progress),
		draining: make(chan struct{}),
		done:     make(chan struct{}),
		halt:     make(chan struct{}),
	}
}

// Halt makes Publish refuse new fires at once, so that a scheduler blocked on a full
// queue (a long broker outage) can stop; the fires it holds are still drained.
func (p *Publisher) Halt() { p.halted.Do(func() { close(p.halt) }) }

// Publish queues a fire. It blocks only when 65,536 fires are already queued, and never
// once the publisher is halted or stopped (the fire is then left to the next active
// term, which finds it unstored and fires it).
func (p *Publisher) Publish(f contracts.Fire) {
	select {
	case p.in <- f:
		p.accepted.Add(1)
	case <-p.halt:
	case <-p.done:
	}
}

// PublishNow stores a fire synchronously and returns the run number it is stored with:
// f's own, or, when the stream held the fire already, the stored one's.
func (p *Publisher) PublishNow(ctx context.Context, f contracts.Fire) (seq int64, err error) {
	// Counted in flight until recorded: a checkpoint taken meanwhile must not pass the
	// stream sequence it may be stored at, or a crash would leave it out of the replay.
	p.mu.Lock()
	p.inFlight++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inFlight--
		p.mu.Unlock()
	}()
	ack, err := p.js.PublishMsg(ctx, message(f), jetstream.WithMsgID(f.FireID))
	if err != nil {
		return 0, err
	}
	if ack.Duplicate {
		stored, err := p.js.Stream(ctx, ack.Stream)
		if err != nil {
			return 0, err
		}
		raw, err := stored.GetMsg(ctx, ack.Sequence)
		if err != nil {
			return 0, err
		}
		was, err := wire.DecodeFire(raw.Data)
		if err != nil {
			return 0, err
		}
		f = was
	} else {
		p.noteStored(f)
	}
	p.record(f, ack.Sequence)
	return f.Seq, nil
}

// Run publishes queued fires until ctx ends or, after Drain, until the queue is empty
// and every fire is acknowledged.
func (p *Publisher) Run(ctx context.Context) {
	defer close(p.done)
	settled := make(chan struct{})
	go func() { defer close(settled); p.settle(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-p.in:
			if !p.send(ctx, f) {
				return
			}
		case <-p.draining:
			for {
				select {
				case f := <-p.in:
					if !p.send(ctx, f) {
						return
					}
					continue
				default:
				}
				close(p.pending)
				<-settled
				return
			}
		}
	}
}

// Drain stops taking fires and waits, within ctx, until those queued are stored.
func (p *Publisher) Drain(ctx context.Context) {
	close(p.draining)
	select {
	case <-p.done:
	case <-ctx.Done():
		p.log.Warn().Msg("fires still unacknowledged at shutdown; the next term re-fires what was not stored")
	}
}

func (p *Publisher) send(ctx context.Context, f contracts.Fire) bool {
	msg := message(f)
	for {
		p.mu.Lock()
		p.inFlight++
		p.mu.Unlock()
		ack, err := p.js.PublishMsgAsync(msg, jetstream.WithMsgID(f.FireID))
		if err == nil {
			p.pending <- inflight{fire: f, msg: msg, ack: ack}
			return true
		}
		p.mu.Lock()
		p.inFlight--
		p.mu.Unlock()
		p.log.Warn().Err(err).Str("tenant", f.Tenant).Str("job_id", f.JobID).Str("fire_id", f.FireID).Msg("fire publish refused; retrying")
		if !clock.Sleep(ctx, 100*time.Millisecond) {
			return false
		}
	}
}

// settle waits for acknowledgements in publish order and retries failed fires
// synchronously, which holds back new ones until the broker takes them again.
func (p *Publisher) settle(ctx context.Context) {
	for {
		var in inflight
		select {
		case <-ctx.Done():
			return
		case i, ok := <-p.pending:
			if !ok {
				return
			}
			in = i
		}
		var ack *jetstream.PubAck
		select {
		case ack = <-in.ack.Ok():
			if !ack.Duplicate {
				p.noteStored(in.fire)
			}
		case err := <-in.ack.Err():
			p.log.Warn().Err(err).Str("tenant", in.fire.Tenant).Str("job_id", in.fire.JobID).Str("fire_id", in.fire.FireID).
				Msg("fire not stored; retrying")
			if ack = p.retry(ctx, in); ack == nil {
				return
			}
			// A duplicate here is most likely the first attempt, stored after all.
			p.noteStored(in.fire)
		case <-ctx.Done():
			return
		}
		p.record(in.fire, ack.Sequence)
		p.mu.Lock()
		p.inFlight--
		p.mu.Unlock()
		p.settled.Add(1)
	}
}

// Accepted is how many fires Publish has queued so far.
func (p *Publisher) Accepted() uint64 { return p.accepted.Load() }

// WaitStored waits until the first n fires Publish queued are stored, reporting false if
// ctx ends first.
func (p *Publisher) WaitStored(ctx context.Context, n uint64) bool {
	for p.settled.Load() < n {
		if !clock.Sleep(ctx, 10*time.Millisecond) {
			return false
		}
	}
	return true
}

func (p *Publisher) retry(ctx context.Context, in inflight) *jetstream.PubAck {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ack, err := p.js.PublishMsg(actx, in.msg, jetstream.WithMsgID(in.fire.FireID))
		cancel()
		if err == nil {
			return ack
		}
		if !clock.Sleep(ctx, 250*time.Millisecond) {
			return nil
		}
	}
}

// noteStored counts and logs a fire stored for the first time.
func (p *Publisher) noteStored(f contracts.Fire) {
	late := p.clock.Now().Sub(f.ScheduledAt)
	if p.metrics != nil {
		p.metrics.Stored(f, late)
	}
	p.log.Debug().Str("tenant", f.Tenant).Str("job_id", f.JobID).Str("fire_id", f.FireID).Str("runtype", f.RunType).
		Str("triggerstatus", f.TriggerStatus).Dur("lateness", late).Msg("fire stored")
}

// Record notes a fire the stream holds at sequence seq (also used for fires replayed
// from the stream at start).
func (p *Publisher) record(f contracts.Fire, seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr := p.stored[f.JobID]
	p.stored[f.JobID] = pr.Fired(f.JobID, f.FireID, f.Seq)
	p.lastSeq = max(p.lastSeq, seq)
}

// Record is record for fires read back from the stream.
func (p *Publisher) Record(f contracts.Fire, seq uint64) { p.record(f, seq) }

// Take hands over the progress of fires stored since the last Take, and a stream
// sequence at or below which every fire of ours is in the map or an earlier one (the
// checkpoint the next start replays after). Give them back with Restore if saving fails.
func (p *Publisher) Take() (map[string]job.Progress, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inFlight == 0 {
		p.safeSeq = p.lastSeq
	}
	m := p.stored
	p.stored = make(map[string]job.Progress, len(m))
	return m, p.safeSeq
}

// Restore merges back progress that could not be saved.
func (p *Publisher) Restore(m map[string]job.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, pr := range m {
		p.stored[id] = p.stored[id].Merge(pr)
	}
}

func message(f contracts.Fire) *nats.Msg {
	data, _ := json.Marshal(f) // a struct of plain fields always marshals
	return &nats.Msg{Subject: contracts.FireSubject(f.Tenant, f.JobID), Data: data, Header: nats.Header{}}
}
