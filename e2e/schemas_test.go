package e2e_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/jobcenter/jobcenter/contracts"
)

// schemaBase is where the embedded schema files are placed for the compiler, so that
// their relative $refs ("job.json") resolve among themselves.
const schemaBase = "file:///jobcenter/contracts/"

// compiledSchemas compiles every schema embedded in contracts, once, by path in
// contracts.Schemas. Formats (date-time) are asserted.
var compiledSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	names, err := fs.Glob(contracts.Schemas, "schemas/*.json")
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, name := range names {
		data, err := fs.ReadFile(contracts.Schemas, name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := c.AddResource(schemaBase+name, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, name := range names {
		sch, err := c.Compile(schemaBase + name)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", name, err)
		}
		out[name] = sch
	}
	return out, nil
})

func schemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	s, err := compiledSchemas()
	if err != nil {
		t.Fatalf("the contract's schemas do not compile: %v", err)
	}
	return s
}

// validate checks data (JSON) against the schema at name in contracts.Schemas.
func validate(t testing.TB, name string, data []byte) error {
	t.Helper()
	sch, ok := schemas(t)[name]
	if !ok {
		return fmt.Errorf("no schema %s", name)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(doc)
}

func TestEverySchemaOfTheContractCompiles(t *testing.T) {
	t.Parallel()
	got := schemas(t)
	for _, name := range []string{contracts.SchemaCommand, contracts.SchemaOutcome, contracts.SchemaLifecycleEvent,
		contracts.SchemaFire, contracts.SchemaRunEvent, contracts.SchemaFlowRequest, contracts.SchemaFlowReply,
		contracts.SchemaDeadLetterHeaders, contracts.SchemaJob, contracts.SchemaJobSpec} {
		if got[name] == nil {
			t.Errorf("%s is not embedded", name)
		}
	}
}

// Examples of every payload with every field set (a Target and a FlowRequest name one
// target only, as the contract says; their other variants are below).
var (
	at     = time.Date(2025, 6, 15, 13, 30, 2, 123456789, time.UTC)
	later  = at.Add(1500 * time.Millisecond)
	fullJS = contracts.JobSpec{
		Pid: "d1138d88", Name: "SDK周期任务", Description: "d", Trigger: "interval", Seconds: 300, RunDate: &later,
		Cron: "0 0 * * * ?", TimeZone: "Asia/Shanghai", StartDate: &at, EndDate: &later, Jitter: 30, FixedDelay: true, Calendars: []string{"holidays"}, FlowID: "f", Code: "return 1", BizCode: "b",
		HTTP: &contracts.HTTPCall{Method: "POST", URL: "https://example.com/x", Headers: map[string]string{"Authorization": "Bearer t"}, Body: "{}", ExpectStatus: []int{200, 204}},
		Policy: contracts.Policy{Coalesce: true, MisfireGraceMs: 1000, MaxInstances: 2, Retries: 3, RetryBackoffMs: 500, TimeoutMs: 60000,
			PauseAfterFailures: 3, OnSuccess: []string{"j2"}, OnFailure: []string{"j3", "j4"}, Overlap: "buffer_one",
			WorkerGroup: "reports", Route: "sharding"},
	}
	fullJob = contracts.Job{
		ID: "j1", Key: "k1", Tenant: "p", Spec: fullJS, State: "started", StartedAt: &at,
		CreatedAt: at, CreatedBy: "alice", UpdatedAt: later, UpdatedBy: "bob", Version: 7, LastCommand: "c9",
	}
	examples = []struct {
		schema string
		value  any
		// partial: fields that a valid payload cannot all set at once.
		partial []string
	}{
		{contracts.SchemaCommand, contracts.Command{V: 1, ID: "c1", Type: "create", Tenant: "a.b", JobID: "j1", JobKey: "k1",
			User: "alice", At: at, ReplyTo: "_INBOX.x.c1", Idempotent: true, Fingerprint: "3f7a9c0d1e2b4a5f", Spec: &fullJS, Version: 3, Enable: true,
			Params: json.RawMessage(`{"day":"2026-12-01"}`), ParentFireID: "j0@manual-1", Reason: "paused", FireID: "j1@1749994202123",
			Backfill: &contracts.BackfillRange{From: at, To: later, Concurrency: 2, MaxFires: 100, Of: "c0"}}, nil},
		{contracts.SchemaOutcome, contracts.Outcome{V: 1, CommandID: "c1",
			Error: &contracts.Error{Code: "invalid", Message: "seconds: must be greater than 0", Field: "seconds"},
			Job:   &fullJob, FireID: "j1@1749994202123", Fingerprint: "3f7a9c0d1e2b4a5f", Kept: true,
			Backfilled: &contracts.Backfilled{Fires: 100, First: at, Last: later, Capped: true}}, nil},
		{contracts.SchemaLifecycleEvent, contracts.LifecycleEvent{V: 1, ID: "c1:created", Type: "created", Tenant: "p",
			JobID: "j1", CommandID: "c1", User: "alice", At: at, Job: fullJob, Reason: "paused: its last 3 runs failed"}, nil},
		{contracts.SchemaFire, contracts.Fire{V: 1, FireID: "j1@1", JournalID: "j1-1", Seq: 1, Tenant: "p", JobID: "j1",
			JobKey: "k1", Name: "n", RunType: "trigger", ScheduledAt: at, FiredAt: later, Target: contracts.Target{Code: "return 1"},
			TimeoutMs: 30000, TriggerStatus: "missed", Detail: "late", MaxInstances: 1, Retries: 2, RetryBackoffMs: 100,
			AfterFireID: "j1@1751342399000", CatchUp: true, Params: json.RawMessage(`{"day":"2026-12-01","n":[1,2]}`),
			ParentFireID: "j0@manual-1", Then: &contracts.Then{OnSuccess: []string{"j2"}, OnFailure: []string{"j3"}, PauseAfterFailures: 3, Rearm: true,
				Backfill: &contracts.BackfillThen{Of: "c1", At: at, To: later, Concurrency: 2}},
			Overlap: "cancel_other", WorkerGroup: "reports", Route: "failover", MisfireGraceMs: 60000},
			[]string{"Target.FlowID", "Target.BizCode", "Target.HTTP"}},
		{contracts.SchemaFire, contracts.Fire{V: 1, FireID: "j1@1", JournalID: "j1-1", Seq: 1, Tenant: "p", JobID: "j1",
			JobKey: "k1", Name: "n", RunType: "manual", ScheduledAt: at, FiredAt: at, Target: contracts.Target{HTTP: fullJS.HTTP},
			TriggerStatus: "success"}, []string{"*"}},
		{contracts.SchemaFire, contracts.Fire{V: 1, FireID: "j1@1", JournalID: "j1-1", Seq: 1, Tenant: "p", JobID: "j1",
			JobKey: "k1", Name: "n", RunType: "manual", ScheduledAt: at, FiredAt: at, Target: contracts.Target{FlowID: "f"},
			TriggerStatus: "success"}, []string{"*"}},
		{contracts.SchemaFire, contracts.Fire{V: 1, FireID: "j1@1", JournalID: "j1-1", Seq: 1, Tenant: "T1", JobID: "j1",
			JobKey: "k1", Name: "n", RunType: "trigger", ScheduledAt: at, FiredAt: at, Target: contracts.Target{BizCode: "b"},
			TriggerStatus: "success"}, []string{"*"}},
		{contracts.SchemaRunEvent, contracts.RunEvent{V: 1, FireID: "j1@1", JournalID: "j1-1", Tenant: "p", JobID: "j1",
			Status: "failure", DynamicID: "d1", Attempts: 1, StartedAt: at, EndedAt: &later, Detail: "log", Result: "1",
			Killed: &contracts.Killed{By: "alice", At: later}, TimedOut: true, Then: &contracts.Then{OnSuccess: []string{"j2"}, OnFailure: []string{"j3"}, PauseAfterFailures: 3, Rearm: true,
				Backfill: &contracts.BackfillThen{Of: "c1", At: at, To: later, Concurrency: 2}}}, nil},
		{contracts.SchemaFlowRequest, contracts.FlowRequest{V: 1, Tenant: "p", JobID: "j1", FireID: "j1@1", FlowID: "f",
			ScheduledAt: at, Params: json.RawMessage(`{"force":true}`)}, []string{"BizCode"}},
		{contracts.SchemaFlowRequest, contracts.FlowRequest{V: 1, Tenant: "T1", JobID: "j1", FireID: "j1@1", BizCode: "b",
			ScheduledAt: at}, []string{"FlowID", "Params"}},
		{contracts.SchemaRunLog, contracts.RunLog{V: 1, FireID: "j1@1", JournalID: "j1-1", Tenant: "p", JobID: "j1", Attempt: 1,
			Seq: 3, Lines: []string{"INFO a", "ERROR b"}}, nil},
		{contracts.SchemaKill, contracts.Kill{V: 1, Tenant: "p", JobID: "j1", FireID: "j1@1", Killed: contracts.Killed{By: "alice", At: at}}, nil},
		{contracts.SchemaKillReply, contracts.KillReply{V: 1, FireID: "j1@1", Status: "failure", Killed: true, EndedAt: later}, nil},
		{contracts.SchemaAlert, contracts.Alert{V: 1, ID: "rule-1:j1-1:failure", Tenant: "p", RuleID: "rule-1", Event: "failure", JobID: "j1",
			JobName: "n", FireID: "j1@1", JournalID: "j1-1", At: later, Detail: "boom", Count: 3, RaisedAt: later}, nil},
		{contracts.SchemaAlert, contracts.Alert{V: 1, ID: "rule-1:test:ab", Tenant: "p", RuleID: "rule-1", Event: "test", At: at, RaisedAt: at},
			[]string{"JobID", "JobName", "FireID", "JournalID", "Detail", "Count"}},
		{contracts.SchemaFlowReply, contracts.FlowReply{V: 1, OK: false, Error: "boom", Output: "out"}, []string{"OK"}},
		{contracts.SchemaFlowReply, contracts.FlowReply{OK: true}, []string{"*"}},
		{contracts.SchemaWorkerBeat, contracts.WorkerBeat{V: 1, ID: "9f2c4e1a7b3d5e60", Group: "reports", Handles: []string{"hello"}, Host: "h1",
			Version: "v1.2.0", Since: at, Running: 2, Capacity: 8, Leaving: true}, nil},
		{contracts.SchemaWorkerTask, contracts.WorkerTask{V: 1, Tenant: "p", JobID: "j1", FireID: "j1@1", RunID: "r1", Attempt: 1, Handler: "hello",
			ScheduledAt: at, Params: json.RawMessage(`{"day":"2026-12-01"}`), TimeoutMs: 30000, Shard: &contracts.Shard{Index: 1, Total: 3},
			Progress: "jobcenter.progress.p.r1-1"}, nil},
		{contracts.SchemaWorkerResult, contracts.WorkerResult{V: 1, OK: true, Error: "e", Output: "log", Result: `{"rows":42}`, Busy: true}, nil},
		{contracts.SchemaWorkerProgress, contracts.WorkerProgress{V: 1, FireID: "j1@1", RunID: "r1", Lines: []string{"a"}, Progress: new(0.5)}, nil},
		{contracts.SchemaWorkerCancel, contracts.WorkerCancel{V: 1, FireID: "j1@1", RunID: "r1", Reason: "it was killed"}, nil},
	}
)

// unset lists the zero fields of v, by path, recursively through structs.
func unset(v reflect.Value, prefix string, out *[]string) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			*out = append(*out, strings.TrimSuffix(prefix, "."))
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || v.Type() == reflect.TypeFor[time.Time]() {
		if v.IsZero() {
			*out = append(*out, strings.TrimSuffix(prefix, "."))
		}
		return
	}
	for i := range v.NumField() {
		unset(v.Field(i), prefix+v.Type().Field(i).Name+".", out)
	}
}

func TestEveryPayloadTypeMarshalsToJSONItsSchemaAccepts(t *testing.T) {
	t.Parallel()
	for _, ex := range examples {
		// An example leaves nothing unset, so that a field added to the type is in it.
		var zero []string
		unset(reflect.ValueOf(ex.value), "", &zero)
		zero = slices.DeleteFunc(zero, func(f string) bool { return slices.Contains(ex.partial, f) })
		if len(zero) > 0 && !slices.Contains(ex.partial, "*") {
			t.Errorf("the %T example leaves %v unset: fill them in", ex.value, zero)
		}
		data, err := json.Marshal(ex.value)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, ex.schema, data); err != nil {
			t.Errorf("%T does not match %s: %v\n%s", ex.value, ex.schema, err, data)
		}
		// And the schema is strict: a wrong version or an unknown field fails.
		var doc map[string]any
		_ = json.Unmarshal(data, &doc)
		for name, mutate := range map[string]func(map[string]any){
			"v: 2":           func(d map[string]any) { d["v"] = 2 },
			"an extra field": func(d map[string]any) { d["extra"] = true },
		} {
			bad := maps.Clone(doc)
			mutate(bad)
			b, _ := json.Marshal(bad)
			if validate(t, ex.schema, b) == nil {
				t.Errorf("%s accepts %T with %s", ex.schema, ex.value, name)
			}
		}
		if ex.schema != contracts.SchemaFlowReply {
			bad := maps.Clone(doc)
			delete(bad, "v")
			b, _ := json.Marshal(bad)
			if validate(t, ex.schema, b) == nil {
				t.Errorf("%s accepts %T without v", ex.schema, ex.value)
			}
		}
	}
	// A payload left at zero (a producer that forgot to fill it) does not pass: no "v".
	for _, v := range []any{contracts.Command{}, contracts.Outcome{}, contracts.LifecycleEvent{}, contracts.Fire{},
		contracts.RunEvent{}, contracts.FlowRequest{}} {
		data, _ := json.Marshal(v)
		name := map[string]string{"Command": contracts.SchemaCommand, "Outcome": contracts.SchemaOutcome,
			"LifecycleEvent": contracts.SchemaLifecycleEvent, "Fire": contracts.SchemaFire, "RunEvent": contracts.SchemaRunEvent,
			"FlowRequest": contracts.SchemaFlowRequest}[reflect.TypeOf(v).Name()]
		if validate(t, name, data) == nil {
			t.Errorf("%s accepts a zero %T", name, v)
		}
	}
}

// TestEveryPayloadTypeAndItsSchemaHaveTheSameFields compares each Go type with its
// schema field by field, through nested types and $refs: the same JSON names, required
// exactly when not omitempty, and a JSON type that fits the Go one.
func TestEveryPayloadTypeAndItsSchemaHaveTheSameFields(t *testing.T) {
	t.Parallel()
	for name, typ := range map[string]reflect.Type{
		contracts.SchemaCommand:        reflect.TypeFor[contracts.Command](),
		contracts.SchemaOutcome:        reflect.TypeFor[contracts.Outcome](),
		contracts.SchemaLifecycleEvent: reflect.TypeFor[contracts.LifecycleEvent](),
		contracts.SchemaFire:           reflect.TypeFor[contracts.Fire](),
		contracts.SchemaRunEvent:       reflect.TypeFor[contracts.RunEvent](),
		contracts.SchemaFlowRequest:    reflect.TypeFor[contracts.FlowRequest](),
		contracts.SchemaFlowReply:      reflect.TypeFor[contracts.FlowReply](),
		contracts.SchemaRunLog:         reflect.TypeFor[contracts.RunLog](),
		contracts.SchemaKill:           reflect.TypeFor[contracts.Kill](),
		contracts.SchemaKillReply:      reflect.TypeFor[contracts.KillReply](),
		contracts.SchemaAlert:          reflect.TypeFor[contracts.Alert](),
		contracts.SchemaJob:            reflect.TypeFor[contracts.Job](),
		contracts.SchemaJobSpec:        reflect.TypeFor[contracts.JobSpec](),
		contracts.SchemaWorkerBeat:     reflect.TypeFor[contracts.WorkerBeat](),
		contracts.SchemaWorkerTask:     reflect.TypeFor[contracts.WorkerTask](),
		contracts.SchemaWorkerResult:   reflect.TypeFor[contracts.WorkerResult](),
		contracts.SchemaWorkerProgress: reflect.TypeFor[contracts.WorkerProgress](),
		contracts.SchemaWorkerCancel:   reflect.TypeFor[contracts.WorkerCancel](),
	} {
		sameShape(t, name, schemaDoc(t, name), typ, typ.Name())
	}
}

func schemaDoc(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := fs.ReadFile(contracts.Schemas, name)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

func sameShape(t *testing.T, file string, node map[string]any, typ reflect.Type, where string) {
	t.Helper()
	if ref, ok := node["$ref"].(string); ok {
		refFile, frag, _ := strings.Cut(ref, "#")
		if frag != "" {
			t.Errorf("%s: %s: $ref %q: only whole files are expected", file, where, ref)
		}
		file = path.Join(path.Dir(file), refFile)
		node = schemaDoc(t, file)
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	_, isConst := node["const"]
	_, isEnum := node["enum"]
	jsonType, _ := node["type"].(string)
	switch {
	case typ == reflect.TypeFor[time.Time]():
		if jsonType != "string" || node["format"] != "date-time" {
			t.Errorf("%s: %s is a time: want type string, format date-time", file, where)
		}
		return
	case typ.Kind() == reflect.String:
		if jsonType != "string" && !isEnum {
			t.Errorf("%s: %s is a string in Go, %v in the schema", file, where, node["type"])
		}
		return
	case typ.Kind() == reflect.Bool:
		if jsonType != "boolean" {
			t.Errorf("%s: %s is a bool in Go, %v in the schema", file, where, node["type"])
		}
		return
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		if jsonType != "integer" && !isConst {
			t.Errorf("%s: %s is an integer in Go, %v in the schema", file, where, node["type"])
		}
		return
	case typ.Kind() == reflect.Float64:
		if jsonType != "number" {
			t.Errorf("%s: %s is a float in Go, %v in the schema", file, where, node["type"])
		}
		return
	case typ == reflect.TypeFor[json.RawMessage]():
		// Raw JSON in the contracts is an object (a run's params).
		if jsonType != "object" {
			t.Errorf("%s: %s is raw JSON (an object) in Go, %v in the schema", file, where, node["type"])
		}
		return
	case typ.Kind() == reflect.Map:
		values, _ := node["additionalProperties"].(map[string]any)
		if jsonType != "object" || values == nil || typ.Key().Kind() != reflect.String {
			t.Errorf("%s: %s is a map in Go: want type object with additionalProperties a schema", file, where)
			return
		}
		sameShape(t, file, values, typ.Elem(), where+"{}")
		return
	case typ.Kind() == reflect.Slice:
		items, _ := node["items"].(map[string]any)
		if jsonType != "array" || items == nil {
			t.Errorf("%s: %s is a slice in Go: want type array with items", file, where)
			return
		}
		sameShape(t, file, items, typ.Elem(), where+"[]")
		return
	case typ.Kind() != reflect.Struct:
		t.Errorf("%s: %s: no rule for Go kind %s", file, where, typ.Kind())
		return
	}
	if jsonType != "object" || node["additionalProperties"] != false {
		t.Errorf("%s: %s: want type object with additionalProperties false", file, where)
	}
	props, _ := node["properties"].(map[string]any)
	var required []string
	list, _ := node["required"].([]any)
	for _, r := range list {
		required = append(required, r.(string))
	}
	seen := map[string]bool{}
	for _, f := range jsonFields(typ) {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			t.Errorf("%s: %s.%s has no json name", file, where, f.Name)
			continue
		}
		seen[name] = true
		prop, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("%s: %s.%s (%q) is not in the schema", file, where, f.Name, name)
			continue
		}
		omitempty := slices.Contains(strings.Split(opts, ","), "omitempty")
		// A runner's reply may leave "v" out; everywhere else the schema requires exactly
		// what Go always writes.
		if slices.Contains(required, name) == omitempty {
			t.Errorf("%s: %s.%s: required in the schema is %v, omitempty in Go is %v", file, where, f.Name, !omitempty, omitempty)
		}
		sameShape(t, file, prop, f.Type, where+"."+f.Name)
	}
	for name := range props {
		if !seen[name] {
			t.Errorf("%s: %s: the schema has %q, the Go type does not", file, where, name)
		}
	}
}

// jsonFields are the fields encoding/json writes of a struct: an embedded struct
// without a JSON name gives its own fields.
func jsonFields(typ reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		out = append(out, f)
	}
	return out
}

// ---- The monitor: every message a center publishes is checked against its schema. ----

// messageMonitor validates every message on the contract's subjects of one center.
type messageMonitor struct {
	t  *testing.T
	nc *nats.Conn

	mu       sync.Mutex
	done     bool
	problems []string
	notes    []string // the monitor's own trouble (a slow consumer drops messages unchecked)
	checked  map[string]int
	poison   map[string]bool // subject + "\x00" + payload: published bad on purpose
	inboxes  map[string]bool // outcome inbox prefixes subscribed
	closed   chan struct{}
}

var monitors sync.Map // *center → *messageMonitor

// monitorSubjects cover every subject "jobcenter.>" could, except the 4-token ones
// other than fires: a subscriber on jobcenter.flow.> or jobcenter.biz.> would count as
// a responder and turn a run's "no responder" into a timeout. Flow and behaviour
// requests and replies are checked by the test runners that answer them (checkRunnerCall).
var monitorSubjects = []string{
	"jobcenter", "jobcenter.*", "jobcenter.*.*", "jobcenter.fire.*.*",
	"jobcenter.*.*.*.*", "jobcenter.*.*.*.*.>",
}

// watchMessages starts checking every message of c's NATS against the contract: each
// failure (a payload not matching its subject's schema, a subject outside the contract,
// a subject that disagrees with its payload) fails the test at its end.
func watchMessages(t *testing.T, c *center) {
	t.Helper()
	schemas(t)
	m := &messageMonitor{t: t, checked: map[string]int{}, poison: map[string]bool{}, inboxes: map[string]bool{},
		closed: make(chan struct{})}
	nc, err := nats.Connect(c.stack.NATSURL, nats.Name("schema-monitor"), nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond), nats.ClosedHandler(func(*nats.Conn) { close(m.closed) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { m.note(err) }))
	if err != nil {
		t.Fatalf("schema monitor: %v", err)
	}
	m.nc = nc
	for _, s := range monitorSubjects {
		sub, err := nc.Subscribe(s, m.message)
		if err != nil {
			t.Fatalf("schema monitor: subscribe %s: %v", s, err)
		}
		// No limit: a message dropped as a slow consumer's would go unchecked.
		_ = sub.SetPendingLimits(-1, -1)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("schema monitor: %v", err)
	}
	monitors.Store(c, m)
	t.Cleanup(func() {
		monitors.Delete(c)
		if err := nc.Drain(); err != nil {
			nc.Close()
		}
		select {
		case <-m.closed:
		case <-time.After(10 * time.Second):
			nc.Close()
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.done = true
		t.Logf("schema monitor: checked %v; notes: %v", m.checked, m.notes)
		for i, p := range m.problems {
			if i == 20 {
				t.Errorf("… and %d more messages off the contract", len(m.problems)-i)
				break
			}
			t.Errorf("message off the contract: %s", p)
		}
	})
}

// expectPoison tells c's monitor that a test publishes data on subject against the
// contract on purpose; the dead letter it causes is still checked.
func expectPoison(c *center, subject string, data []byte) {
	if m, ok := monitors.Load(c); ok {
		m := m.(*messageMonitor)
		m.mu.Lock()
		m.poison[subject+"\x00"+string(data)] = true
		m.mu.Unlock()
	}
}

// checkRunnerCall checks a flow or behaviour request a test's runner received, and the
// reply it sends, against the contract (the monitor cannot watch those subjects).
func checkRunnerCall(c *center, req *nats.Msg, reply []byte) {
	v, ok := monitors.Load(c)
	if !ok {
		return
	}
	m := v.(*messageMonitor)
	m.message(req)
	if err := validate(m.t, contracts.SchemaFlowReply, reply); err != nil {
		m.fail("reply to %s: %v\npayload: %s", req.Subject, err, printable(reply))
	}
}

func (m *messageMonitor) note(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notes = append(m.notes, err.Error())
}

func (m *messageMonitor) fail(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.done {
		m.problems = append(m.problems, fmt.Sprintf(format, args...))
	}
}

func (m *messageMonitor) message(msg *nats.Msg) {
	m.mu.Lock()
	poison := m.poison[msg.Subject+"\x00"+string(msg.Data)]
	m.mu.Unlock()
	if poison {
		return
	}
	if err := m.check(msg); err != nil {
		m.fail("%s: %v\npayload: %s", msg.Subject, err, printable(msg.Data))
	}
}

// printable is a payload as a failure shows it: JSON as it is, anything else quoted,
// both cut at 2 KiB.
func printable(data []byte) string {
	s := string(data[:min(len(data), 2048)])
	if !json.Valid(data) {
		return strconv.Quote(s)
	}
	return s
}

func (m *messageMonitor) check(msg *nats.Msg) error {
	s, ok := contracts.SchemaFor(msg.Subject)
	if !ok {
		return errors.New("no schema for this subject")
	}
	if s.Headers != "" {
		h := map[string]string{}
		for k := range msg.Header {
			h[k] = msg.Header.Get(k)
		}
		data, _ := json.Marshal(h)
		if err := validate(m.t, s.Headers, data); err != nil {
			return fmt.Errorf("headers %s: %w", data, err)
		}
		if _, ok := contracts.SchemaFor(h["Jobcenter-Subject"]); !ok {
			return fmt.Errorf("dead letter of a message on %q, outside the contract", h["Jobcenter-Subject"])
		}
		m.mu.Lock()
		m.checked[s.Headers]++
		m.mu.Unlock()
	}
	if s.Payload == "" {
		return nil
	}
	if err := validate(m.t, s.Payload, msg.Data); err != nil {
		return err
	}
	var p struct {
		Tenant  string `json:"tenant"`
		JobID   string `json:"job_id"`
		Type    string `json:"type"`
		Status  string `json:"status"`
		FlowID  string `json:"flow_id"`
		BizCode string `json:"bizcode"`
		ReplyTo string `json:"reply_to"`
	}
	_ = json.Unmarshal(msg.Data, &p)
	var want string
	switch tok := strings.Split(msg.Subject, "."); tok[1] {
	case "cmd":
		want = contracts.CommandSubject(p.Tenant)
		m.watchOutcomes(p.ReplyTo)
	case "evt":
		want = contracts.EventSubject(p.Tenant, p.JobID, p.Type)
	case "fire":
		want = contracts.FireSubject(p.Tenant, p.JobID)
	case "run":
		want = contracts.RunSubject(p.Tenant, p.JobID, p.Status)
	case "flow":
		want = contracts.FlowSubject(p.Tenant, p.FlowID)
	case "biz":
		want = contracts.BizSubject(p.Tenant, p.BizCode)
	case "alert":
		want = contracts.AlertSubject(p.Tenant)
	case "workers", "task", "progress":
		// The tenant is the subject's alone (a worker's beat says its group and id).
		want = msg.Subject
		var b struct{ ID, Group string }
		if tok[1] == "workers" && (json.Unmarshal(msg.Data, &b) != nil || msg.Subject != contracts.WorkerBeatSubject(tok[2], b.Group, b.ID) && !strings.HasPrefix(tok[2], "=")) {
			want = "jobcenter.workers.<tenant>." + b.Group + "." + b.ID
		}
	}
	if want != msg.Subject {
		return fmt.Errorf("the payload belongs on %s", want)
	}
	m.mu.Lock()
	m.checked[s.Payload]++
	m.mu.Unlock()
	return nil
}

// watchOutcomes subscribes the api inbox that a command's outcome goes to, once per
// inbox; the first outcome to a new inbox may pass unchecked (the subscription is not
// yet registered), every later one is checked.
func (m *messageMonitor) watchOutcomes(replyTo string) {
	i := strings.LastIndexByte(replyTo, '.')
	if i < 0 {
		return
	}
	prefix := replyTo[:i]
	m.mu.Lock()
	seen := m.inboxes[prefix]
	m.inboxes[prefix] = true
	m.mu.Unlock()
	if seen {
		return
	}
	_, _ = m.nc.Subscribe(prefix+".*", func(msg *nats.Msg) {
		if err := validate(m.t, contracts.SchemaOutcome, msg.Data); err != nil {
			m.fail("outcome on %s: %v\npayload: %s", msg.Subject, err, printable(msg.Data))
		}
	})
}
