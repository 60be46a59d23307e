package config

import (
	"fmt"
	"time"
)

// Span is a numeric setting: its variable, its default and its bounds, declared once so
// that the environment's reader and a config built in code get the same defaults and
// the same validation.
type Span[T int | time.Duration] struct {
	Key               string
	Default, Min, Max T
}

// From reads the setting from e.
func (s Span[T]) From(e *Env) T {
	switch d := any(s.Default).(type) {
	case time.Duration:
		return T(e.Duration(s.Key, d, time.Duration(s.Min), time.Duration(s.Max)))
	case int:
		return T(e.Int(s.Key, d, int(s.Min), int(s.Max)))
	}
	panic("config: unsupported setting type")
}

// Or is v, or the default when v is zero and zero is not a value the setting allows: a
// config built in code leaves unset what it does not care about.
func (s Span[T]) Or(v T) T {
	if v == 0 && s.Min > 0 {
		return s.Default
	}
	return v
}

// Check refuses a value out of bounds, naming the variable.
func (s Span[T]) Check(v T) error {
	if v < s.Min || v > s.Max {
		return fmt.Errorf("%s: %v is out of bounds (%v to %v)", s.Key, v, s.Min, s.Max)
	}
	return nil
}
