package api

import (
	"time"

	"github.com/nats-io/nats.go"
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
