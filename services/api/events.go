package api

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api/internal/jobcache"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// subscribe follows subjects on core NATS for one client of GET /api/v1/events:
// JetStream's publishes reach core subscribers too, so nothing is added to the streams.
// deliver must not block (the handler drops a slow client instead).
func (s *Service) subscribe(subjects []string, deliver func(subject string, data []byte)) (func(), error) {
	var subs []*nats.Subscription
	unsubscribe := func() {
		for _, sub := range subs {
			_ = sub.Unsubscribe()
		}
	}
	for _, subject := range subjects {
		sub, err := s.nc.Subscribe(subject, func(m *nats.Msg) { deliver(m.Subject, m.Data) })
		if err != nil {
			unsubscribe()
			return nil, err
		}
		subs = append(subs, sub)
	}
	// The subscriptions are in place on the server before the stream is answered.
	wait := s.cfg.BrokerTimeout
	if wait <= 0 {
		wait = time.Second
	}
	if err := s.nc.FlushTimeout(wait); err != nil {
		unsubscribe()
		return nil, err
	}
	return unsubscribe, nil
}

// followJobs makes the job cache and keeps it current: from every lifecycle event, and
// from the outcomes of this api's own writes, so that a read after a write answered 200
// shows it. When events may have been lost (the connection dropped, or the subscription
// fell behind and the client discarded messages) the cache forgets everything.
func (s *Service) followJobs() (*jobcache.Cache, error) {
	// The trigger writes a change to the store within a few store calls of its event.
	jobs := jobcache.New(s.cfg.CacheJobs, 2*s.cfg.StoreTimeout, s.cfg.Clock)
	s.cmd.OnApplied(func(p contracts.Job) { jobs.Learn(wire.JobFromPayload(p)) })
	sub, err := s.nc.Subscribe(contracts.EventSubjects, func(m *nats.Msg) {
		_, j, err := wire.EventJob(m.Subject, m.Data)
		if err != nil {
			s.cfg.Log.Warn().Err(err).Str("subject", m.Subject).Msg("event not learnt: not one the trigger recorded")
			return
		}
		jobs.Learn(j)
	})
	if err != nil {
		return nil, fmt.Errorf("follow job events: %w", err)
	}
	// Generous: the cache is cheap to feed, and a lost message costs the whole cache.
	if err := sub.SetPendingLimits(1<<20, 1<<30); err != nil {
		return nil, fmt.Errorf("follow job events: %w", err)
	}
	// Events published before the subscription was in place are missed: start as after
	// a gap.
	_ = s.nc.FlushTimeout(time.Second)
	jobs.Forget()
	o := s.nc.Opts
	s.nc.SetErrorHandler(func(c *nats.Conn, at *nats.Subscription, err error) {
		if at == sub && errors.Is(err, nats.ErrSlowConsumer) {
			jobs.Forget()
		}
		if o.AsyncErrorCB != nil {
			o.AsyncErrorCB(c, at, err)
		}
	})
	s.nc.SetDisconnectErrHandler(func(c *nats.Conn, err error) {
		jobs.Forget()
		if o.DisconnectedErrCB != nil {
			o.DisconnectedErrCB(c, err)
		}
	})
	s.nc.SetReconnectHandler(func(c *nats.Conn) {
		jobs.Forget()
		if o.ReconnectedCB != nil {
			o.ReconnectedCB(c)
		}
	})
	return jobs, nil
}
