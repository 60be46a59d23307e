// Package config reads settings from environment variables. Every setting has a
// documented default; a bad value is reported with the variable's name. Span keeps a
// setting's default and bounds in one place for the environment and for configs built
// in code. It must not hold any service's settings: each service declares its own.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Env reads settings through getenv and collects every bad value, so that a service
// reports all of them at start.
type Env struct {
	get  func(string) string
	errs []error
}

// NewEnv reads through getenv (os.Getenv in main, a map in tests).
func NewEnv(getenv func(string) string) *Env { return &Env{get: getenv} }

// Str returns the variable, or def when unset or empty.
func (e *Env) Str(key, def string) string {
	if v := strings.TrimSpace(e.get(key)); v != "" {
		return v
	}
	return def
}

// Duration returns a Go duration ("30s", "250ms") within [lo, hi], or def.
func (e *Env) Duration(key string, def, lo, hi time.Duration) time.Duration {
	v := e.Str(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a duration from %v to %v, such as %v", key, v, lo, hi, def))
		return def
	}
	return d
}

// Addr returns a listen address, host:port (the host may be empty, the port 0), or def.
func (e *Env) Addr(key, def string) string {
	v := e.Str(key, def)
	host, port, err := net.SplitHostPort(v)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " /") {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a listen address host:port, such as %s", key, v, def))
		return def
	}
	return v
}

// URLs returns a comma-separated list of server URLs (NATS_URL's form), each with one of
// the schemes (the first is assumed when a part has none, as clients do) and a host; def
// when unset.
func (e *Env) URLs(key, def string, schemes ...string) string {
	v := e.Str(key, def)
	for _, one := range strings.Split(v, ",") {
		one = strings.TrimSpace(one)
		if !strings.Contains(one, "://") {
			one = schemes[0] + "://" + one
		}
		if !validURL(one, schemes) {
			e.errs = append(e.errs, fmt.Errorf("%s: %q is not a URL of scheme %s with a host", key, redact(one), strings.Join(schemes, ", ")))
			return def
		}
	}
	return v
}

// URL returns one URL with one of the schemes and a host, or def ("" when unset is
// allowed). Template placeholders such as {flow_id} count as plain text.
func (e *Env) URL(key, def string, schemes ...string) string {
	v := e.Str(key, def)
	if v == "" {
		return v
	}
	if !validURL(placeholder.ReplaceAllString(v, "x"), schemes) {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a URL of scheme %s with a host", key, redact(v), strings.Join(schemes, ", ")))
		return def
	}
	return v
}

// URI returns a connection string that starts with one of the schemes; the client
// parses the rest (MONGO_URI: several hosts, sockets, options).
func (e *Env) URI(key, def string, schemes ...string) string {
	v := e.Str(key, def)
	for _, s := range schemes {
		if strings.HasPrefix(v, s+"://") && len(v) > len(s)+3 {
			return v
		}
	}
	e.errs = append(e.errs, fmt.Errorf("%s: %q does not start with %s://", key, redact(v), strings.Join(schemes, ":// or ")))
	return def
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

func validURL(s string, schemes []string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && slices.Contains(schemes, u.Scheme)
}

// redact hides a password in a URL that failed to parse, so it is not logged.
func redact(s string) string {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(s), "://")
	if !ok {
		return s
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + "://***@" + rest[at+1:]
	}
	return s
}

// Int returns a whole number within [lo, hi], or def.
func (e *Env) Int(key string, def, lo, hi int) int {
	v := e.Str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a whole number from %d to %d", key, v, lo, hi))
		return def
	}
	return n
}

// Bool returns true for "true" or "1", false for "false" or "0", or def when unset.
func (e *Env) Bool(key string, def bool) bool {
	switch v := strings.ToLower(e.Str(key, "")); v {
	case "":
		return def
	case "true", "1":
		return true
	case "false", "0":
		return false
	default:
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want true or false", key, v))
		return def
	}
}

// Location returns a loaded IANA time zone, or def's.
func (e *Env) Location(key, def string) *time.Location {
	name := e.Str(key, def)
	loc, err := time.LoadLocation(name)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: unknown time zone", key, name))
		loc, _ = time.LoadLocation(def)
	}
	return loc
}

// File returns the contents of the file the variable names ("" when unset).
func (e *Env) File(key string) string {
	path := e.Str(key, "")
	if path == "" {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: %w", key, path, err))
		return ""
	}
	return string(data)
}

// Require records an error when the variable is unset.
func (e *Env) Require(key string) string {
	v := e.Str(key, "")
	if v == "" {
		e.errs = append(e.errs, fmt.Errorf("%s is required", key))
	}
	return v
}

// Fail reports a setting that is bad together with another: a rule across variables.
func (e *Env) Fail(format string, args ...any) { e.errs = append(e.errs, fmt.Errorf(format, args...)) }

// Err returns every bad setting found, joined, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }
