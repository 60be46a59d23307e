package alertkv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/config"
)

// Deliveries' outcomes are kept in a bucket, not the store: they are read by key only
// (an alert's by its id, a tenant's newest by their numbers, counting down from the
// tenant's head), so neither a listing nor their retention scans anything, and the
// bucket's age removes them by itself.
const (
	DeliveriesBucket = "jobcenter_alert_deliveries"
	HeadsBucket      = "jobcenter_alert_heads"
)

// Keep is how long an alert's delivery outcome is kept after its last attempt: longer
// than the attempts at one alert can last (at most 100, 10 minutes apart).
var Keep = config.Span[time.Duration]{Key: "JOBCENTER_ALERTS_KEEP", Default: 7 * 24 * time.Hour, Min: 24 * time.Hour, Max: 365 * 24 * time.Hour}

// Delivery states.
const (
	Delivered = "delivered"
	// Retrying: the last attempt failed; another follows after a backoff.
	Retrying = "retrying"
	// Failed: given up on, or refused outright (Error says why).
	Failed = "failed"
)

// Delivery is an alert's delivery as its last attempt left it: which alert (of which
// rule, event, job and run), to where, when, and delivered or why not. Seq numbers it
// among its tenant's, in the order of their first attempts.
type Delivery struct {
	Seq         int64      `json:"seq"`
	ID          string     `json:"id"`
	Tenant      string     `json:"tenant"`
	RuleID      string     `json:"rule_id"`
	Event       string     `json:"event"`
	JobID       string     `json:"job_id,omitempty"`
	FireID      string     `json:"triggerid,omitempty"`
	Channel     string     `json:"channel"`
	Target      string     `json:"target"`
	RaisedAt    time.Time  `json:"raised_at"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastAttempt time.Time  `json:"last_attempt_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// Deliveries keeps deliveries' outcomes.
type Deliveries struct {
	KV    jetstream.KeyValue // the outcomes, and each alert's number
	Heads jetstream.KeyValue // each tenant's last number given
}

// OpenDeliveries opens the two buckets, creating them if they are missing: the outcomes'
// entries live keep after their last write; the heads, one small key a tenant, are kept.
func OpenDeliveries(ctx context.Context, js jetstream.JetStream, keep time.Duration, replicas int) (Deliveries, error) {
	kv, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: DeliveriesBucket, Description: "Alerts' delivery outcomes, by tenant and number, and each alert's number.",
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1), TTL: Keep.Or(keep),
	})
	if err != nil {
		return Deliveries{}, err
	}
	heads, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: HeadsBucket, Description: "Each tenant's last alert delivery number.",
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
	return Deliveries{KV: kv, Heads: heads}, err
}

func seqKey(tenant, alertID string) string {
	return "i." + contracts.Token(tenant) + "." + contracts.Token(alertID)
}
func recKey(tenant string, seq int64) string {
	return "d." + contracts.Token(tenant) + "." + strconv.FormatInt(seq, 10)
}

// Get reads an alert's delivery; ErrNotFound before its first attempt is recorded.
func (d Deliveries) Get(ctx context.Context, tenant, alertID string) (Delivery, error) {
	e, err := d.KV.Get(ctx, seqKey(tenant, alertID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Delivery{}, ErrNotFound
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("read alert delivery: %w", err)
	}
	seq, err := strconv.ParseInt(string(e.Value()), 10, 64)
	if err != nil {
		return Delivery{}, ErrNotFound
	}
	rec, err := d.record(ctx, tenant, seq)
	if err == nil && rec.ID != alertID {
		return Delivery{}, ErrNotFound
	}
	return rec, err
}

func (d Deliveries) record(ctx context.Context, tenant string, seq int64) (Delivery, error) {
	e, err := d.KV.Get(ctx, recKey(tenant, seq))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Delivery{Seq: seq}, ErrNotFound
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("read alert delivery: %w", err)
	}
	var rec Delivery
	if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Tenant != tenant {
		return Delivery{Seq: seq}, ErrNotFound
	}
	return rec, nil
}

// Put records an attempt's outcome, replacing the one before it; the first numbers the
// alert (rec.Seq is set).
func (d Deliveries) Put(ctx context.Context, rec *Delivery) error {
	if rec.Seq == 0 {
		seq, err := d.number(ctx, rec.Tenant, rec.ID)
		if err != nil {
			return err
		}
		rec.Seq = seq
	}
	data, _ := json.Marshal(rec)
	if _, err := d.KV.Put(ctx, recKey(rec.Tenant, rec.Seq), data); err != nil {
		return fmt.Errorf("record alert delivery: %w", err)
	}
	return nil
}

// number gives an alert its number: the one it has, or the tenant's next. Two instances
// numbering the same alert at once agree on one (the alert's key is created once); the
// other number is left unused, a gap a listing steps over.
func (d Deliveries) number(ctx context.Context, tenant, alertID string) (int64, error) {
	key := seqKey(tenant, alertID)
	if e, err := d.KV.Get(ctx, key); err == nil {
		if seq, err := strconv.ParseInt(string(e.Value()), 10, 64); err == nil {
			return seq, nil
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, fmt.Errorf("read alert number: %w", err)
	}
	seq, err := d.next(ctx, tenant)
	if err != nil {
		return 0, err
	}
	if _, err := d.KV.Create(ctx, key, []byte(strconv.FormatInt(seq, 10))); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, fmt.Errorf("number alert: %w", err)
		}
		e, gerr := d.KV.Get(ctx, key)
		if gerr != nil {
			return 0, fmt.Errorf("read alert number: %w", gerr)
		}
		return strconv.ParseInt(string(e.Value()), 10, 64)
	}
	return seq, nil
}

// next takes the tenant's next number, by compare-and-set of its head.
func (d Deliveries) next(ctx context.Context, tenant string) (int64, error) {
	key := contracts.Token(tenant)
	for try := 0; ; try++ {
		var head int64
		var rev uint64
		e, err := d.Heads.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, fmt.Errorf("read alert head: %w", err)
		default:
			rev = e.Revision()
			head, _ = strconv.ParseInt(string(e.Value()), 10, 64)
		}
		val := []byte(strconv.FormatInt(head+1, 10))
		if rev == 0 {
			_, err = d.Heads.Create(ctx, key, val)
		} else {
			_, err = d.Heads.Update(ctx, key, val, rev)
		}
		if err == nil {
			return head + 1, nil
		}
		if !conflict(err) || try == 100 {
			return 0, fmt.Errorf("number alert: %w", err)
		}
	}
}

// Filter narrows a listing; empty fields match all.
type Filter struct{ RuleID, JobID, Status string }

func (f Filter) match(d Delivery) bool {
	return (f.RuleID == "" || d.RuleID == f.RuleID) && (f.JobID == "" || d.JobID == f.JobID) && (f.Status == "" || d.Status == f.Status)
}

// How far a listing looks: it reads numbers in chunks, stops after this many in one
// call (answering where to go on), and ends once it finds a run of missing numbers
// (those below have aged out).
const (
	listChunk    = 32
	listMostRead = 4096
	listGapEnd   = 256
)

// List returns the tenant's deliveries that match f, newest first, at most limit, from
// the number before (0: the newest); next is where the following page starts, 0 when
// there is none.
func (d Deliveries) List(ctx context.Context, tenant string, f Filter, limit int, before int64) (out []Delivery, next int64, err error) {
	from := before - 1
	if before <= 0 {
		e, err := d.Heads.Get(ctx, contracts.Token(tenant))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return []Delivery{}, 0, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read alert head: %w", err)
		}
		from, _ = strconv.ParseInt(string(e.Value()), 10, 64)
	}
	out = []Delivery{}
	read, gap := 0, 0
	for seq := from; seq >= 1; {
		n := int(min(int64(listChunk), seq))
		recs := make([]Delivery, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { recs[i], errs[i] = d.record(ctx, tenant, seq-int64(i)) })
		}
		wg.Wait()
		for i := range n {
			read++
			switch {
			case errors.Is(errs[i], ErrNotFound):
				if gap++; gap >= listGapEnd {
					return out, 0, nil
				}
				continue
			case errs[i] != nil:
				return nil, 0, errs[i]
			}
			gap = 0
			if f.match(recs[i]) {
				out = append(out, recs[i])
			}
			if len(out) == limit || read >= listMostRead {
				if next = seq - int64(i); next <= 1 {
					next = 0
				}
				return out, next, nil
			}
		}
		seq -= int64(n)
	}
	return out, 0, nil
}
