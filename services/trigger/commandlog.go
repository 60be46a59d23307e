package trigger

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
)

// JOBCENTER_COMMANDS keeps a command until it is applied and for the duplicate window
// after it was stored: within the window a request sent again is dropped by the broker
// as a duplicate (and answered with its kept outcome), and the window is kept whole
// whatever the broker does with the ids of removed messages. After that the command is
// removed: the lifecycle events it made are the truth, and a write repeated later is
// answered from the kept outcomes.

// trimEvery is how often the active trigger removes the commands no longer needed: an
// eighth of the window, from a second to 15 s.
func trimEvery(window time.Duration) time.Duration {
	return min(max(window/8, time.Second), 15*time.Second)
}

// commandLog removes applied commands once they are older than window. It knows a
// command's age by sampling the stream's last sequence as time goes: a sample taken
// window ago bounds the commands stored before it.
type commandLog struct {
	js      jetstream.JetStream
	cons    jetstream.Consumer
	window  time.Duration
	now     func() time.Time
	log     zerolog.Logger
	samples []sample
}

type sample struct {
	at   time.Time
	last uint64 // the stream's last sequence then
}

// trim samples the stream and removes what may go.
func (l *commandLog) trim(ctx context.Context) {
	st, err := l.js.Stream(ctx, contracts.StreamCommands)
	if err != nil {
		l.log.Debug().Err(err).Msg("commands not trimmed")
		return
	}
	info, err := st.Info(ctx)
	if err != nil {
		l.log.Debug().Err(err).Msg("commands not trimmed")
		return
	}
	ci, err := l.cons.Info(ctx)
	if err != nil {
		l.log.Debug().Err(err).Msg("commands not trimmed")
		return
	}
	now := l.now()
	upTo := l.observe(now, info.State.LastSeq, ci.AckFloor.Stream)
	if upTo < info.State.FirstSeq {
		return
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(upTo+1)); err != nil {
		l.log.Warn().Err(err).Msg("applied commands not removed; tried again later")
	}
}

// observe records the stream's last sequence at now and returns the last command that
// may be removed: applied (at or below the consumer's ack floor) and stored before the
// newest sample at least window old (0: none yet).
func (l *commandLog) observe(now time.Time, last, ackFloor uint64) uint64 {
	l.samples = append(l.samples, sample{now, last})
	var old uint64
	keep := 0
	for i, s := range l.samples {
		if now.Sub(s.at) >= l.window {
			old, keep = s.last, i
		}
	}
	// The samples before the newest old one are not needed again.
	l.samples = l.samples[keep:]
	return min(old, ackFloor)
}
