package wire

import (
	"errors"
	"strings"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
)

// ErrorToPayload is a command's rejection as its outcome carries it.
func ErrorToPayload(err error) *contracts.Error {
	var fe *job.FieldError
	var ce *job.ConflictError
	switch {
	case errors.As(err, &fe):
		return &contracts.Error{Code: contracts.ErrorInvalid, Message: fe.Error(), Field: fe.Field}
	case errors.As(err, &ce):
		return &contracts.Error{Code: contracts.ErrorConflict, Message: ce.Msg, Field: ce.Field}
	case errors.Is(err, job.ErrNotFound):
		return &contracts.Error{Code: contracts.ErrorNotFound, Message: job.ErrNotFound.Error()}
	}
	return &contracts.Error{Code: contracts.ErrorInvalid, Message: err.Error()}
}

// ErrorFromPayload is the domain error an outcome's rejection stands for, so that the
// api answers it as it answers the same error found by itself.
func ErrorFromPayload(e contracts.Error) error {
	switch e.Code {
	case contracts.ErrorConflict:
		return &job.ConflictError{Field: e.Field, Msg: e.Message}
	case contracts.ErrorNotFound:
		return job.ErrNotFound
	case contracts.ErrorInvalid:
		if e.Field != "" {
			return &job.FieldError{Field: e.Field, Msg: strings.TrimPrefix(e.Message, e.Field+": ")}
		}
	}
	return rejected(e.Message)
}

// rejected is a refusal that names no field (or is of a code this build does not
// know), answered with its message as the trigger wrote it.
type rejected string

func (r rejected) Error() string { return string(r) }

// Unwrap makes errors.Is(err, job.ErrInvalid) true.
func (r rejected) Unwrap() error { return job.ErrInvalid }
