// Package worker runs a tenant's flows and Quartz behaviours in the tenant's own
// process: a worker joins a group of Job Center's workers, and the center hands it the
// fires of the jobs that group serves, by each job's route.
//
//	w, err := worker.New(worker.Config{URL: "nats://127.0.0.1:4222", Tenant: "P", Key: key, Group: "reports"})
//	w.Handle("daily-report", func(ctx context.Context, t *worker.Task) (any, error) {
//		t.Log("building the report for " + t.ScheduledAt.Format(time.DateOnly))
//		return map[string]int{"rows": 42}, nil
//	})
//	err = w.Run(ctx) // until ctx ends; then the runs under way finish
//
// A worker sends a heartbeat every two seconds; one not heard of for six has left its
// group, and a run it had under way is journaled interrupted (once: its end, should it
// come later, is not journaled). While no worker of a group is online its fires wait
// (the job's misfire grace). A handler's context ends when its run is killed or its time
// is up: return then.
package worker

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobcenter/jobcenter/contracts"
)

// Config says where a worker connects and what it is.
type Config struct {
	// URL is the center's NATS (nats://host:4222).
	URL string
	// Tenant is the project (tecode) whose fires it runs; Key the tenant's API key, its
	// NATS password when the center has NATS authentication on.
	Tenant, Key string
	// Group is the worker group it joins: letters, digits, '-' and '_'.
	Group string
	// Capacity is how many runs it makes at once (default 8); a run past it goes to
	// another worker of the group.
	Capacity int
	// Host and Version are what the registry shows of it (default: the host name, the
	// program's module version).
	Host, Version string
}

// Handler runs one run (one shard of a sharded run); what it returns is the run's
// result (any JSON value), an error fails it.
type Handler func(ctx context.Context, t *Task) (any, error)

// Task is a run handed to the worker.
type Task struct {
	JobID, FireID, RunID string
	// Handler is the flow or behaviour run; Attempt counts the run's tries from 1.
	Handler     string
	Attempt     int
	ScheduledAt time.Time
	// Params are the run's parameters, when it was started with them.
	Params json.RawMessage
	// Shard is this worker's part of a sharded run (nil otherwise).
	Shard *contracts.Shard

	w        *Worker
	progress string
	mu       sync.Mutex
	lines    []string
}

// Log adds a line to the run's log: the journal shows it, and it is followed live.
func (t *Task) Log(line string) {
	t.mu.Lock()
	t.lines = append(t.lines, line)
	t.mu.Unlock()
	t.send(contracts.WorkerProgress{V: contracts.Version, FireID: t.FireID, RunID: t.RunID, Lines: []string{line}})
}

// Progress says how far the run is, from 0 to 1.
func (t *Task) Progress(done float64) {
	t.send(contracts.WorkerProgress{V: contracts.Version, FireID: t.FireID, RunID: t.RunID, Progress: &done})
}

func (t *Task) send(p contracts.WorkerProgress) {
	data, _ := json.Marshal(p)
	_ = t.w.nc.Publish(t.progress, data)
}

// Worker is a running worker. Handle each flow or behaviour before Run.
type Worker struct {
	cfg      Config
	id       string
	since    time.Time
	handlers map[string]Handler
	nc       *nats.Conn
	joined   chan struct{}
	joinOnce sync.Once

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc // by run id (and shard)
	leaving bool
	wg      sync.WaitGroup
}

// New checks cfg; the worker connects when it runs.
func New(cfg Config) (*Worker, error) {
	switch {
	case cfg.URL == "":
		return nil, errors.New("worker: URL is required (the center's NATS, nats://host:4222)")
	case cfg.Tenant == "":
		return nil, errors.New("worker: Tenant is required")
	case !validGroup(cfg.Group):
		return nil, fmt.Errorf("worker: Group %q must be 1 to 64 letters, digits, '-' or '_'", cfg.Group)
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = 8
	}
	if cfg.Host == "" {
		cfg.Host, _ = os.Hostname()
	}
	if cfg.Version == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			cfg.Version = bi.Main.Version
		}
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Worker{cfg: cfg, id: hex.EncodeToString(b), handlers: map[string]Handler{}, joined: make(chan struct{}),
		running: map[string]context.CancelCauseFunc{}}, nil
}

func validGroup(g string) bool {
	return g != "" && len(g) <= 64 && !strings.ContainsFunc(g, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
}

// ID is the worker's id in the registry.
func (w *Worker) ID() string { return w.id }

// Joined is closed once Run has connected and the worker's first heartbeat is sent: the
// center hands it runs from then on.
func (w *Worker) Joined() <-chan struct{} { return w.joined }

// Handle runs fn for the runs of the flow or behaviour name.
func (w *Worker) Handle(name string, fn Handler) { w.handlers[name] = fn }

// Run connects, joins the group and runs what it is handed until ctx ends; then it
// leaves the group (it takes no new run), lets its runs under way end and returns.
func (w *Worker) Run(ctx context.Context) error {
	if len(w.handlers) == 0 {
		return errors.New("worker: nothing to run: Handle a flow or behaviour first")
	}
	// NATS gives up on a connection it may not reconnect (a key no longer accepted): the
	// worker is then out of its group for good, and Run says so rather than idle.
	closed := make(chan struct{})
	// Back within a quarter second of the broker, as the center's services are: a run
	// handed out meanwhile waits for a listed worker only as long as it stays listed.
	opts := []nats.Option{nats.Name("jobcenter-worker " + w.id), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) })}
	if w.cfg.Key != "" {
		opts = append(opts, nats.UserInfo(w.cfg.Tenant, w.cfg.Key))
	}
	nc, err := nats.Connect(w.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("worker: connect: %w", err)
	}
	defer nc.Close()
	w.nc = nc
	w.since = time.Now().UTC()
	tasks, err := nc.Subscribe(contracts.WorkerTaskSubject(w.cfg.Tenant, w.id), w.take)
	if err != nil {
		return fmt.Errorf("worker: take tasks: %w", err)
	}
	cancels, err := nc.Subscribe(contracts.WorkerCancelSubject(w.cfg.Tenant, w.id), w.cancel)
	if err != nil {
		return fmt.Errorf("worker: take cancels: %w", err)
	}
	// The subscriptions are in place before the first heartbeat makes the worker known.
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	if err := w.beat(); err != nil {
		return fmt.Errorf("worker: join the group: %w", err)
	}
	w.joinOnce.Do(func() { close(w.joined) })
	tick := time.NewTicker(contracts.WorkerBeatEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-closed:
			return fmt.Errorf("worker: NATS closed the connection, the worker is out of its group: %w", cmp.Or(nc.LastError(), nats.ErrConnectionClosed))
		case <-tick.C:
			_ = w.beat()
		}
	}
	w.mu.Lock()
	w.leaving = true
	w.mu.Unlock()
	_ = tasks.Unsubscribe()
	_ = w.beat() // says it is leaving: no new run comes
	// Its runs under way end (each within its time limit) while it keeps beating, so
	// that they are not taken for interrupted.
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			_ = cancels.Unsubscribe()
			_ = w.beat() // leaving with no run under way: gone from the registry at once
			return nc.Flush()
		case <-tick.C:
			_ = w.beat()
		}
	}
}

// beat sends the worker's heartbeat.
func (w *Worker) beat() error {
	w.mu.Lock()
	b := contracts.WorkerBeat{V: contracts.Version, ID: w.id, Group: w.cfg.Group, Host: w.cfg.Host, Version: w.cfg.Version,
		Since: w.since, Running: len(w.running), Capacity: w.cfg.Capacity, Leaving: w.leaving}
	w.mu.Unlock()
	for name := range w.handlers {
		b.Handles = append(b.Handles, name)
	}
	slices.Sort(b.Handles)
	data, _ := json.Marshal(b)
	return w.nc.Publish(contracts.WorkerBeatSubject(w.cfg.Tenant, w.cfg.Group, w.id), data)
}

// take runs a task handed to the worker, answering its end.
func (w *Worker) take(m *nats.Msg) {
	var t contracts.WorkerTask
	if err := json.Unmarshal(m.Data, &t); err != nil {
		w.answer(m, contracts.WorkerResult{V: contracts.Version, Error: "the task is not one: " + err.Error()})
		return
	}
	fn := w.handlers[t.Handler]
	key := t.RunID
	if t.Shard != nil {
		key = fmt.Sprintf("%s-%d", t.RunID, t.Shard.Index)
	}
	w.mu.Lock()
	if fn == nil || w.leaving || len(w.running) >= w.cfg.Capacity {
		w.mu.Unlock()
		w.answer(m, contracts.WorkerResult{V: contracts.Version, Busy: true})
		return
	}
	timeout := time.Duration(t.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = time.Hour
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	ctx, stop := context.WithTimeout(ctx, timeout)
	w.running[key] = cancel
	w.wg.Add(1)
	w.mu.Unlock()
	go func() {
		defer w.wg.Done()
		defer stop()
		task := &Task{JobID: t.JobID, FireID: t.FireID, RunID: t.RunID, Handler: t.Handler, Attempt: t.Attempt,
			ScheduledAt: t.ScheduledAt, Params: t.Params, Shard: t.Shard, w: w, progress: t.Progress}
		res := run(ctx, fn, task)
		w.mu.Lock()
		delete(w.running, key)
		w.mu.Unlock()
		w.answer(m, res)
	}()
}

// run calls fn, a panic being the run's failure.
func run(ctx context.Context, fn Handler, t *Task) (res contracts.WorkerResult) {
	res.V = contracts.Version
	defer func() {
		if p := recover(); p != nil {
			res.OK, res.Error = false, fmt.Sprintf("panic: %v", p)
		}
		t.mu.Lock()
		res.Output = strings.Join(t.lines, "\n")
		t.mu.Unlock()
	}()
	v, err := fn(ctx, t)
	if err != nil {
		res.Error = err.Error()
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			res.Error += " (" + c.Error() + ")"
		}
		return res
	}
	res.OK = true
	if v != nil {
		data, err := json.Marshal(v)
		if err != nil {
			res.OK, res.Error = false, "the result is not JSON: "+err.Error()
			return res
		}
		res.Result = string(data)
	}
	return res
}

func (w *Worker) answer(m *nats.Msg, res contracts.WorkerResult) {
	data, _ := json.Marshal(res)
	_ = m.Respond(data)
}

// cancel stops a run the center no longer waits for.
func (w *Worker) cancel(m *nats.Msg) {
	var c contracts.WorkerCancel
	if json.Unmarshal(m.Data, &c) != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, cancel := range w.running {
		if key == c.RunID || strings.HasPrefix(key, c.RunID+"-") {
			cancel(errors.New("stopped by the center: " + c.Reason))
		}
	}
}
