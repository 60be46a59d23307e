// Package jobcode runs a job's code snippet — Python-style code written by our users —
// in Starlark (go.starlark.net), sandboxed and bounded. See Run.
//
// # Language
//
// A snippet is Starlark with three Python habits accepted:
//   - `global a, b` statements are accepted and ignored (Starlark reserves the word);
//   - a top-level `return value` ends the snippet; the value is the run's result;
//   - if/for/while at top level, while loops and set() are allowed. Recursion is not.
//
// The snippet's statements are run as the body of a function, so its top-level names are
// that function's locals: a nested def can read them but not assign them — an ignored
// `global` does not change that, so such an assignment fails with "local variable ...
// referenced before assignment". Error positions are the user's own lines and columns.
//
// # Environment
//
// Only these names exist: Starlark's universe (None, len, str, sorted, ...), the json and
// math modules, log_print(msg, level="INFO") and its alias print_log, print (logged at
// INFO), params (the run's parameters, a dict; empty unless the run was started with
// some, Env.Params), and the eight sdk_* functions, which forward to the SDK interface.
// There is no file, network, environment or clock access, and load() is refused.
//
// # Limits
//
// A run is bounded by Limits:
//   - MaxSteps: Starlark execution steps (one per bytecode instruction). Work that
//     built-ins do out of the interpreter's sight is charged to the same budget: iterating
//     a range or string view (any(range(n)), list(range(n))), and walking a value to
//     hash, compare or print it, counted the way that operation traverses it — so values
//     built by sharing references (t = (t, t) repeated) cost what hashing or printing them
//     really costs and are stopped, not run for ever.
//   - MaxAllocBytes: the estimated bytes of values the snippet creates in bulk over the
//     whole run. Every operation that can create a value much larger than the steps it
//     takes — `+`, `*` and `%` on strings, bytes, lists and tuples, slicing, str/repr/
//     print/format/join/replace/json.encode, list(), sorted(), dict.items() and the other
//     copying built-ins and methods, list/dict/set growth, *args unpacking — is estimated
//     before it runs and refused if it does not fit, then charged. ("x" * 100000000 fails
//     at once, having allocated nothing.) Integers are capped at 65536 bits, and int() and
//     json.decode refuse numbers longer than 4300 digits (Go parses those in quadratic
//     time).
//   - Timeout and the context: the thread is cancelled; the error is ErrTimeout or
//     ErrCanceled.
//   - MaxLogBytes (log truncated, with a marker line), MaxResultBytes (JSON of the
//     result), MaxCodeBytes (checked before parsing).
//
// These bounds are enforced by rewriting the parsed snippet so that the operations above
// go through a guard before the interpreter performs them.
//
// # What remains unbounded
//
// Starlark has no memory accounting, and the guard's figures are estimates, not
// measurements. Precisely:
//   - Allocations the interpreter makes one element per step (list and dict literals,
//     comprehensions, closures, small strings) are not charged; they are bounded by
//     MaxSteps only, roughly tens of bytes per step (a few hundred MB at the default
//     10,000,000 steps). Lower MaxSteps to tighten this.
//   - Memory is the process's: runs share the Go heap, and nothing here isolates one run's
//     memory from another's or caps the process. For hard isolation, run snippets in a
//     separate process under OS limits (cgroups, rlimit).
//   - Cancellation is observed between steps. A single built-in call that is slow on
//     large but admissible inputs (e.g. strip() with a long non-ASCII character set, or a
//     sort of a very large list) delays it; Run then returns at the deadline anyway, and
//     the abandoned goroutine finishes that call in the background.
//   - sdk_* calls are not counted beyond their steps; the SDK implementation should apply
//     its own rate limits.
package jobcode
