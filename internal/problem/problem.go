// Package problem carries an error's HTTP status and client-safe message from the
// service that found it to the handler that reports it, apart from the logged detail.
package problem

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Error is a failure a client can be told about.
type Error struct {
	Status  int    // HTTP status
	Code    string // stable machine-readable code
	Field   string // the request field at fault, if any
	Message string // safe to show the client
	// Format and Args are what Message was made from: a console translates Format
	// through its message catalog (where the English format is the key) and formats
	// Args in the viewer's language.
	Format string
	Args   []any
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Invalid reports a bad value in a named field.
func Invalid(field, format string, args ...any) *Error {
	return newError(http.StatusUnprocessableEntity, "invalid", field, format, args)
}

func newError(status int, code, field, format string, args []any) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// BadRequest reports a request that could not be read at all.
func BadRequest(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "bad_request", "", format, args)
}

// NotFound reports a missing object.
func NotFound(format string, args ...any) *Error {
	return newError(http.StatusNotFound, "not_found", "", format, args)
}

// Forbidden reports an action the caller may not take.
func Forbidden(format string, args ...any) *Error {
	return newError(http.StatusForbidden, "forbidden", "", format, args)
}

// Conflict reports an action that the object's current state does not allow.
func Conflict(format string, args ...any) *Error {
	return newError(http.StatusConflict, "conflict", "", format, args)
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var p *Error
	ok := errors.As(err, &p)
	return p, ok
}

// CheckText checks a piece of text a person wrote: present if required, valid UTF-8,
// at most max characters.
func CheckText(field, v string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return Invalid(field, "required")
	case !utf8.ValidString(v):
		return Invalid(field, "not valid UTF-8")
	case utf8.RuneCountInString(v) > max:
		return Invalid(field, "longer than %d characters", max)
	}
	return nil
}
