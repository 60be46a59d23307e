// Package calkv keeps tenants' calendars in a key-value bucket: the api writes them, and
// every trigger and api instance follows them into memory (Cache), the trigger telling
// its scheduler of each change. It decides nothing about what a calendar excludes:
// package calendar does.
package calkv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Bucket is where calendars are kept, by tenant and name.
const Bucket = "jobcenter_calendars"

// Open opens the bucket, creating it if it is missing.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	return bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "Tenants' calendars of excluded times, by tenant and name.",
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
}

// Stored is a calendar as kept: its tenant's, with who changed it last and when.
type Stored struct {
	Tenant      string         `json:"tenant"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Zone        string         `json:"timezone,omitempty"`
	Dates       []string       `json:"dates,omitempty"`
	Weekly      []StoredWindow `json:"weekly,omitempty"`
	Ranges      []StoredRange  `json:"ranges,omitempty"`
	Cron        string         `json:"cron,omitempty"`
	UpdatedAt   time.Time      `json:"updated_at"`
	UpdatedBy   string         `json:"updated_by,omitempty"`
	Revision    uint64         `json:"-"`
	compiled    *calendar.Compiled
}

// StoredWindow and StoredRange are a calendar's parts as kept.
type (
	StoredWindow struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	StoredRange struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	}
)

// Calendar is what the stored calendar defines.
func (s Stored) Calendar() calendar.Calendar {
	c := calendar.Calendar{Name: s.Name, Description: s.Description, Zone: s.Zone, Dates: s.Dates, Cron: s.Cron}
	for _, w := range s.Weekly {
		c.Weekly = append(c.Weekly, calendar.Window{From: w.From, To: w.To})
	}
	for _, r := range s.Ranges {
		c.Ranges = append(c.Ranges, calendar.Range{From: r.From, To: r.To})
	}
	return c
}

// Calendars is the bucket's calendars.
type Calendars struct{ KV jetstream.KeyValue }

// List returns the tenant's calendars by name.
func (c Calendars) List(ctx context.Context, tenant string) ([]Stored, error) {
	keys, err := c.KV.ListKeysFiltered(ctx, contracts.Token(tenant)+".>")
	if err != nil {
		return nil, fmt.Errorf("list calendars: %w", err)
	}
	var out []Stored
	for k := range keys.Keys() {
		s, err := c.get(ctx, k)
		if errors.Is(err, calendar.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		if s.Tenant == tenant {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Stored) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Get returns one of the tenant's calendars, calendar.ErrNotFound when it has none of
// that name.
func (c Calendars) Get(ctx context.Context, tenant, name string) (Stored, error) {
	if calendar.CheckName("name", name) != nil {
		return Stored{}, calendar.ErrNotFound
	}
	s, err := c.get(ctx, calendar.Key(tenant, name))
	if err == nil && s.Tenant != tenant {
		return Stored{}, calendar.ErrNotFound
	}
	return s, err
}

func (c Calendars) get(ctx context.Context, key string) (Stored, error) {
	e, err := c.KV.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Stored{}, calendar.ErrNotFound
	}
	if err != nil {
		return Stored{}, fmt.Errorf("read calendar: %w", err)
	}
	var s Stored
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return Stored{}, calendar.ErrNotFound
	}
	s.Revision = e.Revision()
	return s, nil
}

// Put stores a calendar: a new one (rev 0), refused when the tenant has
// calendar.MaxPerTenant already or one of its name, or a change of the one read at rev.
func (c Calendars) Put(ctx context.Context, s Stored, rev uint64) error {
	data, _ := json.Marshal(s)
	key := calendar.Key(s.Tenant, s.Name)
	if rev == 0 {
		have, err := c.List(ctx, s.Tenant)
		if err != nil {
			return err
		}
		if len(have) >= calendar.MaxPerTenant {
			return &job.ConflictError{Field: "name", Msg: fmt.Sprintf("the project has %d calendars, the most it may have: delete one first", calendar.MaxPerTenant)}
		}
		if _, err := c.KV.Create(ctx, key, data); err != nil {
			if errors.Is(err, jetstream.ErrKeyExists) {
				return &job.ConflictError{Field: "name", Msg: "a calendar of this name exists: change it with PUT"}
			}
			return fmt.Errorf("store calendar: %w", err)
		}
		return nil
	}
	if _, err := c.KV.Update(ctx, key, data, rev); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return &job.ConflictError{Field: "name", Msg: "the calendar was changed meanwhile: read it again"}
		}
		return fmt.Errorf("store calendar: %w", err)
	}
	return nil
}

// Delete removes a calendar.
func (c Calendars) Delete(ctx context.Context, tenant, name string) error {
	if err := c.KV.Purge(ctx, calendar.Key(tenant, name)); err != nil {
		return fmt.Errorf("delete calendar: %w", err)
	}
	return nil
}

// Cache holds every tenant's calendars, compiled, as the bucket has them.
type Cache struct {
	loc    *time.Location
	mu     sync.RWMutex
	byKey  map[string]*calendar.Compiled
	raw    map[string]string // what each key held, so a watch made again changes nothing
	loaded atomic.Bool
	// Changed, when not nil, is told of each calendar's change (nil: deleted) once the
	// cache holds it.
	Changed func(key string, c *calendar.Compiled)
}

// NewCache returns an empty cache reading zoneless calendars in loc; Follow fills it.
func NewCache(loc *time.Location) *Cache {
	return &Cache{loc: loc, byKey: map[string]*calendar.Compiled{}, raw: map[string]string{}}
}

// Get returns the calendar of key (Key), nil when there is none.
func (c *Cache) Get(key string) *calendar.Compiled {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byKey[key]
}

// Loaded reports whether the cache holds what the bucket held when it was first read.
func (c *Cache) Loaded() bool { return c != nil && c.loaded.Load() }

// Follow keeps the cache as the bucket is until ctx ends (bus.FollowBucket); loaded is
// called once the calendars stored before are held.
func (c *Cache) Follow(ctx context.Context, kv jetstream.KeyValue, loaded func(), log func(error)) {
	bus.FollowBucket(ctx, kv, func(e jetstream.KeyValueEntry) {
		var s Stored
		var compiled *calendar.Compiled
		if e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &s) == nil && calendar.Key(s.Tenant, s.Name) == e.Key() {
			var err error
			if compiled, err = s.Calendar().Compile(c.loc); err != nil {
				log(fmt.Errorf("calendar %s does not compile: %w", e.Key(), err))
			}
		}
		c.mu.Lock()
		old, had := c.raw[e.Key()]
		same := had == (compiled != nil) && old == string(e.Value())
		if compiled == nil {
			delete(c.byKey, e.Key())
			delete(c.raw, e.Key())
		} else {
			c.byKey[e.Key()], c.raw[e.Key()] = compiled, string(e.Value())
		}
		c.mu.Unlock()
		if c.Changed != nil && !same {
			c.Changed(e.Key(), compiled)
		}
	}, func() {
		c.loaded.Store(true)
		if loaded != nil {
			loaded()
		}
	}, log)
}
