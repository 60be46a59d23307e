package jobcode

import (
	"strconv"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

const (
	// fileName is the file name of every position in the snippet; positions elsewhere
	// belong to built-ins.
	fileName = "job"
	// mainName is the function the snippet's statements are moved into. A '$' cannot
	// occur in a user identifier, so the snippet can neither name nor shadow it, nor any
	// of the guard's '$' helpers.
	mainName = "$main"
)

// compileSnippet turns the user's Python-style snippet into a Starlark program whose only
// global is the function mainName; calling it runs the snippet and returns what its
// top-level return statement returns.
//
// Two Python habits are not Starlark: `global` statements (a reserved word) are blanked
// out to `pass` on the source text (see neutralizeGlobals), and a top-level `return` is
// made legal by moving the parsed statements into the body of a function. Moving happens on
// the syntax tree, not the text, so no line is re-indented (a triple-quoted string keeps
// its exact content) and every position is still the user's own line and column.
// The tree is also rewritten to route bulk-allocating and value-walking operations
// through the guard (see rewriter).
func compileSnippet(code string, isPredeclared func(string) bool) (*starlark.Program, error) {
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true}
	f, err := opts.Parse(fileName, neutralizeGlobals(code), 0)
	if err != nil {
		return nil, err
	}
	rw := &rewriter{}
	body := rw.stmts(f.Stmts)
	if rw.err != nil {
		return nil, rw.err
	}
	start := syntax.MakePosition(&f.Path, 1, 1)
	if len(body) == 0 {
		body = []syntax.Stmt{&syntax.BranchStmt{Token: syntax.PASS, TokenPos: start}}
	}
	f.Stmts = []syntax.Stmt{&syntax.DefStmt{
		Def: start, Name: &syntax.Ident{NamePos: start, Name: mainName},
		Lparen: start, Rparen: start, Body: body,
	}}
	return starlark.FileProgram(f, isPredeclared)
}

// neutralizeGlobals replaces each `global a, b` statement by `pass` padded with spaces to
// the same width, so no other position moves. It tracks string literals (including
// triple-quoted ones), comments, brackets and backslash continuations, so it only acts at
// the start of a statement and never inside a literal. A `global` it does not recognise is
// left for the parser to reject.
func neutralizeGlobals(src string) string {
	b := []byte(src)
	depth := 0        // bracket nesting
	stmtStart := true // the next non-blank text starts a statement
	for i := 0; i < len(b); {
		if stmtStart {
			for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
				i++
			}
			if n := globalStmtLen(b[i:]); n > 0 {
				copy(b[i:], "pass")
				for j := i + 4; j < i+n; j++ {
					b[j] = ' '
				}
				i += n
			}
			stmtStart = false
			continue
		}
		switch c := b[i]; c {
		case '#':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		case '\'', '"':
			i = skipString(b, i)
			continue
		case '\\':
			i += 2 // an escaped newline continues the line
			continue
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		case '\n', ';':
			stmtStart = depth == 0
		}
		i++
	}
	return string(b)
}

// globalStmtLen returns the length of a `global name[, name]...` statement at the start of
// b, or 0. The statement must end the line (trailing spaces, a comment or ';' allowed).
func globalStmtLen(b []byte) int {
	const kw = "global"
	if len(b) <= len(kw) || string(b[:len(kw)]) != kw || (b[len(kw)] != ' ' && b[len(kw)] != '\t') {
		return 0
	}
	i := len(kw)
	for {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		start := i
		for i < len(b) && isIdentByte(b[i]) {
			i++
		}
		if i == start || (b[start] >= '0' && b[start] <= '9') {
			return 0
		}
		end := i
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i == len(b) || b[i] == '\n' || b[i] == '\r' || b[i] == '#' || b[i] == ';' {
			return end
		}
		return 0
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 0x80 || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// skipString returns the index just past the string literal whose opening quote is at
// b[i]. A backslash always protects the next byte, as it does for termination even in raw
// strings. An unterminated single-quoted literal ends at the newline (a parse error anyway).
func skipString(b []byte, i int) int {
	q := b[i]
	triple := i+2 < len(b) && b[i+1] == q && b[i+2] == q
	if triple {
		i += 3
	} else {
		i++
	}
	for i < len(b) {
		switch c := b[i]; {
		case c == '\\':
			i += 2
		case c == q && !triple:
			return i + 1
		case c == q && i+2 < len(b) && b[i+1] == q && b[i+2] == q:
			return i + 3
		case c == '\n' && !triple:
			return i
		default:
			i++
		}
	}
	return len(b)
}

// rewriter routes every operation that may allocate in bulk, or walk a value whose size
// the step counter does not see, through a guard helper (see guard.go):
//
//	x op y       → $op<op>(x, y)        all binary operators but `and`/`or`
//	x op= y      → x = $iop<op>(x, y)   with temporaries for a[i] and a.f targets
//	x.name       → $attr(x, "name")     so methods and module functions come back guarded
//	x[k]         → $index(x, k)         hashing cost; bounded key in "not found" errors
//	x[i:j:k]     → $fresh(x[i:j:k], s)  charges the copy
//	{k: v, ...}  → $dict(k, v, ...)     when a key is not a literal
//	a[k] = v, {k: v for ...}            keys go through $key (hashing cost)
//	f(*a, **kw)  → f(*$spread(a), **$spread(kw))
//
// Synthesised calls carry the position of the operator they replace, so errors still point
// at the user's line and column.
type rewriter struct {
	temps int
	err   error
}

func (rw *rewriter) stmts(in []syntax.Stmt) []syntax.Stmt {
	out := make([]syntax.Stmt, 0, len(in))
	for _, s := range in {
		out = append(out, rw.stmt(s)...)
	}
	return out
}

func (rw *rewriter) stmt(s syntax.Stmt) []syntax.Stmt {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		if s.Op != syntax.EQ {
			return rw.augmented(s)
		}
		s.RHS = rw.expr(s.RHS)
		s.LHS = rw.target(s.LHS)
	case *syntax.ExprStmt:
		s.X = rw.expr(s.X)
	case *syntax.DefStmt:
		rw.params(s.Params)
		s.Body = rw.stmts(s.Body)
	case *syntax.ForStmt:
		s.X = rw.expr(s.X)
		s.Vars = rw.target(s.Vars)
		s.Body = rw.stmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = rw.expr(s.Cond)
		s.Body = rw.stmts(s.Body)
	case *syntax.IfStmt:
		s.Cond = rw.expr(s.Cond)
		s.True = rw.stmts(s.True)
		s.False = rw.stmts(s.False)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = rw.expr(s.Result)
		}
	case *syntax.LoadStmt:
		if rw.err == nil {
			rw.err = syntax.Error{Pos: s.Load, Msg: "load() is not available in job code"}
		}
	}
	return []syntax.Stmt{s}
}

// augmented rewrites `lhs op= rhs` to `lhs = $iop<op>(lhs, rhs)`. Sub-expressions of an
// index or attribute target are evaluated once, into temporaries, in the interpreter's
// order (container, key, current value, rhs).
func (rw *rewriter) augmented(s *syntax.AssignStmt) []syntax.Stmt {
	op := s.Op - syntax.PLUS_EQ + syntax.PLUS
	rhs := rw.expr(s.RHS)
	var pre []syntax.Stmt
	var load, store syntax.Expr
	switch lhs := s.LHS.(type) {
	case *syntax.Ident:
		load, store = ident(lhs.Name, lhs.NamePos), lhs
	case *syntax.IndexExpr:
		x := rw.temp(&pre, rw.expr(lhs.X), lhs.Lbrack)
		k := rw.temp(&pre, rw.expr(lhs.Y), lhs.Lbrack)
		load = call("$index", lhs.Lbrack, ident(x, lhs.Lbrack), ident(k, lhs.Lbrack))
		store = &syntax.IndexExpr{X: ident(x, lhs.Lbrack), Lbrack: lhs.Lbrack,
			Y: call("$key", lhs.Lbrack, ident(k, lhs.Lbrack)), Rbrack: lhs.Rbrack}
	case *syntax.DotExpr:
		x := rw.temp(&pre, rw.expr(lhs.X), lhs.Dot)
		load = call("$attr", lhs.Dot, ident(x, lhs.Dot), str(lhs.Name.Name, lhs.NamePos))
		store = &syntax.DotExpr{X: ident(x, lhs.Dot), Dot: lhs.Dot, NamePos: lhs.NamePos, Name: lhs.Name}
	default: // not a valid target: leave it to the resolver to report
		s.RHS = rhs
		return []syntax.Stmt{s}
	}
	return append(pre, &syntax.AssignStmt{OpPos: s.OpPos, Op: syntax.EQ, LHS: store,
		RHS: call("$iop"+op.String(), s.OpPos, load, rhs)})
}

// temp appends `$tN = x` to pre and returns $tN.
func (rw *rewriter) temp(pre *[]syntax.Stmt, x syntax.Expr, pos syntax.Position) string {
	rw.temps++
	name := "$t" + strconv.Itoa(rw.temps)
	*pre = append(*pre, &syntax.AssignStmt{OpPos: pos, Op: syntax.EQ, LHS: ident(name, pos), RHS: x})
	return name
}

// target rewrites an assignment target: only the sub-expressions it loads change.
func (rw *rewriter) target(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.ParenExpr:
		e.X = rw.target(e.X)
	case *syntax.TupleExpr:
		for i := range e.List {
			e.List[i] = rw.target(e.List[i])
		}
	case *syntax.ListExpr:
		for i := range e.List {
			e.List[i] = rw.target(e.List[i])
		}
	case *syntax.IndexExpr:
		e.X = rw.expr(e.X)
		e.Y = call("$key", e.Lbrack, rw.expr(e.Y))
	case *syntax.DotExpr:
		e.X = rw.expr(e.X)
	}
	return e
}

// params rewrites default values; `name=default` is a BinaryExpr with Op EQ.
func (rw *rewriter) params(ps []syntax.Expr) {
	for _, p := range ps {
		if p, ok := p.(*syntax.BinaryExpr); ok {
			p.Y = rw.expr(p.Y)
		}
	}
}

func (rw *rewriter) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		e.X, e.Y = rw.expr(e.X), rw.expr(e.Y)
		if e.Op != syntax.AND && e.Op != syntax.OR {
			return call("$op"+e.Op.String(), e.OpPos, e.X, e.Y)
		}
	case *syntax.UnaryExpr:
		if e.X != nil {
			e.X = rw.expr(e.X)
		}
	case *syntax.CallExpr:
		e.Fn = rw.expr(e.Fn)
		for i, a := range e.Args {
			e.Args[i] = rw.arg(a)
		}
	case *syntax.DotExpr:
		return call("$attr", e.Dot, rw.expr(e.X), str(e.Name.Name, e.NamePos))
	case *syntax.IndexExpr:
		return call("$index", e.Lbrack, rw.expr(e.X), rw.expr(e.Y))
	case *syntax.SliceExpr:
		e.X = rw.expr(e.X)
		for _, p := range []*syntax.Expr{&e.Lo, &e.Hi, &e.Step} {
			if *p != nil {
				*p = rw.expr(*p)
			}
		}
		hasStep := int64(0)
		if e.Step != nil {
			hasStep = 1
		}
		return call("$fresh", e.Lbrack, e, &syntax.Literal{Token: syntax.INT, TokenPos: e.Lbrack, Raw: strconv.FormatInt(hasStep, 10), Value: hasStep})
	case *syntax.DictExpr:
		var args []syntax.Expr
		literalKeys := true
		for _, entry := range e.List {
			entry := entry.(*syntax.DictEntry)
			entry.Key, entry.Value = rw.expr(entry.Key), rw.expr(entry.Value)
			_, isLit := entry.Key.(*syntax.Literal)
			literalKeys = literalKeys && isLit
			args = append(args, entry.Key, entry.Value)
		}
		if !literalKeys {
			return call("$dict", e.Lbrace, args...)
		}
	case *syntax.ListExpr:
		for i := range e.List {
			e.List[i] = rw.expr(e.List[i])
		}
	case *syntax.TupleExpr:
		for i := range e.List {
			e.List[i] = rw.expr(e.List[i])
		}
	case *syntax.ParenExpr:
		e.X = rw.expr(e.X)
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = rw.expr(e.Cond), rw.expr(e.True), rw.expr(e.False)
	case *syntax.LambdaExpr:
		rw.params(e.Params)
		e.Body = rw.expr(e.Body)
	case *syntax.Comprehension:
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.X = rw.expr(c.X)
				c.Vars = rw.target(c.Vars)
			case *syntax.IfClause:
				c.Cond = rw.expr(c.Cond)
			}
		}
		if entry, ok := e.Body.(*syntax.DictEntry); ok {
			entry.Key = call("$key", entry.Colon, rw.expr(entry.Key))
			entry.Value = rw.expr(entry.Value)
		} else {
			e.Body = rw.expr(e.Body)
		}
	}
	return e
}

// arg rewrites one call argument: positional, name=value, *args or **kwargs.
func (rw *rewriter) arg(a syntax.Expr) syntax.Expr {
	switch a := a.(type) {
	case *syntax.BinaryExpr:
		if a.Op == syntax.EQ {
			a.Y = rw.expr(a.Y)
			return a
		}
	case *syntax.UnaryExpr:
		if a.Op == syntax.STAR || a.Op == syntax.STARSTAR {
			a.X = call("$spread", a.OpPos, rw.expr(a.X))
			return a
		}
	}
	return rw.expr(a)
}

func ident(name string, pos syntax.Position) *syntax.Ident {
	return &syntax.Ident{NamePos: pos, Name: name}
}

func str(s string, pos syntax.Position) *syntax.Literal {
	return &syntax.Literal{Token: syntax.STRING, TokenPos: pos, Raw: strconv.Quote(s), Value: s}
}

func call(fn string, pos syntax.Position, args ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: ident(fn, pos), Lparen: pos, Args: args, Rparen: pos}
}
