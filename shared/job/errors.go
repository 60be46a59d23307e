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
	// ErrBizTaken: a behaviour has one live schedule per tenant, and a create of another
	// is refused. It is the conflict on field bizcode (errors.Is finds it in one).
	ErrBizTaken = errors.New("the behaviour already has a schedule")
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

// Is makes errors.Is(err, ErrBizTaken) true of a conflict on bizcode, wherever it was
// made (here, or read back from a command's outcome).
func (e *ConflictError) Is(target error) bool { return target == ErrBizTaken && e.Field == "bizcode" }

// CheckBizcode applies the rule of one live schedule per (tenant, bizcode) to cmd:
// holder is the behaviour's live schedule, nil when it has none. Commands are decided
// one at a time, so two racing creates cannot both pass.
func CheckBizcode(cmd Command, holder *Job) error {
	if cmd.Type != Create || cmd.Spec == nil || cmd.Spec.Target.BizCode == "" || !holder.Live() || holder.ID == cmd.JobID {
		return nil
	}
	return &ConflictError{Field: "bizcode", Msg: "the behaviour already has a schedule: " + holder.ID}
}
