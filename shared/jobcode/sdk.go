package jobcode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"go.starlark.net/starlark"
)

// paramKind is the Starlark type an sdk_* parameter accepts.
type paramKind int

const (
	kindString    paramKind = iota // str
	kindInt                        // int
	kindOptString                  // str or None
)

type sdkParam struct {
	name     string
	kind     paramKind
	optional bool
	def      any // value passed to SDK.Call when an optional parameter is omitted
}

type sdkFunc struct {
	name   string
	params []sdkParam
}

// sdkFuncs lists the SDK with its Python signatures.
func sdkFuncs() []sdkFunc {
	job := func(first string) []sdkParam {
		return []sdkParam{
			{name: first}, {name: "name"}, {name: "description"}, {name: "trigger"},
			{name: "seconds", kind: kindInt, optional: true, def: int64(60)},
			{name: "run_date", kind: kindOptString, optional: true},
			{name: "flow_id", kind: kindOptString, optional: true},
			{name: "code", kind: kindOptString, optional: true},
		}
	}
	jobID := []sdkParam{{name: "job_id"}}
	return []sdkFunc{
		{"sdk_add_job", job("pid")},
		{"sdk_get_job", []sdkParam{{name: "id"}}},
		{"sdk_get_jobs", nil},
		{"sdk_start_job", jobID},
		{"sdk_stop_job", jobID},
		{"sdk_exec_job", jobID},
		{"sdk_update_job", job("id")},
		{"sdk_delete_job", jobID},
	}
}

// bindings returns what a snippet gets besides Starlark's universe: the SDK, the two log
// functions and its params.
func (r *run) bindings() starlark.StringDict {
	d := starlark.StringDict{
		"log_print": starlark.NewBuiltin("log_print", r.logPrint),
		"print_log": starlark.NewBuiltin("print_log", r.logPrint),
		// A run started without parameters reads an empty dict: params.get(k, default) works.
		"params": starlark.NewDict(0),
	}
	for _, fn := range sdkFuncs() {
		d[fn.name] = starlark.NewBuiltin(fn.name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return r.callSDK(fn, args, kwargs)
		})
	}
	return d
}

// logPrint implements log_print(msg, level="INFO") and its alias print_log. A message that
// is not a string is logged as str(msg).
func (r *run) logPrint(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	level := "INFO"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "msg", &msg, "level?", &level); err != nil {
		return nil, err
	}
	level = strings.ToUpper(strings.TrimSpace(level))
	if len(level) == 0 || len(level) > 16 || strings.IndexFunc(level, func(c rune) bool { return c < 'A' || c > 'Z' }) >= 0 {
		return nil, fmt.Errorf("%s: invalid level %q: want a word such as INFO, WARNING or ERROR", b.Name(), level)
	}
	text, ok := starlark.AsString(msg)
	if !ok {
		n, err := r.guard.printSize(th, b.Name(), msg)
		if err == nil {
			err = r.guard.room(b.Name(), n)
		}
		if err != nil {
			return nil, err
		}
		text = msg.String()
	}
	r.log.add(level, text)
	return starlark.None, nil
}

// callSDK checks the arguments of an sdk_* call against its signature and forwards it.
func (r *run) callSDK(fn sdkFunc, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	vals := make([]starlark.Value, len(fn.params))
	pairs := make([]any, 0, 2*len(fn.params))
	for i, p := range fn.params {
		name := p.name
		if p.optional {
			name += "?"
		}
		pairs = append(pairs, name, &vals[i])
	}
	if err := starlark.UnpackArgs(fn.name, args, kwargs, pairs...); err != nil {
		return nil, err
	}
	goArgs := make(map[string]any, len(fn.params))
	for i, p := range fn.params {
		v, err := p.toGo(vals[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.name, err)
		}
		goArgs[p.name] = v
	}
	if r.sdk == nil {
		return nil, fmt.Errorf("%s: no SDK is available to this run", fn.name)
	}
	res, err := r.sdk.Call(r.ctx, fn.name, goArgs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.name, err)
	}
	v, err := fromGo(res, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: bad result from the SDK: %w", fn.name, err)
	}
	return v, nil
}

// toGo converts an argument (nil when omitted) for SDK.Call.
func (p sdkParam) toGo(v starlark.Value) (any, error) {
	if v == nil {
		return p.def, nil
	}
	want := "a string"
	switch p.kind {
	case kindString:
		if s, ok := v.(starlark.String); ok {
			return string(s), nil
		}
	case kindInt:
		want = "an int"
		if i, ok := v.(starlark.Int); ok {
			if n, ok := i.Int64(); ok {
				return n, nil
			}
			return nil, fmt.Errorf("parameter %s: %s is out of range", p.name, short(i))
		}
	case kindOptString:
		want = "a string or None"
		if v == starlark.None {
			return nil, nil
		}
		if s, ok := v.(starlark.String); ok {
			return string(s), nil
		}
	}
	return nil, fmt.Errorf("parameter %s must be %s, not %s", p.name, want, v.Type())
}

// fromGo converts a JSON-like SDK result to Starlark. Whole numbers become ints; map keys
// are inserted in sorted order so iteration is deterministic.
func fromGo(v any, depth int) (starlark.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	switch v := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(v), nil
	case string:
		return starlark.String(v), nil
	case int:
		return starlark.MakeInt(v), nil
	case int32:
		return starlark.MakeInt64(int64(v)), nil
	case int64:
		return starlark.MakeInt64(v), nil
	case uint64:
		return starlark.MakeUint64(v), nil
	case float32:
		return number(float64(v)), nil
	case float64:
		return number(v), nil
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return starlark.MakeInt64(i), nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, err
		}
		return number(f), nil
	case []any:
		elems := make([]starlark.Value, len(v))
		for i, e := range v {
			x, err := fromGo(e, depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = x
		}
		return starlark.NewList(elems), nil
	case map[string]any:
		d := starlark.NewDict(len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			x, err := fromGo(v[k], depth+1)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), x); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("unsupported type %T", v)
}

func number(f float64) starlark.Value {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return starlark.MakeInt64(int64(f))
	}
	return starlark.Float(f)
}

// toResult converts the snippet's return value to JSON-like Go values and their JSON,
// refusing (without building it) a result whose JSON would exceed maxBytes.
func toResult(v starlark.Value, maxBytes int) (any, string, error) {
	c := &resultConverter{left: maxBytes, max: maxBytes}
	value, err := c.convert(v, 0)
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return nil, "", fmt.Errorf("result: %w", err)
	}
	js := strings.TrimSuffix(buf.String(), "\n")
	if len(js) > maxBytes {
		return nil, "", limitError(fmt.Sprintf("result too large: %d bytes of JSON, limit %d", len(js), maxBytes))
	}
	return value, js, nil
}

// resultConverter counts a lower bound of the JSON size as it goes, so a huge or
// self-sharing value is refused early.
type resultConverter struct {
	left, max int
}

func (c *resultConverter) use(n int) error {
	if c.left -= n; c.left < 0 {
		return limitError(fmt.Sprintf("result too large: more than %d bytes of JSON", c.max))
	}
	return nil
}

func (c *resultConverter) convert(v starlark.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, limitError(fmt.Sprintf("result nested more than %d levels deep", maxDepth))
	}
	if err := c.use(1); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		if i, ok := v.Int64(); ok {
			return i, nil
		}
		return nil, fmt.Errorf("result: integer of %d bits does not fit in 64 bits", bitLen(v))
	case starlark.Float:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("result: %v cannot be represented in JSON", v)
		}
		return f, nil
	case starlark.String:
		return string(v), c.use(len(v) + 2)
	case starlark.Bytes:
		return string(v), c.use(len(v) + 2)
	case *starlark.List, starlark.Tuple, *starlark.Set:
		list := make([]any, 0, starlark.Len(v))
		for e := range starlark.Elements(v.(starlark.Iterable)) {
			x, err := c.convert(e, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, x)
		}
		return list, nil
	case *starlark.Dict:
		m := make(map[string]any, v.Len())
		for k, e := range v.Entries() {
			key, err := jsonKey(k)
			if err == nil {
				err = c.use(len(key) + 3)
			}
			if err != nil {
				return nil, err
			}
			x, err := c.convert(e, depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = x
		}
		return m, nil
	}
	return nil, fmt.Errorf("result: cannot convert %s to JSON", v.Type())
}

// jsonKey converts a dict key as Python's json.dumps does.
func jsonKey(k starlark.Value) (string, error) {
	switch k := k.(type) {
	case starlark.String:
		return string(k), nil
	case starlark.Int:
		if _, ok := k.Int64(); ok {
			return k.String(), nil
		}
	case starlark.Float:
		return k.String(), nil
	case starlark.Bool:
		if k {
			return "true", nil
		}
		return "false", nil
	case starlark.NoneType:
		return "null", nil
	}
	return "", errors.New("result: dict key of type " + k.Type() + " cannot be a JSON object key")
}
