package jobcode

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	starjson "go.starlark.net/lib/json"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// SDK performs the sdk_* calls of a snippet on behalf of the job's own project.
type SDK interface {
	// Call performs fn (e.g. "sdk_add_job") with args keyed by the parameter names of the
	// Python signature (None → nil; defaults filled in), returning a JSON-like value: nil,
	// bool, float64/int64, string, []any, map[string]any.
	Call(ctx context.Context, fn string, args map[string]any) (any, error)
}

// Limits bounds one run. Zero fields take the documented defaults.
type Limits struct {
	MaxSteps       uint64        // Starlark execution steps; 0 → default 10,000,000
	Timeout        time.Duration // wall clock; 0 → default 30s
	MaxLogBytes    int           // total log kept; 0 → default 64 KiB; beyond it the log is truncated with a marker line
	MaxResultBytes int           // JSON size of the result; 0 → default 64 KiB; larger → run fails "result too large"
	MaxCodeBytes   int           // 0 → default 64 KiB; larger → fails before running
	// MaxAllocBytes bounds the estimated bytes of values the snippet creates in bulk over the
	// whole run (see the package documentation); 0 → default 64 MiB.
	MaxAllocBytes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxSteps == 0 {
		l.MaxSteps = 10_000_000
	}
	if l.Timeout <= 0 {
		l.Timeout = 30 * time.Second
	}
	if l.MaxLogBytes <= 0 {
		l.MaxLogBytes = 64 << 10
	}
	if l.MaxResultBytes <= 0 {
		l.MaxResultBytes = 64 << 10
	}
	if l.MaxCodeBytes <= 0 {
		l.MaxCodeBytes = 64 << 10
	}
	if l.MaxAllocBytes <= 0 {
		l.MaxAllocBytes = 64 << 20
	}
	return l
}

// Result is the outcome of a run.
type Result struct {
	Value any    // the returned value converted to JSON-like Go values (nil when none)
	JSON  string // Value marshalled as JSON ("null" when none)
	Log   string // the run's log lines, "LEVEL message" per line
}

// Error kinds. Every error returned by Run is an *Error whose Kind is one of these, so
// errors.Is(err, ErrTimeout) and friends classify it.
var (
	ErrSyntax   = errors.New("syntax error")   // the snippet does not parse or resolve; nothing ran
	ErrRuntime  = errors.New("runtime error")  // the snippet failed (including failed sdk_* calls)
	ErrLimit    = errors.New("limit exceeded") // a Limits bound or a sandbox cap was hit
	ErrTimeout  = errors.New("timeout")        // Limits.Timeout or the context deadline passed
	ErrCanceled = errors.New("canceled")       // the context was canceled
)

// Error is a failed run. Error() is one line naming the kind and the user's line number;
// Backtrace adds the Starlark call stack when the failure happened inside the snippet.
// Unwrap exposes Kind and the underlying cause (e.g. the error returned by SDK.Call).
type Error struct {
	Kind      error  // ErrSyntax, ErrRuntime, ErrLimit, ErrTimeout or ErrCanceled
	Line      int    // 1-based line in the user's snippet; 0 when unknown
	Col       int    // 1-based column of a syntax error; 0 when unknown
	Msg       string // what went wrong, without the kind and line
	Backtrace string // "Traceback (most recent call last): ..." or ""
	cause     error
}

func (e *Error) Error() string {
	if e.Line > 0 && e.Col > 0 {
		return fmt.Sprintf("%v at line %d, column %d: %s", e.Kind, e.Line, e.Col, e.Msg)
	}
	if e.Line > 0 {
		return fmt.Sprintf("%v at line %d: %s", e.Kind, e.Line, e.Msg)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Msg)
}

func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

// abandonAfter is how long Run waits, once the deadline has passed or ctx is canceled, for
// the interpreter to notice. Cancellation is only observed between Starlark steps, so a
// single long built-in call can outlive it; Run then returns without waiting for it.
const abandonAfter = 100 * time.Millisecond

// Env is what a run is given besides its code and limits.
type Env struct {
	// Params are the run's parameters, a JSON object the snippet reads as params ({} when
	// empty). The caller bounds their size (job.Params).
	Params string
	// OnLog, when not nil, is given each line of the log as it is written ("LEVEL
	// message", without the line break; the truncation marker too, then no more): a live
	// log. It is called with the log's lock held, so it must not block.
	OnLog func(line string)
}

// Run executes code with no parameters: RunWith with the zero Env.
func Run(ctx context.Context, code string, sdk SDK, lim Limits) (Result, error) {
	return RunWith(ctx, code, sdk, lim, Env{})
}

// RunWith executes code. ctx cancellation and Limits.Timeout cancel the Starlark thread; the
// error then says "timeout" (deadline) or "canceled". A Starlark error's message includes the
// user's line number. Run never panics, whatever the snippet does. On failure the Result
// still carries the log collected so far. sdk may be nil, in which case sdk_* calls fail.
func RunWith(ctx context.Context, code string, sdk SDK, lim Limits, env Env) (Result, error) {
	lim = lim.withDefaults()
	r := &run{lim: lim, sdk: sdk, env: env, log: logBuf{max: lim.MaxLogBytes, onLine: env.OnLog}}
	if len(code) > lim.MaxCodeBytes {
		return r.fail(&Error{Kind: ErrLimit, Msg: fmt.Sprintf("code is %d bytes, limit is %d", len(code), lim.MaxCodeBytes)})
	}
	if err := ctx.Err(); err != nil {
		kind := ErrCanceled
		if errors.Is(err, context.DeadlineExceeded) {
			kind = ErrTimeout
		}
		return r.fail(&Error{Kind: kind, Msg: "not started: " + context.Cause(ctx).Error(), cause: err})
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	r.ctx = ctx
	th := &starlark.Thread{
		Name:  "jobcode",
		Print: func(_ *starlark.Thread, msg string) { r.log.add("INFO", msg) },
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, errors.New("load() is not available in job code")
		},
	}
	r.guard = newGuard(lim, &r.stopped)
	th.OnMaxSteps = func(th *starlark.Thread) {
		r.guard.stepsExceeded = true
		th.Cancel("too many steps")
	}
	th.SetMaxExecutionSteps(lim.MaxSteps)
	stop := context.AfterFunc(ctx, func() {
		r.stopped.Store(true)
		th.Cancel(ctx.Err().Error())
	})
	defer stop()

	done := make(chan outcome, 1)
	go func() { done <- r.exec(th, code) }()
	var out outcome
	select {
	case out = <-done:
	case <-ctx.Done():
		select {
		case out = <-done:
		case <-time.After(abandonAfter):
			out = outcome{abandoned: true}
		}
	}
	if out.err == nil && !out.abandoned {
		return Result{Value: out.value, JSON: out.json, Log: r.log.String()}, nil
	}
	return r.fail(r.classify(ctx, out, time.Since(start)))
}

// run is the state of one Run call.
type run struct {
	ctx     context.Context
	lim     Limits
	sdk     SDK
	env     Env
	log     logBuf
	guard   *guard
	stopped atomic.Bool // set once ctx is done; polled by long guard computations
}

type outcome struct {
	value     any
	json      string
	err       error
	abandoned bool // the interpreter did not stop within abandonAfter of cancellation
}

// exec compiles and runs the snippet on the calling goroutine. It owns the thread: nothing
// else touches th (except th.Cancel) while it runs. A panic anywhere below, in the
// interpreter or in the SDK, becomes an error instead of crashing the process.
func (r *run) exec(th *starlark.Thread, code string) (out outcome) {
	defer func() {
		if p := recover(); p != nil {
			out = outcome{err: fmt.Errorf("internal error: %v", p)}
		}
	}()
	predeclared := r.guard.predeclared(r.bindings())
	prog, err := compileSnippet(code, predeclared.Has)
	if err != nil {
		return outcome{err: err}
	}
	if r.env.Params != "" {
		p, err := starlark.Call(th, starjson.Module.Members["decode"], starlark.Tuple{starlark.String(r.env.Params)}, nil)
		if err != nil {
			return outcome{err: fmt.Errorf("params: %w", err)}
		}
		predeclared["params"] = p
	}
	globals, err := prog.Init(th, predeclared)
	if err != nil {
		return outcome{err: err}
	}
	v, err := starlark.Call(th, globals[mainName], nil, nil)
	if err != nil {
		return outcome{err: err}
	}
	value, js, err := toResult(v, r.lim.MaxResultBytes)
	return outcome{value: value, json: js, err: err}
}

func (r *run) fail(e *Error) (Result, error) {
	return Result{JSON: "null", Log: r.log.String()}, e
}

// classify turns a failed outcome into an *Error. Cancellation wins over whatever error it
// provoked (an SDK call failing with context.DeadlineExceeded is a timeout, too).
func (r *run) classify(ctx context.Context, out outcome, elapsed time.Duration) *Error {
	e := &Error{Kind: ErrRuntime, cause: out.err}
	if out.err != nil {
		e.Msg = out.err.Error()
	}
	if se := syntaxError(out.err); se != nil {
		return se
	}
	var evalErr *starlark.EvalError
	if errors.As(out.err, &evalErr) {
		e.Msg = evalErr.Msg
		e.Line, e.Backtrace = backtrace(evalErr)
	}
	defer func() {
		if e.Backtrace != "" {
			e.Backtrace += "Error: " + e.Msg
		}
	}()
	stopped := fmt.Sprintf("stopped after %v", elapsed.Round(time.Millisecond))
	switch {
	case !out.abandoned && r.guard.stepsExceeded:
		e.Kind, e.Msg = ErrLimit, fmt.Sprintf("too many steps (limit %d)", r.lim.MaxSteps)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		e.Kind, e.Msg = ErrTimeout, stopped
	case ctx.Err() != nil:
		e.Kind, e.Msg = ErrCanceled, stopped+": "+context.Cause(ctx).Error()
	case errors.Is(out.err, ErrLimit):
		e.Kind = ErrLimit
	}
	return e
}

// syntaxError is err as an ErrSyntax *Error with the user's line and column when the
// snippet did not parse or resolve, else nil.
func syntaxError(err error) *Error {
	var syntaxErr syntax.Error
	var resolveErrs resolve.ErrorList
	e := &Error{Kind: ErrSyntax, cause: err}
	switch {
	case errors.As(err, &syntaxErr):
		e.Line, e.Col, e.Msg = int(syntaxErr.Pos.Line), int(syntaxErr.Pos.Col), syntaxErr.Msg
		// The parser places an unexpected end of line at the start of the next line;
		// the mistake (typically a missing ':') is at the end of the line that ended.
		if strings.HasPrefix(e.Msg, "got newline") && syntaxErr.Pos.Col == 1 && e.Line > 1 {
			e.Line, e.Col = e.Line-1, 0
		}
	case errors.As(err, &resolveErrs):
		e.Line, e.Col, e.Msg = int(resolveErrs[0].Pos.Line), int(resolveErrs[0].Pos.Col), resolveErrs[0].Msg
		if n := len(resolveErrs); n > 1 {
			e.Msg += fmt.Sprintf(" (and %d more errors)", n-1)
		}
	default:
		return nil
	}
	return e
}

// Check compiles code as Run does, without running it: code that does not parse, or
// names something that is not defined, is refused when a job is written instead of
// failing each time it fires. The error is an ErrSyntax *Error with the line and column.
func Check(code string) error {
	lim := Limits{}.withDefaults()
	if len(code) > lim.MaxCodeBytes {
		return &Error{Kind: ErrLimit, Msg: fmt.Sprintf("code is %d bytes, limit is %d", len(code), lim.MaxCodeBytes)}
	}
	r := &run{lim: lim}
	r.guard = newGuard(lim, &r.stopped)
	if _, err := compileSnippet(code, r.guard.predeclared(r.bindings()).Has); err != nil {
		if se := syntaxError(err); se != nil {
			return se
		}
		return &Error{Kind: ErrSyntax, Msg: err.Error(), cause: err}
	}
	return nil
}

// backtrace returns the innermost user line of err and its call stack in user terms (the
// snippet's own frame is "<code>", the guard's internal helpers are left out), ready for
// a final "Error: ..." line.
func backtrace(err *starlark.EvalError) (line int, trace string) {
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	for _, fr := range err.CallStack {
		switch {
		case fr.Pos.Filename() != fileName:
			if !strings.HasPrefix(fr.Name, "$") {
				fmt.Fprintf(&b, "  in %s\n", fr.Name)
			}
		default:
			name := fr.Name
			if name == mainName {
				name = "<code>"
			}
			line = int(fr.Pos.Line)
			fmt.Fprintf(&b, "  line %d, col %d, in %s\n", fr.Pos.Line, fr.Pos.Col, name)
		}
	}
	if line == 0 {
		return 0, ""
	}
	return line, b.String()
}

// logBuf is the run's log. It is shared with Run, which may read it while an abandoned
// interpreter goroutine still writes, hence the mutex.
type logBuf struct {
	mu        sync.Mutex
	b         strings.Builder
	max       int
	truncated bool
	onLine    func(string)
}

// add appends "LEVEL msg\n". The first line that does not fit is cut to the remaining room
// and followed by a single marker line; later lines are dropped.
func (l *logBuf) add(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.truncated {
		return
	}
	line := level + " " + msg + "\n"
	if room := l.max - l.b.Len(); len(line) > room {
		if cut := validPrefix(line, room); cut != "" {
			l.b.WriteString(cut)
			if !strings.HasSuffix(cut, "\n") {
				l.b.WriteByte('\n')
			}
			l.told(strings.TrimSuffix(cut, "\n"))
		}
		marker := fmt.Sprintf("WARN log truncated: limit of %d bytes reached", l.max)
		l.b.WriteString(marker + "\n")
		l.told(marker)
		l.truncated = true
		return
	}
	l.b.WriteString(line)
	l.told(line[:len(line)-1])
}

// told hands a line written to the live log's follower, if any.
func (l *logBuf) told(line string) {
	if l.onLine != nil {
		l.onLine(line)
	}
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// validPrefix returns the longest prefix of s of at most n bytes that does not split a
// UTF-8 sequence.
func validPrefix(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if n >= len(s) {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
