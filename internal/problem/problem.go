// Package problem carries an error's HTTP status and client-safe message from the
// service that found it to the handler that reports it, apart from the logged detail.
package problem

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a failure a client can be told about.
type Error struct {
	Status  int    // HTTP status
	Code    string // stable machine-readable code
	Field   string // the request field at fault, if any
	Message string // safe to show the client
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Invalid reports a bad value in a named field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

// BadRequest reports a request that could not be read at all.
func BadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing object.
func NotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports an action the caller may not take.
func Forbidden(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

// Conflict reports an action that the object's current state does not allow.
func Conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: "conflict", Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var p *Error
	ok := errors.As(err, &p)
	return p, ok
}
