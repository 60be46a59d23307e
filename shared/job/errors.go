package job

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns wraps one of them.
var (
	// ErrInvalid: the input breaks a rule. The error is a *FieldError naming the field.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound: no such job in this tenant.
	ErrNotFound = errors.New("job not found")
	// ErrConflict: the command does not fit the job's current state.
	ErrConflict = errors.New("conflict")
)

// FieldError says which field of the input is wrong and why.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ConflictError says why a command does not fit the job's state, and which field is at stake.
type ConflictError struct {
	Field string
	Msg   string
}

func (e *ConflictError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }
