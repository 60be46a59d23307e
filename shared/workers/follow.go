package workers

import (
	"encoding/json"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/jobcenter/jobcenter/contracts"
)

// Follow keeps r from every tenant's heartbeats on nc until the subscription it returns
// is ended. A beat counts for the tenant and worker its subject names, whatever its body
// says: a tenant's NATS user may publish on its own subjects only.
func Follow(nc *nats.Conn, r *Registry) (*nats.Subscription, error) {
	return nc.Subscribe(contracts.WorkerBeatSubjects, func(m *nats.Msg) {
		tok := strings.Split(m.Subject, ".")
		if len(tok) != 5 {
			return
		}
		tenant, ok1 := contracts.ParseToken(tok[2])
		group, ok2 := contracts.ParseToken(tok[3])
		id, ok3 := contracts.ParseToken(tok[4])
		var b contracts.WorkerBeat
		if !ok1 || !ok2 || !ok3 || json.Unmarshal(m.Data, &b) != nil || b.ID != id || b.Group != group {
			return
		}
		r.Beat(tenant, b)
	})
}
