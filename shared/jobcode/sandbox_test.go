package jobcode_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/jobcode"
)

// TestHostile runs snippets written to exhaust the host. Each must fail with the stated
// kind and reason, promptly, without panicking or hanging.
func TestHostile(t *testing.T) {
	t.Parallel()
	lim := jobcode.Limits{MaxSteps: 200_000, Timeout: 5 * time.Second, MaxAllocBytes: 1 << 20, MaxLogBytes: 1024}
	const dagTuple = "t = ()\nfor i in range(100):\n    t = (t, t)\n"
	const dagList = "l = [0]\nfor i in range(100):\n    l = [l, l]\n"
	const big = "s = 'x' * 100000\n"
	tests := []struct {
		name, code string
		kind       error
		contains   string
	}{
		{"infinite loop", "while True:\n    pass", jobcode.ErrLimit, "too many steps (limit 200000)"},
		{"deep loops", "n = 0\nfor i in range(1000):\n    for j in range(1000):\n        for k in range(1000):\n            n += 1", jobcode.ErrLimit, "too many steps"},
		{"string repeat", `s = "x" * 100000000`, jobcode.ErrLimit, "memory limit"},
		{"repeat count first", `s = 100000000 * "x"`, jobcode.ErrLimit, "memory limit"},
		{"list repeat", "l = [0] * 100000000", jobcode.ErrLimit, "memory limit"},
		{"list from range", "l = list(range(100000000))", jobcode.ErrLimit, "too many steps"},
		{"appending forever", "l = []\nwhile True:\n    l.append('y' * 1000)", jobcode.ErrLimit, "memory limit"},
		{"doubling a string", "s = 'x'\nwhile True:\n    s += s", jobcode.ErrLimit, "memory limit"},
		{"doubling a list", "l = [0]\nwhile True:\n    l = l + l", jobcode.ErrLimit, "memory limit"},
		{"extending by itself", "l = [0]\nwhile True:\n    l += l", jobcode.ErrLimit, "memory limit"},
		{"squaring an int", "x = 3\nwhile True:\n    x = x * x", jobcode.ErrLimit, "integer result larger than 65536 bits"},
		{"shifting an int", "x = 1\nwhile True:\n    x <<= 500", jobcode.ErrLimit, "integer result larger than 65536 bits"},
		{"int from long digits", "x = int('9' * 5000)", jobcode.ErrLimit, "longer than 4300 digits"},
		{"json number", "x = json.decode('9' * 5000)", jobcode.ErrLimit, "longer than 4300 digits"},
		{"join amplification", big + "r = ''.join([s] * 1000)", jobcode.ErrLimit, "join: would allocate"},
		{"replace amplification", big + "r = s.replace('x', s)", jobcode.ErrLimit, "replace: would allocate"},
		{"format amplification", big + "r = ('{0}' * 1000).format(s)", jobcode.ErrLimit, "format: would allocate"},
		{"percent amplification", big + "r = ('%s' * 1000) % ((s,) * 1000)", jobcode.ErrLimit, "operator %: would allocate"},
		{"percent dict reuse", big + "r = ('%(a)s' * 1000) % {'a': s}", jobcode.ErrLimit, "operator %: would allocate"},
		{"str of shared list", big + "l = [s] * 1000\nr = str(l)", jobcode.ErrLimit, "str: result would exceed the memory limit"},
		{"print of shared list", big + "l = [s] * 1000\nprint(l)", jobcode.ErrLimit, "print: result would exceed"},
		{"log of shared list", big + "l = [s] * 1000\nlog_print(l)", jobcode.ErrLimit, "log_print: result would exceed"},
		{"json of shared list", big + "l = [s] * 1000\nr = json.encode(l)", jobcode.ErrLimit, "json.encode: result would exceed"},
		{"json indent amplification", big + "r = json.encode_indent([[[[[[1]]]]]] * 1000, indent=s)", jobcode.ErrLimit, "json.encode_indent: would allocate"},
		{"json text indent amplification", big + "r = json.indent('[' * 100 + ']' * 100, indent=s)", jobcode.ErrLimit, "json.indent: would allocate"},
		{"printing a DAG", dagList + "print(l)", jobcode.ErrLimit, "print: "},
		{"printing a DAG of few bytes", "l = []\nfor i in range(100):\n    l = [l, l]\nprint(l)", jobcode.ErrLimit, "print: "},
		{"hashing a DAG tuple in a literal", dagTuple + "d = {t: 1}", jobcode.ErrLimit, "too many steps"},
		{"hashing a DAG tuple on store", dagTuple + "d = {}\nd[t] = 1", jobcode.ErrLimit, "dict key: too many steps"},
		{"hashing a DAG tuple on lookup", dagTuple + "d = {}\nx = d.get(t)", jobcode.ErrLimit, "get: too many steps"},
		{"DAG membership", dagTuple + "x = t in {}", jobcode.ErrLimit, "operator in: too many steps"},
		{"DAG in a set", dagTuple + "x = set([t])", jobcode.ErrLimit, "set: too many steps"},
		{"comparing wide DAGs", "a = [[0] * 1000] * 1000\nb = [[0] * 1000] * 1000\nfor i in range(3):\n    a = [a] * 1000\n    b = [b] * 1000\nx = a == b", jobcode.ErrLimit, "operator ==: too many steps"},
		{"sorting wide DAGs", "a = [[0] * 1000] * 1000\nb = [[0] * 1000] * 1000\nx = sorted([a, b])", jobcode.ErrLimit, "sorted: too many steps"},
		{"iterating a huge range in a builtin", "x = all(range(1, 2000000000))", jobcode.ErrLimit, "all: too many steps"},
		{"spreading a huge range", "def f(*a):\n    return a\nf(*range(100000000))", jobcode.ErrLimit, "argument unpacking: too many steps"},
		{"extending with a huge range", "l = []\nl.extend(range(100000000))", jobcode.ErrLimit, "extend: too many steps"},
		{"huge key in an error stays short", big + "t = (s,) * 1000\nd = {}\nx = d[t]", jobcode.ErrRuntime, "(tuple too long to show) not in dict"},
		{"recursion", "def f(n):\n    return f(n + 1)\nf(0)", jobcode.ErrRuntime, "called recursively"},
		{"mutual recursion", "def f():\n    return g()\ndef g():\n    return f()\nf()", jobcode.ErrRuntime, "called recursively"},
		{"load", `load("x", "y")`, jobcode.ErrSyntax, "load() is not available"},
		{"load in a function", "def f():\n    load('x', 'y')", jobcode.ErrSyntax, "load() is not available"},
		{"deep nesting in source", strings.Repeat("(", 5000) + strings.Repeat(")", 5000), jobcode.ErrSyntax, "nesting"},
		{"deeply nested value printed", "l = []\nfor i in range(5000):\n    l = [l]\nprint(l)", jobcode.ErrLimit, "nested more than 1000 levels"},
		{"deeply nested tuple hashed", "t = ()\nfor i in range(5000):\n    t = (t,)\nd = {t: 1}", jobcode.ErrLimit, "nested more than 1000 levels"},
		{"no file access", "open('/etc/passwd')", jobcode.ErrSyntax, "undefined: open"},
		{"no imports", "import os", jobcode.ErrSyntax, ""},
		{"no clock", "time.now()", jobcode.ErrSyntax, "undefined: time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := jobcode.Run(context.Background(), tt.code, &fakeSDK{}, lim)
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("took %v", elapsed)
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("err = %v\n want %v containing %q", err, tt.kind, tt.contains)
			}
		})
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	unbounded := jobcode.Limits{MaxSteps: 1 << 62, Timeout: 50 * time.Millisecond}
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		res, err := jobcode.Run(context.Background(), "log_print('start')\nwhile True:\n    pass", nil, unbounded)
		if !errors.Is(err, jobcode.ErrTimeout) || !strings.Contains(err.Error(), "timeout at line") {
			t.Errorf("err = %v, want a timeout with a line", err)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("took %v", elapsed)
		}
		if res.Log != "INFO start\n" {
			t.Errorf("Log = %q", res.Log)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := jobcode.Run(ctx, "while True:\n    pass", nil, jobcode.Limits{MaxSteps: 1 << 62})
		if !errors.Is(err, jobcode.ErrTimeout) {
			t.Errorf("err = %v, want ErrTimeout", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		_, err := jobcode.Run(ctx, "while True:\n    pass", nil, jobcode.Limits{MaxSteps: 1 << 62})
		if !errors.Is(err, jobcode.ErrCanceled) || !strings.Contains(err.Error(), "canceled") {
			t.Errorf("err = %v, want ErrCanceled", err)
		}
	})
	t.Run("already canceled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := jobcode.Run(ctx, "x = 1", nil, testLimits)
		if !errors.Is(err, jobcode.ErrCanceled) {
			t.Errorf("err = %v, want ErrCanceled", err)
		}
	})
	t.Run("blocking sdk call", func(t *testing.T) {
		t.Parallel()
		_, err := jobcode.Run(context.Background(), "sdk_exec_job('j')", blockingSDK{}, unbounded)
		if !errors.Is(err, jobcode.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want ErrTimeout wrapping context.DeadlineExceeded", err)
		}
	})
	t.Run("sdk that ignores its context is abandoned", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		defer close(release)
		start := time.Now()
		_, err := jobcode.Run(context.Background(), "sdk_exec_job('j')", stuckSDK(release), unbounded)
		if !errors.Is(err, jobcode.ErrTimeout) {
			t.Errorf("err = %v, want ErrTimeout", err)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("took %v", elapsed)
		}
	})
}

// blockingSDK waits for its context.
type blockingSDK struct{}

func (blockingSDK) Call(ctx context.Context, _ string, _ map[string]any) (any, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// stuckSDK ignores its context until released.
type stuckSDK chan struct{}

func (s stuckSDK) Call(context.Context, string, map[string]any) (any, error) {
	<-s
	return nil, nil
}
