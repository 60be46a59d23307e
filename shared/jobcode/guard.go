package jobcode

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync/atomic"

	starjson "go.starlark.net/lib/json"
	starmath "go.starlark.net/lib/math"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Costs and caps of the guard. Byte figures are estimates of Go heap use, not measurements.
const (
	slotBytes    = 16      // one list or tuple element
	entryBytes   = 64      // one dict or set entry
	maxIntBits   = 1 << 16 // integers beyond this are refused (Go's big.Int costs grow superlinearly)
	maxIntDigits = 4300    // longest digit string int() and json.decode convert (Python's own limit)
	maxDepth     = 1000    // deepest nesting printed or hashed, well inside the Go stack
	shortRepr    = 200     // longest value quoted in an error message
)

// guard bounds what the step counter does not see. The interpreter counts one step per
// bytecode instruction, but a single instruction or built-in call can allocate gigabytes
// ("x" * 1000000000, list(range(n))) or walk a value shared so often that its traversal is
// exponential in the steps that built it (t = (t, t) repeated, then hashed, compared or
// printed). The rewritten program (see rewriter) sends every such operation here first:
// bulk allocations are estimated before they happen and refused when they would overrun
// Limits.MaxAllocBytes, then charged; hidden iteration and value walks are charged to the
// thread's step budget, counted the way the operation itself traverses the value and cut
// off as soon as the budget is gone.
//
// A guard belongs to one run and is only used on the thread's goroutine.
type guard struct {
	maxSteps      uint64
	maxAlloc      int
	allocLeft     int
	stopped       *atomic.Bool // set when the run's context is done
	stepsExceeded bool         // the interpreter hit MaxSteps
}

func newGuard(lim Limits, stopped *atomic.Bool) *guard {
	return &guard{maxSteps: lim.MaxSteps, maxAlloc: lim.MaxAllocBytes, allocLeft: lim.MaxAllocBytes, stopped: stopped}
}

// limitError is a guard refusal; errors.Is(err, ErrLimit) holds for it.
type limitError string

func (e limitError) Error() string        { return string(e) }
func (e limitError) Is(target error) bool { return target == ErrLimit }

func (g *guard) stepsLeft(th *starlark.Thread) int {
	if th.Steps >= g.maxSteps {
		return 0
	}
	return int(min(g.maxSteps-th.Steps, math.MaxInt))
}

// steps charges n steps of work done inside a built-in, or refuses it.
func (g *guard) steps(th *starlark.Thread, what string, n int) error {
	if n > g.stepsLeft(th) {
		return limitError(fmt.Sprintf("%s: too many steps (limit %d)", what, g.maxSteps))
	}
	th.Steps += uint64(n)
	return nil
}

// room refuses an allocation of about n bytes that would overrun the allocation budget.
func (g *guard) room(what string, n int) error {
	if n > g.allocLeft {
		return limitError(fmt.Sprintf("%s: would allocate about %d bytes, over the memory limit of %d bytes (%d left)",
			what, n, g.maxAlloc, g.allocLeft))
	}
	return nil
}

// alloc charges an allocation of about n bytes, or refuses it.
func (g *guard) alloc(what string, n int) error {
	if err := g.room(what, n); err != nil {
		return err
	}
	g.allocLeft -= n
	return nil
}

// charge accounts for a value an operation just created.
func (g *guard) charge(what string, v starlark.Value) error {
	if i, ok := v.(starlark.Int); ok && bitLen(i) > maxIntBits {
		return limitError(fmt.Sprintf("%s: integer result larger than %d bits", what, maxIntBits))
	}
	return g.alloc(what, freshSize(v))
}

// sizeOf estimates the bytes of v itself, not of the values it refers to.
func sizeOf(v starlark.Value) int {
	switch v := v.(type) {
	case starlark.String:
		return len(v)
	case starlark.Bytes:
		return len(v)
	case *starlark.List:
		return slotBytes * v.Len()
	case starlark.Tuple:
		return slotBytes * len(v)
	case *starlark.Dict:
		return entryBytes * v.Len()
	case *starlark.Set:
		return entryBytes * v.Len()
	case starlark.Int:
		if _, ok := v.Int64(); !ok {
			return bitLen(v) / 8
		}
	}
	return 0
}

// freshSize is sizeOf plus the tuples directly inside a list or tuple, which built-ins
// such as zip, enumerate and dict.items create along with it.
func freshSize(v starlark.Value) int {
	n := sizeOf(v)
	if seq, ok := v.(starlark.Indexable); ok && isContainer(v) {
		for i := range seq.Len() {
			if t, ok := seq.Index(i).(starlark.Tuple); ok {
				n = addSat(n, sizeOf(t))
			}
		}
	}
	return n
}

func bitLen(i starlark.Int) int {
	if v, ok := i.Int64(); ok {
		if v < 0 {
			return bits.Len64(uint64(-(v + 1)) + 1)
		}
		return bits.Len64(uint64(v))
	}
	return i.BigInt().BitLen()
}

func isContainer(v starlark.Value) bool {
	switch v.(type) {
	case *starlark.List, starlark.Tuple, *starlark.Dict, *starlark.Set:
		return true
	}
	return false
}

// isLazy reports an iterable whose elements do not exist yet (range, string views):
// iterating it inside a built-in is work and allocation out of proportion to its size.
func isLazy(v starlark.Value) bool {
	if _, ok := v.(starlark.Iterable); !ok {
		return false
	}
	return !isContainer(v)
}

func addSat(a, b int) int {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt
}

func mulSat(a, b int) int {
	if a <= 0 || b <= 0 {
		return 0
	}
	if hi, lo := bits.Mul64(uint64(a), uint64(b)); hi != 0 || lo > math.MaxInt {
		return math.MaxInt
	}
	return a * b
}

// walkStop says why a walk stopped early.
type walkStop int

const (
	walkNodes walkStop = iota + 1
	walkBytes
	walkDepth
	walkCanceled
)

func (w walkStop) Error() string {
	return [...]string{"", "too many nodes", "too large", "too deep", "canceled"}[w]
}

// walker traverses a value the way str(), comparison and hashing do: a value reached
// several times through shared references is visited each time (that is the cost those
// operations pay), while a list or dict already on the current path is a cycle, printed as
// [...] and not entered. It counts visited nodes and an upper bound of the printed size.
type walker struct {
	g        *guard
	nodes    int
	maxNodes int
	bytes    int
	maxBytes int
	deepest  int  // deepest level reached
	depth    int  // levels to descend; deeper containers count as leaves
	strict   bool // a container deeper than depth is an error, not a leaf
	path     []starlark.Value
}

func (w *walker) visit(v starlark.Value, depth int) error {
	w.nodes++
	w.deepest = max(w.deepest, depth)
	if w.nodes > w.maxNodes {
		return walkNodes
	}
	if w.nodes&0x3fff == 0 && w.g.stopped.Load() {
		return walkCanceled
	}
	switch v := v.(type) {
	case starlark.String:
		w.bytes = addSat(w.bytes, mulSat(6, len(v))+2) // worst-case escaping, repr or JSON
	case starlark.Bytes:
		w.bytes = addSat(w.bytes, mulSat(6, len(v))+3)
	case starlark.Int:
		w.bytes = addSat(w.bytes, bitLen(v)/3+2)
	case *starlark.List, starlark.Tuple, *starlark.Dict, *starlark.Set:
		if depth >= w.depth {
			if w.strict {
				return walkDepth
			}
			break
		}
		return w.container(v, depth)
	default:
		if s, ok := v.(starlark.Sequence); ok && v.Type() != "range" {
			w.bytes = addSat(w.bytes, mulSat(6, s.Len())+32) // a string view prints its string
		} else {
			w.bytes = addSat(w.bytes, len(v.String())+2)
		}
	}
	if w.bytes > w.maxBytes {
		return walkBytes
	}
	return nil
}

func (w *walker) container(v starlark.Value, depth int) error {
	switch v.(type) {
	case *starlark.List, *starlark.Dict: // the only types that can be cyclic
		for _, p := range w.path {
			if p == v {
				w.bytes += 5
				return nil
			}
		}
		w.path = append(w.path, v)
		defer func() { w.path = w.path[:len(w.path)-1] }()
	}
	w.bytes = addSat(w.bytes, 8)
	var err error
	if d, ok := v.(*starlark.Dict); ok {
		for k, val := range d.Entries() {
			if err = w.visit(k, depth+1); err == nil {
				err = w.visit(val, depth+1)
			}
			if w.bytes += 4; err != nil {
				break
			}
		}
		return err
	}
	for e := range starlark.Elements(v.(starlark.Iterable)) {
		if err = w.visit(e, depth+1); err != nil {
			break
		}
		w.bytes += 2
	}
	if err == nil && w.bytes > w.maxBytes {
		err = walkBytes
	}
	return err
}

// walkErr explains a failed walk of what.
func (g *guard) walkErr(what string, err error) error {
	switch err {
	case walkNodes:
		return limitError(fmt.Sprintf("%s: too many steps (limit %d)", what, g.maxSteps))
	case walkBytes:
		return limitError(fmt.Sprintf("%s: result would exceed the memory limit of %d bytes (%d left)", what, g.maxAlloc, g.allocLeft))
	case walkDepth:
		return limitError(fmt.Sprintf("%s: value nested more than %d levels deep", what, maxDepth))
	case walkCanceled:
		return errors.New(what + ": canceled")
	}
	return err
}

// cost walks vals to the given depth and charges the nodes visited as steps. maxBytes
// bounds the estimated printed size (math.MaxInt when irrelevant).
func (g *guard) cost(th *starlark.Thread, what string, depth int, strict bool, maxBytes int, vals ...starlark.Value) (*walker, error) {
	w := &walker{g: g, maxNodes: g.stepsLeft(th), maxBytes: maxBytes, depth: depth, strict: strict}
	for _, v := range vals {
		if err := w.visit(v, 0); err != nil {
			return nil, g.walkErr(what, err)
		}
	}
	th.Steps += uint64(w.nodes)
	return w, nil
}

// hashCost charges for hashing (and key-comparing) vals: nested tuples are hashed all the
// way down.
func (g *guard) hashCost(th *starlark.Thread, what string, vals ...starlark.Value) error {
	_, err := g.cost(th, what, maxDepth, true, math.MaxInt, vals...)
	return err
}

// printSize charges for formatting v and returns an upper bound of its length.
func (g *guard) printSize(th *starlark.Thread, what string, v starlark.Value) (int, error) {
	if s, ok := v.(starlark.String); ok { // str() and %s of a string are the string itself
		return len(s), nil
	}
	w, err := g.cost(th, what, maxDepth, true, g.allocLeft, v)
	if err != nil {
		return 0, err
	}
	return w.bytes, nil
}

// compareCost charges for comparing x and y, which costs about the size of the smaller of
// the two down to starlark.CompareLimit. Both are measured with a doubling budget, so a
// huge operand is never walked much further than the small one.
func (g *guard) compareCost(th *starlark.Thread, what string, x, y starlark.Value) error {
	if !isContainer(x) || !isContainer(y) {
		return nil
	}
	left := g.stepsLeft(th)
	for budget := 64; ; budget *= 2 {
		budget = min(budget, left)
		for _, v := range []starlark.Value{x, y} {
			w := &walker{g: g, maxNodes: budget, maxBytes: math.MaxInt, depth: starlark.CompareLimit + 1}
			err := w.visit(v, 0)
			if err == nil {
				return g.steps(th, what, w.nodes)
			}
			if err != walkNodes {
				return g.walkErr(what, err)
			}
		}
		if budget == left {
			return g.walkErr(what, walkNodes)
		}
	}
}

// binary is x op y for every binary operator but `and` and `or`.
func (g *guard) binary(th *starlark.Thread, op syntax.Token, x, y starlark.Value) (starlark.Value, error) {
	what := "operator " + op.String()
	switch op {
	case syntax.EQL, syntax.NEQ, syntax.LT, syntax.GT, syntax.LE, syntax.GE:
		if err := g.compareCost(th, what, x, y); err != nil {
			return nil, err
		}
		ok, err := starlark.Compare(op, x, y)
		if err != nil {
			return nil, err
		}
		return starlark.Bool(ok), nil
	case syntax.IN, syntax.NOT_IN:
		if err := g.containsCost(th, what, x, y); err != nil {
			return nil, err
		}
		return starlark.Binary(op, x, y)
	}
	if err := g.binaryRoom(th, what, op, x, y); err != nil {
		return nil, err
	}
	z, err := starlark.Binary(op, x, y)
	if err != nil {
		return nil, err
	}
	return z, g.charge(what, z)
}

// containsCost charges for `x in y`: one comparison per element of a list or tuple, one
// hash for a dict or set.
func (g *guard) containsCost(th *starlark.Thread, what string, x, y starlark.Value) error {
	switch y := y.(type) {
	case *starlark.List, starlark.Tuple:
		w := &walker{g: g, maxNodes: g.stepsLeft(th), maxBytes: math.MaxInt, depth: starlark.CompareLimit + 1}
		if err := w.visit(x, 0); err != nil {
			return g.walkErr(what, err)
		}
		return g.steps(th, what, mulSat(w.nodes, max(starlark.Len(y), 1)))
	case *starlark.Dict, *starlark.Set:
		return g.hashCost(th, what, x)
	}
	return nil
}

// binaryRoom refuses, before it happens, an operation whose result would not fit.
func (g *guard) binaryRoom(th *starlark.Thread, what string, op syntax.Token, x, y starlark.Value) error {
	switch op {
	case syntax.PLUS:
		ux, nx, okx := seqSize(x)
		uy, ny, oky := seqSize(y)
		if okx && oky && ux == uy {
			return g.room(what, mulSat(ux, addSat(nx, ny)))
		}
	case syntax.STAR:
		seq, n := x, y
		if _, ok := x.(starlark.Int); ok {
			seq, n = y, x
		}
		count, ok := n.(starlark.Int)
		if !ok {
			return nil
		}
		if c, ok := count.Int64(); ok && c > 0 {
			if unit, l, ok := seqSize(seq); ok {
				return g.room(what, mulSat(mulSat(unit, l), int(min(c, math.MaxInt32))))
			}
		}
	case syntax.PERCENT:
		if f, ok := x.(starlark.String); ok {
			n, err := g.interpolationSize(th, what, string(f), y)
			if err != nil {
				return err
			}
			return g.room(what, n)
		}
	case syntax.PIPE, syntax.AMP, syntax.MINUS, syntax.CIRCUMFLEX:
		_, xh := x.(*starlark.Set)
		_, yh := y.(*starlark.Set)
		if _, ok := x.(*starlark.Dict); ok {
			xh, yh = true, true
		}
		if xh || yh {
			if err := g.hashCost(th, what, x, y); err != nil {
				return err
			}
			return g.room(what, mulSat(entryBytes, addSat(starlark.Len(x), starlark.Len(y))))
		}
	}
	return nil
}

// seqSize returns the bytes per element and the length of a string, bytes, list or tuple.
func seqSize(v starlark.Value) (unit, n int, ok bool) {
	switch v := v.(type) {
	case starlark.String:
		return 1, len(v), true
	case starlark.Bytes:
		return 1, len(v), true
	case *starlark.List:
		return slotBytes, v.Len(), true
	case starlark.Tuple:
		return slotBytes, len(v), true
	}
	return 0, 0, false
}

// interpolationSize bounds the length of format % x. Each directive consumes one element
// of a tuple, but %(key)s may name the same dict value any number of times; a number may
// print up to about 320 characters (%f of a large float).
func (g *guard) interpolationSize(th *starlark.Thread, what, format string, x starlark.Value) (int, error) {
	directives := strings.Count(format, "%")
	n := addSat(len(format), mulSat(320, directives))
	vals := []starlark.Value{x}
	repeat := 1
	switch x := x.(type) {
	case starlark.Tuple:
		vals = x
	case *starlark.Dict:
		for _, kv := range x.Items() {
			vals = append(vals, kv[1])
		}
		repeat = directives
	}
	for _, v := range vals {
		s, err := g.printSize(th, what, v)
		if err != nil {
			return 0, err
		}
		n = addSat(n, mulSat(s, max(repeat, 1)))
	}
	return n, nil
}

// inplace is x op= y. Lists extend and dicts update in place, as in the interpreter;
// everything else is x op y.
func (g *guard) inplace(th *starlark.Thread, op syntax.Token, x, y starlark.Value) (starlark.Value, error) {
	what := "operator " + op.String() + "="
	switch x := x.(type) {
	case *starlark.List:
		it, ok := y.(starlark.Iterable)
		if op != syntax.PLUS || !ok {
			break
		}
		n := max(starlark.Len(y), 0)
		if isLazy(y) {
			if err := g.steps(th, what, n); err != nil {
				return nil, err
			}
		}
		if err := g.alloc(what, mulSat(slotBytes, n)); err != nil {
			return nil, err
		}
		elems := make([]starlark.Value, 0, n) // collected first: x += x is legal
		for e := range starlark.Elements(it) {
			elems = append(elems, e)
		}
		for _, e := range elems {
			if err := x.Append(e); err != nil {
				return nil, err
			}
		}
		return x, nil
	case *starlark.Dict:
		y, ok := y.(*starlark.Dict)
		if op != syntax.PIPE || !ok {
			break
		}
		if err := g.hashCost(th, what, y); err != nil {
			return nil, err
		}
		if err := g.alloc(what, mulSat(entryBytes, y.Len())); err != nil {
			return nil, err
		}
		for _, kv := range y.Items() {
			if err := x.SetKey(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
	return g.binary(th, op, x, y)
}

// attr is x.name. Methods and module functions come back wrapped by the guard.
func (g *guard) attr(x starlark.Value, name string) (starlark.Value, error) {
	missing := fmt.Sprintf("%s has no .%s field or method", x.Type(), name)
	h, ok := x.(starlark.HasAttrs)
	if !ok {
		return nil, errors.New(missing)
	}
	v, err := h.Attr(name)
	var nsa starlark.NoSuchAttrError
	switch {
	case errors.As(err, &nsa):
		return nil, errors.New(string(nsa))
	case err != nil:
		return nil, err
	case v == nil:
		return nil, errors.New(missing)
	}
	if b, ok := v.(*starlark.Builtin); ok {
		return g.wrap(b), nil
	}
	return v, nil
}

// index is x[k], as the interpreter does it, except that a missing key is quoted only
// when it is short.
func (g *guard) index(th *starlark.Thread, x, k starlark.Value) (starlark.Value, error) {
	switch x := x.(type) {
	case starlark.Mapping:
		if err := g.hashCost(th, "dict key", k); err != nil {
			return nil, err
		}
		v, found, err := x.Get(k)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("key %s not in %s", short(k), x.Type())
		}
		return v, nil
	case starlark.Indexable:
		n := x.Len()
		i, err := starlark.AsInt32(k)
		if err != nil {
			return nil, fmt.Errorf("%s index: %s", x.Type(), err)
		}
		orig := i
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			if n == 0 {
				return nil, fmt.Errorf("index %d out of range: empty %s", orig, x.Type())
			}
			return nil, fmt.Errorf("%s index %d out of range [%d:%d]", x.Type(), orig, -n, n-1)
		}
		return x.Index(i), nil
	}
	return nil, fmt.Errorf("unhandled index operation %s[%s]", x.Type(), k.Type())
}

// dict builds a dict literal from alternating keys and values.
func (g *guard) dict(th *starlark.Thread, kvs starlark.Tuple) (starlark.Value, error) {
	d := starlark.NewDict(len(kvs) / 2)
	for i := 0; i+1 < len(kvs); i += 2 {
		if err := g.hashCost(th, "dict literal", kvs[i]); err != nil {
			return nil, err
		}
		n := d.Len()
		if err := d.SetKey(kvs[i], kvs[i+1]); err != nil {
			return nil, err
		}
		if d.Len() == n {
			return nil, fmt.Errorf("duplicate key: %s", short(kvs[i]))
		}
	}
	return d, nil
}

// short is the repr of v if it is short, else a description of it.
func short(v starlark.Value) string {
	w := &walker{g: &guard{stopped: new(atomic.Bool)}, maxNodes: shortRepr, maxBytes: shortRepr, depth: maxDepth, strict: true}
	if w.visit(v, 0) != nil {
		return "(" + v.Type() + " too long to show)"
	}
	return v.String()
}

// predeclared returns the snippet's environment: Starlark's universe behind the guard,
// the json and math modules, the guard's '$' helpers used by the rewritten program, and
// extra (the SDK and log functions).
func (g *guard) predeclared(extra starlark.StringDict) starlark.StringDict {
	d := starlark.StringDict{"json": starjson.Module, "math": starmath.Module}
	for name, v := range starlark.Universe {
		if b, ok := v.(*starlark.Builtin); ok {
			d[name] = g.wrap(b)
		}
	}
	helper := func(name string, fn func(th *starlark.Thread, args starlark.Tuple) (starlark.Value, error)) {
		d[name] = starlark.NewBuiltin(name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			return fn(th, args)
		})
	}
	ops := []syntax.Token{syntax.IN, syntax.NOT_IN}
	for op := syntax.PLUS; op <= syntax.GTGT; op++ {
		ops = append(ops, op)
		helper("$iop"+op.String(), func(th *starlark.Thread, args starlark.Tuple) (starlark.Value, error) {
			return g.inplace(th, op, args[0], args[1])
		})
	}
	for op := syntax.LT; op <= syntax.NEQ; op++ {
		ops = append(ops, op)
	}
	for _, op := range ops {
		helper("$op"+op.String(), func(th *starlark.Thread, args starlark.Tuple) (starlark.Value, error) {
			return g.binary(th, op, args[0], args[1])
		})
	}
	helper("$attr", func(_ *starlark.Thread, args starlark.Tuple) (starlark.Value, error) {
		return g.attr(args[0], string(args[1].(starlark.String)))
	})
	helper("$index", func(th *starlark.Thread, args starlark.Tuple) (starlark.Value, error) {
		return g.index(th, args[0], args[1])
	})
	helper("$key", func(th *starlark.Thread, args starlark.Tuple) (starlark.Value, error) {
		return args[0], g.hashCost(th, "dict key", args[0])
	})
	helper("$dict", func(th *starlark.Thread, args starlark.Tuple) (starlark.Value, error) {
		return g.dict(th, args)
	})
	helper("$fresh", func(_ *starlark.Thread, args starlark.Tuple) (starlark.Value, error) {
		switch args[0].(type) {
		case starlark.String, starlark.Bytes:
			if step, _ := starlark.AsInt32(args[1]); step == 0 { // a plain substring shares its string's memory
				return args[0], nil
			}
		}
		return args[0], g.alloc("slice", sizeOf(args[0]))
	})
	helper("$spread", func(th *starlark.Thread, args starlark.Tuple) (starlark.Value, error) {
		n := max(starlark.Len(args[0]), 0)
		if isLazy(args[0]) {
			if err := g.steps(th, "argument unpacking", n); err != nil {
				return nil, err
			}
		}
		return args[0], g.alloc("argument unpacking", mulSat(entryBytes, n))
	})
	for k, v := range extra {
		d[k] = v
	}
	return d
}
