package jobcode_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/jobcode"
)

type sdkCall struct {
	Fn   string
	Args map[string]any
}

// fakeSDK records calls and answers from canned results and errors.
type fakeSDK struct {
	mu      sync.Mutex
	calls   []sdkCall
	results map[string]any
	errs    map[string]error
}

func (f *fakeSDK) Call(_ context.Context, fn string, args map[string]any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, sdkCall{fn, args})
	if err := f.errs[fn]; err != nil {
		return nil, err
	}
	return f.results[fn], nil
}

func (f *fakeSDK) recorded() []sdkCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sdkCall(nil), f.calls...)
}

// testLimits keeps the suite fast; individual tests override fields.
var testLimits = jobcode.Limits{MaxSteps: 200_000, Timeout: 5 * time.Second, MaxAllocBytes: 1 << 20}

const seedSnippet = `# 导入SDK
global sdk_add_job

pid = "d1138d88-49ec-11f0-b168-c6ee2c8e08e7" # 目录ID
name = "SDK周期任务"
trigger = "interval"
seconds = 300
code = """log_print("周期任务", "INFO")"""
job_info1 = sdk_add_job(pid, name, "desc", trigger, seconds=seconds, code=code)

job_id = "d6ef550c-49ec-11f0-845f-c6ee2c8e08e7"
sdk_start_job(job_id)
return {"新周期任务": job_info1}
`

func TestSeedSnippet(t *testing.T) {
	t.Parallel()
	sdk := &fakeSDK{results: map[string]any{
		"sdk_add_job":   map[string]any{"id": "new-job", "seconds": 300.0, "ok": true},
		"sdk_start_job": true,
	}}
	res, err := jobcode.Run(context.Background(), seedSnippet, sdk, testLimits)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	wantCalls := []sdkCall{
		{"sdk_add_job", map[string]any{
			"pid": "d1138d88-49ec-11f0-b168-c6ee2c8e08e7", "name": "SDK周期任务", "description": "desc",
			"trigger": "interval", "seconds": int64(300), "run_date": nil, "flow_id": nil,
			"code": `log_print("周期任务", "INFO")`,
		}},
		{"sdk_start_job", map[string]any{"job_id": "d6ef550c-49ec-11f0-845f-c6ee2c8e08e7"}},
	}
	if got := sdk.recorded(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("calls:\n got %#v\nwant %#v", got, wantCalls)
	}
	wantValue := map[string]any{"新周期任务": map[string]any{"id": "new-job", "seconds": int64(300), "ok": true}}
	if !reflect.DeepEqual(res.Value, wantValue) {
		t.Errorf("Value = %#v, want %#v", res.Value, wantValue)
	}
	if want := `{"新周期任务":{"id":"new-job","ok":true,"seconds":300}}`; res.JSON != want {
		t.Errorf("JSON = %s, want %s", res.JSON, want)
	}
}

func TestSDKSignatures(t *testing.T) {
	t.Parallel()
	job := func(first, id string, extra map[string]any) map[string]any {
		m := map[string]any{first: id, "name": "n", "description": "d", "trigger": "date",
			"seconds": int64(60), "run_date": nil, "flow_id": nil, "code": nil}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		code string
		want sdkCall
	}{
		{`sdk_add_job("p", "n", "d", "date")`, sdkCall{"sdk_add_job", job("pid", "p", nil)}},
		{`sdk_add_job(pid="p", name="n", description="d", trigger="date", run_date="2025-01-01 00:00:00", flow_id=None, code="x=1")`,
			sdkCall{"sdk_add_job", job("pid", "p", map[string]any{"run_date": "2025-01-01 00:00:00", "code": "x=1"})}},
		{`sdk_update_job("i", "n", "d", "date", 5, None, "f")`,
			sdkCall{"sdk_update_job", job("id", "i", map[string]any{"seconds": int64(5), "flow_id": "f"})}},
		{`sdk_get_job("i")`, sdkCall{"sdk_get_job", map[string]any{"id": "i"}}},
		{`sdk_get_job(id="i")`, sdkCall{"sdk_get_job", map[string]any{"id": "i"}}},
		{`sdk_get_jobs()`, sdkCall{"sdk_get_jobs", map[string]any{}}},
		{`sdk_start_job("j")`, sdkCall{"sdk_start_job", map[string]any{"job_id": "j"}}},
		{`sdk_stop_job(job_id="j")`, sdkCall{"sdk_stop_job", map[string]any{"job_id": "j"}}},
		{`sdk_exec_job("j")`, sdkCall{"sdk_exec_job", map[string]any{"job_id": "j"}}},
		{`sdk_delete_job("j")`, sdkCall{"sdk_delete_job", map[string]any{"job_id": "j"}}},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			sdk := &fakeSDK{}
			if _, err := jobcode.Run(context.Background(), tt.code, sdk, testLimits); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := sdk.recorded(); len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("calls = %#v, want [%#v]", got, tt.want)
			}
		})
	}
}

func TestSDKResultConversion(t *testing.T) {
	t.Parallel()
	sdk := &fakeSDK{results: map[string]any{"sdk_get_jobs": []any{
		1.0, 2.5, map[string]any{"b": 1.0, "a": nil}, true, "s", int64(7), json.Number("12"), []any{},
	}}}
	code := `r = sdk_get_jobs()
return [type(x) for x in r] + [r[0] + 1, r[2]["b"] * 2, list(r[2].keys())]`
	res, err := jobcode.Run(context.Background(), code, sdk, testLimits)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := `["int","float","dict","bool","string","int","int","list",2,2,["a","b"]]`
	if res.JSON != want {
		t.Errorf("JSON = %s, want %s", res.JSON, want)
	}
}

func TestTransform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code, want string
	}{
		{"global one name", "global x\nx = 1\nreturn x", `1`},
		{"global several names", "global a, b,c\na = 1\nb = 2\nc = 3\nreturn [a, b, c]", `[1,2,3]`},
		{"global indented in if", "if True:\n    global y\n    y = 3\nreturn y", `3`},
		{"global only statement of a block", "if True:\n    global y\nreturn 1", `1`},
		{"global with comment", "global x  # the SDK\nreturn 'ok'", `"ok"`},
		{"global after semicolon", "x = 1; global x\nreturn x", `1`},
		{"global in nested def", "def f():\n    global counter\n    return 7\nreturn f()", `7`},
		{"identifier starting with global", "globalvar = 1\nreturn globalvar", `1`},
		{"return dict", "return {'a': 1}", `{"a":1}`},
		{"return list", "return [1, 'two', None]", `[1,"two",null]`},
		{"return str", "return 'done'", `"done"`},
		{"return None", "x = 1\nreturn None", `null`},
		{"bare return", "return", `null`},
		{"no return", "x = 1", `null`},
		{"empty snippet", "", `null`},
		{"comments only", "# nothing\n", `null`},
		{"return ends the snippet", "for i in range(10):\n    if i == 3:\n        return i\nreturn -1", `3`},
		{"return inside nested function untouched", "def f():\n    return 5\nr = f()\nreturn r + 1", `6`},
		{"lambda", "f = lambda x: x * 2\nreturn f(21)", `42`},
		{"nested def reads top-level names", "base = 10\ndef f(x):\n    return base + x\nreturn f(1)", `11`},
		{"backslash continuation", "x = 1 + \\\n    2\nreturn x", `3`},
		{"global inside brackets is text", "x = [\n    'global y',\n]\nreturn x", `["global y"]`},
		{"while and set", "s = set([1, 2, 2])\nn = 0\nwhile n < 3:\n    n += 1\nreturn [len(s), n]", `[2,3]`},
		{"json and math", "return [json.encode({'a': [1]}), json.decode('[1, 2.5]'), math.floor(2.7), json.indent('[1]', indent=' '), json.encode_indent({'k': 1})]",
			`["{\"a\":[1]}",[1,2.5],2,"[\n 1\n]","{\n\t\"k\": 1\n}"]`},
		{"tuple and set results are lists", "return [(1, 2), set([3])]", `[[1,2],[3]]`},
		{"non-string dict keys", "return {1: 'a', True: 'b', None: 'c'}", `{"1":"a","null":"c","true":"b"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := jobcode.Run(context.Background(), tt.code, nil, testLimits)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.JSON != tt.want {
				t.Errorf("JSON = %s, want %s", res.JSON, tt.want)
			}
		})
	}
}

// TestTripleQuotedStringUnchanged checks that neither the global blanking nor the move into
// a function touches the content of multi-line strings.
func TestTripleQuotedStringUnchanged(t *testing.T) {
	t.Parallel()
	const s1 = "line one\nreturn 42\nglobal y\n    indented line\n\ttab line\nglobal a, b\n"
	const s2 = "also\n    global z\nreturn 0 \\\"quoted\\\" end"
	code := "s = \"\"\"" + s1 + "\"\"\"\nt = '''" + s2 + "'''\nglobal q\nreturn [s, t]\n"
	res, err := jobcode.Run(context.Background(), code, nil, testLimits)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []any{s1, strings.ReplaceAll(s2, `\"`, `"`)}
	if !reflect.DeepEqual(res.Value, want) {
		t.Errorf("Value = %q, want %q", res.Value, want)
	}
}

// TestSemanticsPreserved runs ordinary code through the guarded rewrite and checks the
// results Starlark itself gives.
func TestSemanticsPreserved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code, want string
	}{
		{"list += is in place", "a = [1]\nb = a\na += [2]\na += range(3, 5)\nreturn b", `[1,2,3,4]`},
		{"dict |= is in place", "d = {'a': 1}\ne = d\nd |= {'b': 2}\nreturn e", `{"a":1,"b":2}`},
		{"tuple += makes a new tuple", "t = (1,)\nu = t\nt += (2,)\nreturn [t, u]", `[[1,2],[1]]`},
		{"augmented target evaluated once", "calls = []\ndef f():\n    calls.append(1)\n    return 0\na = [10]\na[f()] += 5\nreturn [a, len(calls)]", `[[15],1]`},
		{"augmented dict entry and ops", "d = {'n': 2, 's': 'a'}\nd['n'] *= 10\nd['n'] -= 1\nd['n'] //= 2\nd['s'] += 'b'\nx = 5\nx %= 3\nx <<= 4\nx |= 1\nreturn [d, x]", `[{"n":9,"s":"ab"},33]`},
		{"arithmetic", "return [1 + 2 * 3, 7 // 2, 7 % 3, abs(-1), -7 / 2, 5 & 3, 5 | 3, 5 ^ 3, 1 << 4, 256 >> 2]", `[7,3,1,1,-3.5,1,7,6,16,64]`},
		{"comparisons and membership", "return [1 < 2, [1, 2] == [1, 2], (1, 2) < (1, 3), 'a' in 'cat', 3 in [1, 2], 'k' not in {'k': 1}, 2 in range(5)]", `[true,true,true,true,false,false,true]`},
		{"strings", "s = 'a,b,c'\nreturn [s.split(','), '-'.join(['x', 'y']), s.replace(',', ';'), '{} {x}'.format(1, x=2), '%s=%d' % ('n', 5), s.upper(), s[::-1], s[2:], ' t '.strip()]",
			`[["a","b","c"],"x-y","a;b;c","1 2","n=5","A,B,C","c,b,a","b,c","t"]`},
		{"repeat and concat", "return ['ab' * 3, [0] * 3, 2 * (1,), [1] + [2], 'a' + 'b']", `["ababab",[0,0,0],[1,1],[1,2],"ab"]`},
		{"builtins", "d = {'b': 2, 'a': 1}\nreturn [sorted(d), sorted([3, 1, 2], key=lambda x: -x), min(4, 2), max([1, 5]), list(zip([1, 2], 'ab'.elems())), list(enumerate('xy'.elems())), dict(a=1), len(d), list(reversed([1, 2])), any([0, 1]), all([])]",
			`[["a","b"],[3,2,1],2,5,[[1,"a"],[2,"b"]],[[0,"x"],[1,"y"]],{"a":1},2,[2,1],true,true]`},
		{"dict methods and literals with computed keys", "k = 'x'\nd = {k: 1, k + 'y': 2}\nd.update({'z': 3})\nd.setdefault('w', 4)\nz = d.pop('z')\nreturn [d, d.get('q', 0), z, sorted(d.items())]", `[{"w":4,"x":1,"xy":2},0,3,[["w",4],["x",1],["xy",2]]]`},
		{"tuple keys and comprehensions", "d = {(i, i + 1): i for i in range(3)}\nreturn [d[(1, 2)], [x * x for x in range(4) if x % 2], (0, 1) in d]", `[1,[1,9],true]`},
		{"list methods", "l = [3, 1, 2]\nl.append(4)\nl.extend([5])\nl.insert(0, 0)\nl.remove(3)\nreturn [l, l.index(2), l.pop()]", `[[0,1,2,4],2,5]`},
		{"star args", "def f(*args, **kwargs):\n    return [args, kwargs]\nreturn f(*[1, 2], **{'k': 3})", `[[1,2],{"k":3}]`},
		{"str and repr", "return [str(1), repr('a'), str([1, 'b']), str(None)]", `["1","\"a\"","[1, \"b\"]","None"]`},
		{"getattr and methods", "f = getattr('abc', 'upper')\nreturn [f(), hasattr('x', 'nope'), 'a-b'.split('-')[1]]", `["ABC",false,"b"]`},
		{"cyclic list prints", "l = [1]\nl.append(l)\nreturn str(l)", `"[1, [...]]"`},
		{"big ints within bounds", "x = 1\nfor i in range(100):\n    x = x * 3\nreturn x % 1000", `1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := jobcode.Run(context.Background(), tt.code, nil, testLimits)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.JSON != tt.want {
				t.Errorf("JSON = %s\n      want %s", res.JSON, tt.want)
			}
		})
	}
}

func TestLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code string
		maxLog     int
		want       string
	}{
		{"levels", "log_print('a')\nlog_print('b', 'ERROR')\nprint_log('c', level='warning')\nprint('d', 1, [2])\nlog_print({'k': 1}, 'debug')",
			0, "INFO a\nERROR b\nWARNING c\nINFO d 1 [2]\nDEBUG {\"k\": 1}\n"},
		{"unicode", "log_print('周期任务', 'INFO')", 0, "INFO 周期任务\n"},
		{"truncated with a marker", "for i in range(100):\n    log_print('line %d' % i)", 40,
			"INFO line 0\nINFO line 1\nINFO line 2\nINFO\nWARN log truncated: limit of 40 bytes reached\n"},
		{"no split in a rune", "log_print('ééééééééé')", 10, "INFO éé\nWARN log truncated: limit of 10 bytes reached\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lim := testLimits
			lim.MaxLogBytes = tt.maxLog
			res, err := jobcode.Run(context.Background(), tt.code, nil, lim)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Log != tt.want {
				t.Errorf("Log = %q\n     want %q", res.Log, tt.want)
			}
		})
	}
}

func TestLogKeptOnFailure(t *testing.T) {
	t.Parallel()
	res, err := jobcode.Run(context.Background(), "log_print('before')\nprint('also')\nx = 1 / 0\nlog_print('after')", nil, testLimits)
	if !errors.Is(err, jobcode.ErrRuntime) {
		t.Fatalf("err = %v, want ErrRuntime", err)
	}
	if want := "INFO before\nINFO also\n"; res.Log != want {
		t.Errorf("Log = %q, want %q", res.Log, want)
	}
	if res.Value != nil || res.JSON != "null" {
		t.Errorf("Value, JSON = %v, %s; want nil, null", res.Value, res.JSON)
	}
}

var errNotFound = errors.New("job not found")

func TestErrors(t *testing.T) {
	t.Parallel()
	sdk := &fakeSDK{errs: map[string]error{"sdk_get_job": errNotFound}}
	tests := []struct {
		name, code string
		sdk        jobcode.SDK
		kind       error
		line       int
		contains   []string
	}{
		{"syntax error line", "x = 1\ny = 2\nif x\n    pass", sdk, jobcode.ErrSyntax, 3, []string{"syntax error at line 3"}},
		{"syntax error after triple-quoted string", "s = '''a\nb\nc'''\nx = (1 +\n", sdk, jobcode.ErrSyntax, 5, nil},
		{"syntax error after global", "global a\n\nz = undefined_name", sdk, jobcode.ErrSyntax, 3, []string{"undefined: undefined_name"}},
		{"malformed global", "global\nx = 1", sdk, jobcode.ErrSyntax, 1, nil},
		{"division by zero", "x = 1\n\n\ny = x / 0", sdk, jobcode.ErrRuntime, 4, []string{"runtime error at line 4", "division by zero"}},
		{"error in nested function", "def f():\n    return 1 // 0\n\nf()", sdk, jobcode.ErrRuntime, 2, []string{"division by zero"}},
		{"operator type error", "x = 1\ny = 'a' + 1", sdk, jobcode.ErrRuntime, 2, []string{"unknown binary op: string + int"}},
		{"missing attribute", "'abc'.nope()", sdk, jobcode.ErrRuntime, 1, []string{"string has no .nope field or method"}},
		{"missing key", "d = {}\nreturn d['k']", sdk, jobcode.ErrRuntime, 2, []string{`key "k" not in dict`}},
		{"fail", "fail('bad', 1)", sdk, jobcode.ErrRuntime, 1, []string{"bad 1"}},
		{"sdk error", "log_print('x')\nj = sdk_get_job('nope')", sdk, jobcode.ErrRuntime, 2, []string{"sdk_get_job: job not found"}},
		{"no sdk", "sdk_get_jobs()", nil, jobcode.ErrRuntime, 1, []string{"sdk_get_jobs: no SDK"}},
		{"wrong type seconds", "sdk_add_job('p', 'n', 'd', 'interval', seconds='x')", sdk, jobcode.ErrRuntime, 1, []string{"sdk_add_job", "seconds must be an int, not string"}},
		{"wrong type id", "sdk_get_job(1)", sdk, jobcode.ErrRuntime, 1, []string{"sdk_get_job", "id must be a string, not int"}},
		{"wrong type run_date", "sdk_add_job('p', 'n', 'd', 'date', run_date=5)", sdk, jobcode.ErrRuntime, 1, []string{"run_date must be a string or None, not int"}},
		{"missing argument", "sdk_add_job('p')", sdk, jobcode.ErrRuntime, 1, []string{"sdk_add_job", "missing argument for name"}},
		{"unknown keyword", "sdk_start_job(id='x')", sdk, jobcode.ErrRuntime, 1, []string{"sdk_start_job", "unexpected keyword argument"}},
		{"bad log level", "log_print('x', 'NOT A LEVEL')", sdk, jobcode.ErrRuntime, 1, []string{"invalid level"}},
		{"function result", "return lambda: 1", sdk, jobcode.ErrRuntime, 0, []string{"cannot convert function to JSON"}},
		{"nan result", "return float('nan')", sdk, jobcode.ErrRuntime, 0, []string{"cannot be represented in JSON"}},
		{"tuple key result", "return {(1, 2): 3}", sdk, jobcode.ErrRuntime, 0, []string{"dict key of type tuple"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := jobcode.Run(context.Background(), tt.code, tt.sdk, testLimits)
			var e *jobcode.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *jobcode.Error", err, err)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("err = %v, want kind %v", err, tt.kind)
			}
			if e.Line != tt.line {
				t.Errorf("Line = %d, want %d (err %v)", e.Line, tt.line, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Error() is not one line: %q", err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %q, want it to contain %q", err, s)
				}
			}
		})
	}
}

func TestErrorDetails(t *testing.T) {
	t.Parallel()
	sdk := &fakeSDK{errs: map[string]error{"sdk_get_job": errNotFound}}
	code := "def helper(id):\n    return sdk_get_job(id)\n\nhelper('nope')"
	_, err := jobcode.Run(context.Background(), code, sdk, testLimits)
	if !errors.Is(err, errNotFound) {
		t.Errorf("errors.Is(err, errNotFound) = false for %v", err)
	}
	var e *jobcode.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T, want *jobcode.Error", err)
	}
	want := "Traceback (most recent call last):\n" +
		"  line 4, col 7, in <code>\n" +
		"  line 2, col 23, in helper\n" +
		"  in sdk_get_job\n" +
		"Error: sdk_get_job: job not found"
	if e.Backtrace != want {
		t.Errorf("Backtrace =\n%s\nwant\n%s", e.Backtrace, want)
	}
	if e.Line != 2 {
		t.Errorf("Line = %d, want 2", e.Line)
	}
}

func TestPanickingSDK(t *testing.T) {
	t.Parallel()
	_, err := jobcode.Run(context.Background(), "sdk_get_jobs()", panicSDK{}, testLimits)
	if !errors.Is(err, jobcode.ErrRuntime) || !strings.Contains(err.Error(), "internal error") {
		t.Errorf("err = %v, want an internal runtime error", err)
	}
}

type panicSDK struct{}

func (panicSDK) Call(context.Context, string, map[string]any) (any, error) { panic("boom") }

func TestResultAndCodeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code string
		lim        jobcode.Limits
		contains   string
	}{
		{"result too large", "return 'x' * 200", jobcode.Limits{MaxResultBytes: 100}, "result too large"},
		{"result too large by sharing", "l = ['x' * 50] * 1000\nreturn [l, l]", jobcode.Limits{MaxResultBytes: 1000}, "result too large"},
		{"result nested too deep", "l = []\nfor i in range(2000):\n    l = [l]\nreturn l", jobcode.Limits{}, "nested more than 1000 levels"},
		{"code too large", "x = 1\n" + strings.Repeat("# padding\n", 20), jobcode.Limits{MaxCodeBytes: 100}, "code is 206 bytes, limit is 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := jobcode.Run(context.Background(), tt.code, nil, tt.lim)
			if !errors.Is(err, jobcode.ErrLimit) || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("err = %v, want ErrLimit containing %q", err, tt.contains)
			}
		})
	}
}
