// Package alertkv keeps alert rules and their throttles' state in key-value buckets, and
// publishes alerts to JOBCENTER_ALERTS: the api writes a tenant's rules, the trigger
// follows them into memory (Cache) and keeps each throttled rule's state per job by
// compare-and-set, so every instance, before and after a restart, decides alike. It
// decides nothing itself: package alert does.
package alertkv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/alert"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/job"
)

// The buckets.
const (
	RulesBucket = "jobcenter_alert_rules"
	StateBucket = "jobcenter_alert_state"
)

// ErrNotFound: no such rule in this tenant.
var ErrNotFound = errors.New("alert rule not found")

// OpenRules opens the rules' bucket, creating it if it is missing.
func OpenRules(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	return bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: RulesBucket, Description: "Tenants' alert rules, by tenant and rule id.",
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
}

// OpenStates opens the throttles' bucket: a job's state outlives its last event by its
// rule's longest window and silence, then goes.
func OpenStates(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	return bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: StateBucket, Description: "Alert throttles' state, by tenant, rule and job.",
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1), TTL: alert.StateKept,
	})
}

func ruleKey(tenant, id string) string { return contracts.Token(tenant) + "." + contracts.Token(id) }

// conflict reports whether a compare-and-set lost to another writer: a create of a key
// that exists, or an update of one written since it was read.
func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// NewID draws a rule's id.
func NewID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "rule-" + hex.EncodeToString(b)
}

// Rules is a tenant's rules in the bucket.
type Rules struct{ KV jetstream.KeyValue }

// List returns the tenant's rules, oldest first.
func (r Rules) List(ctx context.Context, tenant string) ([]alert.Rule, error) {
	keys, err := r.KV.ListKeysFiltered(ctx, contracts.Token(tenant)+".*")
	if err != nil {
		return nil, fmt.Errorf("list alert rules: %w", err)
	}
	var out []alert.Rule
	for k := range keys.Keys() {
		e, err := r.KV.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read alert rule: %w", err)
		}
		var rule alert.Rule
		if json.Unmarshal(e.Value(), &rule) == nil && rule.Tenant == tenant {
			out = append(out, rule)
		}
	}
	sortRules(out)
	return out, nil
}

func sortRules(rs []alert.Rule) {
	slices.SortFunc(rs, func(a, b alert.Rule) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Get returns one of the tenant's rules and its revision, ErrNotFound when it has none
// of that id.
func (r Rules) Get(ctx context.Context, tenant, id string) (alert.Rule, uint64, error) {
	e, err := r.KV.Get(ctx, ruleKey(tenant, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return alert.Rule{}, 0, ErrNotFound
	}
	if err != nil {
		return alert.Rule{}, 0, fmt.Errorf("read alert rule: %w", err)
	}
	var rule alert.Rule
	if err := json.Unmarshal(e.Value(), &rule); err != nil || rule.Tenant != tenant {
		return alert.Rule{}, 0, ErrNotFound
	}
	return rule, e.Revision(), nil
}

// Create stores a new rule, refused when the tenant has alert.MaxRules already.
func (r Rules) Create(ctx context.Context, rule alert.Rule) error {
	have, err := r.List(ctx, rule.Tenant)
	if err != nil {
		return err
	}
	if len(have) >= alert.MaxRules {
		return &job.ConflictError{Msg: fmt.Sprintf("the project has %d alert rules, the most it may have: delete one first", alert.MaxRules)}
	}
	data, _ := json.Marshal(rule)
	if _, err := r.KV.Create(ctx, ruleKey(rule.Tenant, rule.ID), data); err != nil {
		return fmt.Errorf("store alert rule: %w", err)
	}
	return nil
}

// Update replaces a rule read at revision rev; a rule changed since is a conflict.
func (r Rules) Update(ctx context.Context, rule alert.Rule, rev uint64) error {
	data, _ := json.Marshal(rule)
	if _, err := r.KV.Update(ctx, ruleKey(rule.Tenant, rule.ID), data, rev); err != nil {
		if conflict(err) {
			return &job.ConflictError{Msg: "the rule was changed meanwhile: read it again"}
		}
		return fmt.Errorf("store alert rule: %w", err)
	}
	return nil
}

// Delete removes a rule.
func (r Rules) Delete(ctx context.Context, tenant, id string) error {
	if err := r.KV.Purge(ctx, ruleKey(tenant, id)); err != nil {
		return fmt.Errorf("delete alert rule: %w", err)
	}
	return nil
}

// Cache holds every tenant's rules, as the bucket has them, for the trigger.
type Cache struct {
	mu     sync.RWMutex
	byKey  map[string]alert.Rule
	tenant map[string][]alert.Rule // by tenant
	loaded atomic.Bool
}

// NewCache returns an empty cache; Follow fills it.
func NewCache() *Cache {
	return &Cache{byKey: map[string]alert.Rule{}, tenant: map[string][]alert.Rule{}}
}

// Any reports whether the tenant has a rule (false until the cache is loaded).
func (c *Cache) Any(tenant string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.tenant[tenant]) > 0
}

// Of returns the tenant's rules; they must not be changed.
func (c *Cache) Of(tenant string) []alert.Rule {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tenant[tenant]
}

// Loaded reports whether the cache holds what the bucket held when it was first read.
func (c *Cache) Loaded() bool { return c != nil && c.loaded.Load() }

func (c *Cache) set(key string, rule *alert.Rule) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, had := c.byKey[key]
	if had {
		rs := c.tenant[old.Tenant]
		for i := range rs {
			if rs[i].ID == old.ID {
				// Copied, not changed in place: a reader may hold the old slice.
				rs = append(append([]alert.Rule(nil), rs[:i]...), rs[i+1:]...)
				break
			}
		}
		c.tenant[old.Tenant] = rs
		delete(c.byKey, key)
		if len(rs) == 0 {
			delete(c.tenant, old.Tenant)
		}
	}
	if rule != nil {
		c.byKey[key] = *rule
		c.tenant[rule.Tenant] = append(append([]alert.Rule(nil), c.tenant[rule.Tenant]...), *rule)
	}
}

// Follow keeps the cache as the bucket is until ctx ends (bus.FollowBucket). The
// journal waits for the rules to be read (an event is not let pass unalerted).
func (c *Cache) Follow(ctx context.Context, kv jetstream.KeyValue, log func(error)) {
	bus.FollowBucket(ctx, kv, func(e jetstream.KeyValueEntry) {
		var rule alert.Rule
		if e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &rule) == nil && ruleKey(rule.Tenant, rule.ID) == e.Key() {
			c.set(e.Key(), &rule)
		} else {
			c.set(e.Key(), nil)
		}
	}, func() { c.loaded.Store(true) }, log)
}

// States keeps throttled rules' state per job.
type States struct{ KV jetstream.KeyValue }

// Event is one event a throttle decides: its id and its own time.
type Event struct {
	ID string
	At time.Time
}

// DecideAll decides events of one job, in their order, for a throttled rule, keeping the
// rule's state for the job: read once, decided, written back once if it changed and no
// one wrote it meanwhile (else all again).
func (s States) DecideAll(ctx context.Context, rule alert.Rule, jobID string, events []Event) ([]alert.Decision, error) {
	key := ruleKey(rule.Tenant, rule.ID) + "." + contracts.Token(jobID)
	out := make([]alert.Decision, len(events))
	for try := 0; ; try++ {
		var st alert.State
		var rev uint64
		e, err := s.KV.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return nil, fmt.Errorf("read alert state: %w", err)
		default:
			rev = e.Revision()
			_ = json.Unmarshal(e.Value(), &st) // a state unreadable is begun anew
		}
		changed := false
		for i, ev := range events {
			d, ch := rule.Throttle.Decide(&st, ev.ID, ev.At)
			out[i], changed = d, changed || ch
		}
		if !changed {
			return out, nil
		}
		data, _ := json.Marshal(st)
		if rev == 0 {
			_, err = s.KV.Create(ctx, key, data)
		} else {
			_, err = s.KV.Update(ctx, key, data, rev)
		}
		if err == nil {
			return out, nil
		}
		if !conflict(err) || try == 100 {
			return nil, fmt.Errorf("write alert state: %w", err)
		}
	}
}

// Publish stores alerts in JOBCENTER_ALERTS, each once by its id, and waits for every
// acknowledgement.
func Publish(ctx context.Context, js jetstream.JetStream, alerts []contracts.Alert, log zerolog.Logger) error {
	msgs := make([]bus.Out, len(alerts))
	for i, a := range alerts {
		data, _ := json.Marshal(a)
		msgs[i] = bus.Out{Subject: contracts.AlertSubject(a.Tenant), ID: a.ID, Data: data}
	}
	acks, err := bus.PublishAll(ctx, js, msgs)
	if err != nil {
		return fmt.Errorf("raise alerts: %w", err)
	}
	for i, ack := range acks {
		if !ack.Duplicate {
			log.Info().Str("tenant", alerts[i].Tenant).Str("alert", alerts[i].ID).Msg("alert raised")
		}
	}
	return nil
}
