package jobcode

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// callBuiltin calls a Starlark built-in (function, method or module member) under the
// guard: lazy arguments and value walks are charged before the call, bulk results and the
// growth of the receiver after it.
func (g *guard) callBuiltin(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	name, recv := b.Name(), b.Receiver()
	if err := g.lazyArgs(th, name, args, kwargs); err != nil {
		return nil, err
	}
	if err := g.before(th, name, recv, args, kwargs); err != nil {
		return nil, err
	}
	if name == "sorted" || name == "min" || name == "max" {
		kwargs = g.costlyKey(kwargs, comparisonsPerElement(name, args))
	}
	lenBefore := max(starlark.Len(recv), 0)
	res, err := b.CallInternal(th, args, kwargs)
	if err != nil {
		return nil, err
	}
	if grown := starlark.Len(recv) - lenBefore; grown > 0 {
		unit := slotBytes
		if _, ok := recv.(*starlark.List); !ok {
			unit = entryBytes
		}
		if err := g.alloc(name, mulSat(unit, grown)); err != nil {
			return nil, err
		}
	}
	switch name {
	case "get", "pop", "setdefault", "min", "max", "strip", "lstrip", "rstrip", "removeprefix", "removesuffix":
		return res, nil // an existing value or a substring sharing its memory
	case "getattr":
		if b, ok := res.(*starlark.Builtin); ok {
			return g.wrap(b), nil
		}
		return res, nil
	case "str":
		if len(args) == 1 && args[0].Type() == "string" {
			return res, nil
		}
	case "json.decode":
		return res, nil // charged in before
	}
	return res, g.charge(name, res)
}

// lazyArgs charges for the ranges and string views a built-in will iterate: their elements
// cost steps the interpreter never counts and, when collected, memory.
func (g *guard) lazyArgs(th *starlark.Thread, name string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	switch name {
	case "len", "type", "bool", "str", "repr", "print", "fail", "hasattr", "getattr", "dir", "hash":
		return nil // they do not iterate
	}
	vals := append([]starlark.Value(nil), args...)
	for _, kv := range kwargs {
		vals = append(vals, kv[1])
	}
	for _, v := range vals {
		n := starlark.Len(v)
		if !isLazy(v) || n <= 0 {
			continue
		}
		if err := g.steps(th, name, n); err != nil {
			return err
		}
		switch name {
		case "any", "all", "min", "max":
		default:
			if err := g.room(name, mulSat(slotBytes, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// before refuses calls whose cost is out of proportion to their arguments: results much
// larger than the inputs, and hashing or comparing values with shared structure.
func (g *guard) before(th *starlark.Thread, name string, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) error {
	all := append([]starlark.Value(nil), args...)
	for _, kv := range kwargs {
		all = append(all, kv[1])
	}
	switch name {
	case "str", "repr", "print", "fail", "json.encode":
		if name == "str" && len(args) == 1 && args[0].Type() == "string" {
			return nil // the string itself
		}
		n := 0
		for _, v := range all {
			s, err := g.printSize(th, name, v)
			if err != nil {
				return err
			}
			n = addSat(n, s+1)
		}
		return g.room(name, n)
	case "json.encode_indent":
		if len(args) == 1 {
			w, err := g.cost(th, name, maxDepth, true, g.allocLeft, args[0])
			if err != nil {
				return err
			}
			perLevel, prefix := indentArgs(kwargs)
			return g.room(name, addSat(w.bytes, mulSat(w.nodes, addSat(prefix+1, mulSat(w.deepest, perLevel)))))
		}
	case "join":
		if sep, ok := recv.(starlark.String); ok && len(args) == 1 {
			return g.room(name, joinSize(string(sep), args[0]))
		}
	case "replace":
		if s, ok := recv.(starlark.String); ok && len(args) >= 2 {
			return g.room(name, replaceSize(string(s), args))
		}
	case "format":
		if f, ok := recv.(starlark.String); ok {
			biggest := 0
			for _, v := range all {
				s, err := g.printSize(th, name, v)
				if err != nil {
					return err
				}
				biggest = max(biggest, s)
			}
			return g.room(name, addSat(len(f), mulSat(strings.Count(string(f), "{"), biggest)))
		}
	case "json.indent":
		if len(args) == 1 {
			if s, ok := args[0].(starlark.String); ok {
				return g.room(name, indentSize(string(s), kwargs))
			}
		}
	case "json.decode", "int":
		// Go's big.Int parses decimal text in quadratic time: refuse what Python refuses.
		if len(args) == 0 {
			break
		}
		if s, ok := args[0].(starlark.String); ok {
			if longestNumber(string(s), name == "json.decode") > maxIntDigits {
				return limitError(fmt.Sprintf("%s: number longer than %d digits", name, maxIntDigits))
			}
			if name == "json.decode" {
				return g.alloc(name, mulSat(32, len(s)))
			}
		}
	case "set", "dict", "add", "discard", "union", "intersection", "difference", "symmetric_difference",
		"issubset", "issuperset", "update", "get", "pop", "setdefault":
		return g.hashCost(th, name, all...)
	case "index", "remove":
		if l, ok := recv.(*starlark.List); ok {
			w := &walker{g: g, maxNodes: g.stepsLeft(th), maxBytes: math.MaxInt, depth: starlark.CompareLimit + 1}
			for _, v := range args {
				if err := w.visit(v, 0); err != nil {
					return g.walkErr(name, err)
				}
			}
			return g.steps(th, name, mulSat(w.nodes, l.Len()))
		}
		if _, ok := recv.(*starlark.Set); ok {
			return g.hashCost(th, name, all...)
		}
	case "sorted", "min", "max":
		factor := comparisonsPerElement(name, args)
		w := &walker{g: g, maxNodes: g.stepsLeft(th) / factor, maxBytes: math.MaxInt, depth: starlark.CompareLimit + 2}
		for _, v := range args {
			if err := w.visit(v, 0); err != nil {
				return g.walkErr(name, err)
			}
		}
		return g.steps(th, name, mulSat(w.nodes, factor))
	}
	return nil
}

// comparisonsPerElement bounds how many comparisons each element takes part in: one for
// min and max, about log2(n) for sorted.
func comparisonsPerElement(name string, args starlark.Tuple) int {
	if name != "sorted" || len(args) == 0 {
		return 1
	}
	return 1 + bits.Len(uint(max(starlark.Len(args[0]), 0)))
}

// costlyKey wraps the key= function of sorted, min and max so that comparing the keys it
// returns is charged like comparing elements.
func (g *guard) costlyKey(kwargs []starlark.Tuple, factor int) []starlark.Tuple {
	for i, kv := range kwargs {
		key, ok := kv[1].(starlark.Callable)
		if name, _ := kv[0].(starlark.String); name != "key" || !ok {
			continue
		}
		wrapped := starlark.NewBuiltin("$key", func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			r, err := starlark.Call(th, key, args, kw)
			if err != nil {
				return nil, err
			}
			w := &walker{g: g, maxNodes: g.stepsLeft(th) / factor, maxBytes: math.MaxInt, depth: starlark.CompareLimit + 1}
			if err := w.visit(r, 0); err != nil {
				return nil, g.walkErr("key function", err)
			}
			return r, g.steps(th, "key function", mulSat(w.nodes, factor))
		})
		out := append([]starlark.Tuple(nil), kwargs...)
		out[i] = starlark.Tuple{kv[0], wrapped}
		return out
	}
	return kwargs
}

// joinSize is the length of sep.join(iterable) for a materialised iterable of strings.
func joinSize(sep string, iterable starlark.Value) int {
	it, ok := iterable.(starlark.Iterable)
	if !ok || isLazy(iterable) {
		return 0 // join fails on it, or lazyArgs already bounded it
	}
	n, count := 0, 0
	for e := range starlark.Elements(it) {
		if s, ok := e.(starlark.String); ok {
			n = addSat(n, len(s))
		}
		count++
	}
	return addSat(n, mulSat(len(sep), count))
}

// replaceSize bounds the length of s.replace(old, new[, count]).
func replaceSize(s string, args starlark.Tuple) int {
	old, ok1 := args[0].(starlark.String)
	repl, ok2 := args[1].(starlark.String)
	if !ok1 || !ok2 || len(repl) <= len(old) {
		return len(s)
	}
	hits := utf8.RuneCountInString(s) + 1
	if old != "" {
		hits = strings.Count(s, string(old))
	}
	if len(args) > 2 {
		if c, ok := args[2].(starlark.Int); ok {
			if c, ok := c.Int64(); ok && c >= 0 {
				hits = int(min(int64(hits), c))
			}
		}
	}
	return addSat(len(s), mulSat(hits, len(repl)-len(old)))
}

// indentSize bounds the length of json.indent(s, prefix=, indent=): every token may start
// a line carrying the prefix and one indent per level of nesting.
func indentSize(s string, kwargs []starlark.Tuple) int {
	perLevel, prefix := indentArgs(kwargs)
	depth, deepest, lines := 0, 0, 1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '{':
			depth++
			deepest = max(deepest, depth)
			lines++
		case ']', '}':
			depth--
			lines++
		case ',':
			lines++
		}
	}
	return addSat(mulSat(2, len(s)), mulSat(lines, addSat(prefix+1, mulSat(deepest, perLevel))))
}

// longestNumber returns the length of the longest run of characters that may form one
// number: alphanumerics (any base) for int(), decimal digits outside string literals for
// JSON text.
// indentArgs returns the lengths of the indent (default "\t") and prefix keywords of
// json.indent and json.encode_indent.
func indentArgs(kwargs []starlark.Tuple) (perLevel, prefix int) {
	perLevel = 1
	for _, kv := range kwargs {
		v, _ := kv[1].(starlark.String)
		switch kv[0].(starlark.String) {
		case "indent":
			perLevel = len(v)
		case "prefix":
			prefix = len(v)
		}
	}
	return perLevel, prefix
}

func longestNumber(s string, isJSON bool) int {
	longest, run, inString := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isJSON && inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
			continue
		case isJSON && c == '"':
			inString = true
		case '0' <= c && c <= '9', !isJSON && (c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z'):
			run++
			longest = max(longest, run)
			continue
		}
		run = 0
	}
	return longest
}

// wrap returns b guarded by callBuiltin, with the same name and receiver.
func (g *guard) wrap(b *starlark.Builtin) *starlark.Builtin {
	w := starlark.NewBuiltin(b.Name(), func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return g.callBuiltin(th, b, args, kwargs)
	})
	if recv := b.Receiver(); recv != nil {
		w = w.BindReceiver(recv)
	}
	return w
}
