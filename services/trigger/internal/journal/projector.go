// Package journal keeps the journal projection: it reads fires and run results from
// JOBCENTER_RUNS in stream order and writes each run's entry, in batches. Its writes are
// upserts by the entry's id, so replaying the stream rebuilds the same journal.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// Consumer is the durable consumer's name.
const Consumer = "journal"

// Projector writes the journal.
type Projector struct {
	Store *mongostore.Store
	NC    *nats.Conn
	Log   zerolog.Logger
	// Batch bounds how many messages one write carries.
	Batch int
}

// Run projects until ctx ends.
func (p *Projector) Run(ctx context.Context, cons jetstream.Consumer) error {
	if p.Batch <= 0 {
		p.Batch = 512
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(p.Batch, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.Log.Warn().Err(err).Msg("journal fetch failed")
			sleep(ctx, 250*time.Millisecond)
			continue
		}
		var msgs []jetstream.Msg
		var writes []mongostore.JournalWrite
		heads := map[string]int64{}
		for msg := range batch.Messages() {
			w, head, err := Write(msg.Subject(), msg.Data())
			if err != nil {
				bus.Settle(p.NC, Consumer, msg, bus.Poison(err), p.Log)
				continue
			}
			msgs = append(msgs, msg)
			writes = append(writes, w)
			if head.JobID != "" {
				heads[head.JobID] = max(heads[head.JobID], head.Seq)
			}
		}
		if len(msgs) == 0 {
			continue
		}
		// A batch under way is finished even when shutdown begins: it is already fetched.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = p.Store.WriteJournal(wctx, writes, heads)
		cancel()
		for _, m := range msgs {
			bus.Settle(p.NC, Consumer, m, err, p.Log)
		}
	}
	return nil
}

// Head is a job's newest run number, which a fire raises.
type Head struct {
	JobID string
	Seq   int64
}

// Write turns a fire or run message into its journal change, and for a fire the job's
// new head.
func Write(subject string, data []byte) (mongostore.JournalWrite, Head, error) {
	switch {
	case strings.HasPrefix(subject, "jobcenter.fire."):
		var f contracts.Fire
		if err := json.Unmarshal(data, &f); err != nil {
			return mongostore.JournalWrite{}, Head{}, fmt.Errorf("fire does not decode: %w", err)
		}
		if f.JournalID == "" || f.JobID == "" || f.FireID == "" {
			return mongostore.JournalWrite{}, Head{}, errors.New("fire lacks journal_id, job_id or fire_id")
		}
		w := mongostore.JournalWrite{
			ID: f.JournalID,
			Set: bson.M{
				"jobId": f.JobID, "tenant": f.Tenant, "seq": f.Seq, "triggerId": f.FireID,
				"runType": f.RunType, "triggerStatus": contracts.TriggerFired,
				"triggerTime": f.ScheduledAt, "firedAt": f.FiredAt,
			},
			SetOnInsert: bson.M{"exeStatus": "waiting", "exeTotalTime": 0},
		}
		if f.TriggerStatus == contracts.TriggerMissed {
			// Never run: the entry is final as it is written.
			w.Set["triggerStatus"] = contracts.TriggerMissed
			w.Set["finalStatus"] = contracts.RunSkipped
			w.Set["exeDes"] = f.Detail
			w.Set["finalTime"] = f.FiredAt
		}
		return w, Head{JobID: f.JobID, Seq: f.Seq}, nil
	case strings.HasPrefix(subject, "jobcenter.run."):
		var r contracts.RunEvent
		if err := json.Unmarshal(data, &r); err != nil {
			return mongostore.JournalWrite{}, Head{}, fmt.Errorf("run event does not decode: %w", err)
		}
		if r.JournalID == "" || r.Status == "" {
			return mongostore.JournalWrite{}, Head{}, errors.New("run event lacks journal_id or status")
		}
		w := mongostore.JournalWrite{ID: r.JournalID, Max: bson.M{"exeTotalTime": r.Attempts}}
		if r.EndedAt == nil {
			w.Set = bson.M{"exeStatus": contracts.RunRunning, "exeStartTime": r.StartedAt, "runUpdate": r.StartedAt, "dynamicId": r.DynamicID}
		} else {
			w.Set = bson.M{"finalStatus": r.Status, "exeStartTime": r.StartedAt, "finalTime": *r.EndedAt, "exeDes": r.Detail, "dynamicId": r.DynamicID}
		}
		return w, Head{}, nil
	}
	return mongostore.JournalWrite{}, Head{}, fmt.Errorf("unexpected subject %q", subject)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
