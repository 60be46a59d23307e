package contracts_test

import (
	"cmp"
	"encoding/json"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jobcenter/jobcenter/contracts"
)

// The schemas are validated against the Go types (and every published message against
// its schema) in the root module's e2e tests, which may use a JSON Schema library; these
// tests check, with the standard library only, that the documents hang together.

func readJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := fs.ReadFile(contracts.Schemas, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s is not JSON: %v", name, err)
	}
	return doc
}

func schemaFiles(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(contracts.Schemas, "schemas/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no schemas embedded: %v", err)
	}
	return names
}

// payloadSchemas are the schemas of whole payloads, each of which carries "v".
var payloadSchemas = []string{
	contracts.SchemaCommand, contracts.SchemaOutcome, contracts.SchemaLifecycleEvent, contracts.SchemaFire,
	contracts.SchemaRunEvent, contracts.SchemaFlowRequest, contracts.SchemaFlowReply, contracts.SchemaRunLog,
	contracts.SchemaKill, contracts.SchemaKillReply, contracts.SchemaWorkerBeat, contracts.SchemaWorkerTask,
	contracts.SchemaWorkerResult, contracts.SchemaWorkerProgress, contracts.SchemaWorkerCancel,
}

func TestEveryPayloadSchemaIsDraft2020AndPinsTheSchemaVersion(t *testing.T) {
	t.Parallel()
	for _, name := range schemaFiles(t) {
		doc := readJSON(t, name)
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema is %v, want draft 2020-12", name, doc["$schema"])
		}
		if doc["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties must be false: the schema is the whole shape", name)
		}
	}
	for _, name := range payloadSchemas {
		doc := readJSON(t, name)
		props, _ := doc["properties"].(map[string]any)
		v, _ := props["v"].(map[string]any)
		if v == nil || v["const"] != float64(contracts.Version) {
			t.Errorf("%s: \"v\" must be const %d, is %v", name, contracts.Version, v)
		}
		required, _ := doc["required"].([]any)
		// A runner's reply is written outside Job Center: "v" is optional there only.
		if want := name != contracts.SchemaFlowReply; slices.Contains(required, any("v")) != want {
			t.Errorf("%s: \"v\" required is %v, want %v", name, !want, want)
		}
	}
}

// refs collects every "$ref" in a JSON document.
func refs(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				*out = append(*out, s)
			} else {
				refs(x, out)
			}
		}
	case []any:
		for _, x := range v {
			refs(x, out)
		}
	}
}

// pointer resolves a JSON pointer ("/a/b") in doc.
func pointer(doc any, ptr string) (any, bool) {
	if ptr == "" {
		return doc, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch d := doc.(type) {
		case map[string]any:
			x, ok := d[tok]
			if !ok {
				return nil, false
			}
			doc = x
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(d) {
				return nil, false
			}
			doc = d[i]
		default:
			return nil, false
		}
	}
	return doc, true
}

// resolve checks that ref, written in file from, names an embedded file and a place in
// it, and returns the file's path.
func resolve(t *testing.T, from, ref string) string {
	t.Helper()
	file, frag, _ := strings.Cut(ref, "#")
	target := from
	if file != "" {
		target = path.Join(path.Dir(from), file)
	}
	if _, ok := pointer(readJSON(t, target), frag); !ok {
		t.Errorf("%s: $ref %q does not resolve", from, ref)
	}
	return target
}

func TestEveryReferenceOfTheAsyncAPIDocumentAndTheSchemasResolves(t *testing.T) {
	t.Parallel()
	reached := map[string]bool{}
	var walk func(file string)
	walk = func(file string) {
		if reached[file] {
			return
		}
		reached[file] = true
		var rs []string
		refs(readJSON(t, file), &rs)
		for _, r := range rs {
			walk(resolve(t, file, r))
		}
	}
	walk(contracts.AsyncAPI)
	for _, name := range schemaFiles(t) {
		if !reached[name] {
			t.Errorf("%s is not referred to by %s", name, contracts.AsyncAPI)
		}
	}
}

var param = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// TestTheAsyncAPIChannelsAgreeWithSchemaFor fills each channel's address with sample
// parameter values and expects SchemaFor to name the schemas the channel's message uses.
func TestTheAsyncAPIChannelsAgreeWithSchemaFor(t *testing.T) {
	t.Parallel()
	doc := readJSON(t, contracts.AsyncAPI)
	if doc["asyncapi"] != "3.0.0" {
		t.Fatalf("asyncapi is %v, want 3.0.0", doc["asyncapi"])
	}
	schemaOf := func(m map[string]any, part string) string {
		p, _ := m[part].(map[string]any)
		s, _ := p["schema"].(map[string]any)
		r, _ := s["$ref"].(string)
		if r == "" {
			return ""
		}
		return path.Join(path.Dir(contracts.AsyncAPI), r)
	}
	channels := doc["channels"].(map[string]any)
	for name, c := range channels {
		ch := c.(map[string]any)
		params, _ := ch["parameters"].(map[string]any)
		addr, _ := ch["address"].(string)
		subject := param.ReplaceAllStringFunc(addr, func(p string) string {
			p = p[1 : len(p)-1]
			if params[p] == nil {
				t.Errorf("channel %s: parameter %s is not declared", name, p)
			}
			ref, _ := params[p].(map[string]any)["$ref"].(string)
			def, _ := pointer(doc, strings.TrimPrefix(ref, "#"))
			if enum, _ := def.(map[string]any)["enum"].([]any); len(enum) > 0 {
				return enum[0].(string)
			}
			return contracts.Token("a.b")
		})
		if len(params) != len(param.FindAllString(addr, -1)) {
			t.Errorf("channel %s: parameters %v do not match address %q", name, params, addr)
		}
		for id, m := range ch["messages"].(map[string]any) {
			ref, _ := m.(map[string]any)["$ref"].(string)
			msg, ok := pointer(doc, strings.TrimPrefix(ref, "#"))
			if !ok {
				t.Errorf("channel %s: message %s: %q does not resolve", name, id, ref)
				continue
			}
			got := contracts.MessageSchema{Payload: schemaOf(msg.(map[string]any), "payload"), Headers: schemaOf(msg.(map[string]any), "headers")}
			want, found := contracts.SchemaFor(subject)
			if addr == "" {
				// A reply channel: its messages go to an inbox, not a subject of the contract.
				if !slices.Contains([]string{contracts.SchemaOutcome, contracts.SchemaFlowReply, contracts.SchemaKillReply, contracts.SchemaWorkerResult}, got.Payload) {
					t.Errorf("channel %s has no address but carries %v", name, got)
				}
				continue
			}
			if !found || got != want {
				t.Errorf("channel %s (%s): AsyncAPI says %+v, SchemaFor %+v (%v)", name, subject, got, want, found)
			}
		}
	}
	for name, o := range doc["operations"].(map[string]any) {
		op := o.(map[string]any)
		if op["action"] != "send" && op["action"] != "receive" {
			t.Errorf("operation %s: action %v", name, op["action"])
		}
		if tags, _ := op["tags"].([]any); len(tags) == 0 {
			t.Errorf("operation %s does not name its service in tags", name)
		}
	}
}

func TestSchemaForKnowsEverySubjectFamilyAndNothingElse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		subject string
		want    contracts.MessageSchema
	}{
		{contracts.CommandSubject("a.b"), contracts.MessageSchema{Payload: contracts.SchemaCommand}},
		{contracts.EventSubject("p", "j", contracts.EventCreated), contracts.MessageSchema{Payload: contracts.SchemaLifecycleEvent}},
		{contracts.FireSubject("p", "*"), contracts.MessageSchema{Payload: contracts.SchemaFire}},
		{contracts.RunSubject("p", "j", contracts.RunSkipped), contracts.MessageSchema{Payload: contracts.SchemaRunEvent}},
		{contracts.FlowSubject("p", "f"), contracts.MessageSchema{Payload: contracts.SchemaFlowRequest}},
		{contracts.BizSubject("T1", "1202494946997833818"), contracts.MessageSchema{Payload: contracts.SchemaFlowRequest}},
		{contracts.DeadLetterSubject("executor"), contracts.MessageSchema{Headers: contracts.SchemaDeadLetterHeaders}},
		{contracts.LogSubject("p", "j"), contracts.MessageSchema{Payload: contracts.SchemaRunLog}},
		{contracts.KillSubject("p", "j"), contracts.MessageSchema{Payload: contracts.SchemaKill}},
		{contracts.CancelSubject("p", "j"), contracts.MessageSchema{Payload: contracts.SchemaKill}},
	} {
		got, ok := contracts.SchemaFor(c.subject)
		if !ok || got != c.want {
			t.Errorf("SchemaFor(%q) = %+v, %v; want %+v", c.subject, got, ok, c.want)
		}
		if _, err := fs.Stat(contracts.Schemas, cmp.Or(got.Payload, got.Headers)); err != nil {
			t.Errorf("SchemaFor(%q) names a missing file: %v", c.subject, err)
		}
	}
	for _, s := range []string{"jobcenter", "jobcenter.cmd", "jobcenter.cmd.p.extra", "jobcenter.evt.p.j", "jobcenter.fire.p",
		"jobcenter.run.p.j", "jobcenter.flow.p", "jobcenter.other.p", "_INBOX.x.y", "other.cmd.p"} {
		if got, ok := contracts.SchemaFor(s); ok {
			t.Errorf("SchemaFor(%q) = %+v, want none", s, got)
		}
	}
}
