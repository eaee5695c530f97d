// Package problem carries an error's HTTP status and client-safe message from the
// service that found it to the handler that reports it, apart from the logged detail.
package problem

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
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
	// Errors, when a request had several bad fields, holds one problem per field, the
	// first of them the one this Error's own fields describe: a form shows them all at
	// once instead of one per round trip.
	Errors []*Error
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

// Join gathers the problems of one request's fields into one error: nil when every
// err is nil, the problem itself when there is one, else an Error that reads as the
// first and lists them all in Errors. An err that is not a problem wins over them all
// (the request failed for another reason), as does a problem that is not "invalid".
func Join(errs ...error) error {
	var all []*Error
	for _, err := range errs {
		if err == nil {
			continue
		}
		p, ok := As(err)
		if !ok || p.Code != "invalid" {
			return err
		}
		all = append(all, Each(p)...)
	}
	switch len(all) {
	case 0:
		return nil
	case 1:
		return all[0]
	}
	first := *all[0]
	first.Errors = all
	return &first
}

// Each lists the problems an Error carries: its Errors, or itself alone.
func Each(p *Error) []*Error {
	if len(p.Errors) > 0 {
		return p.Errors
	}
	return []*Error{p}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var p *Error
	ok := errors.As(err, &p)
	return p, ok
}

// CheckText checks a piece of text a person wrote, which may run over several lines:
// present if required, valid UTF-8, at most max characters, no control characters but
// tab and line breaks, and no bidirectional formatting characters. The same check runs
// on what a peer sends, so text from a peer is held to what a person here may write.
func CheckText(field, v string, max int, required bool) error {
	return checkText(field, v, max, required, true)
}

// CheckLine checks one line of text (a title, a summary, a name): as CheckText, without
// tabs or line breaks.
func CheckLine(field, v string, max int, required bool) error {
	return checkText(field, v, max, required, false)
}

func checkText(field, v string, max int, required, multiline bool) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return Invalid(field, "required")
	case !utf8.ValidString(v):
		return Invalid(field, "not valid UTF-8")
	case utf8.RuneCountInString(v) > max:
		return Invalid(field, "longer than %d characters", max)
	}
	for _, r := range v {
		switch {
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case unicode.IsControl(r):
			// Escape sequences and NULs in a title reach terminals, logs and mail.
			return Invalid(field, "contains a control character")
		case isBidiControl(r):
			// Embeddings, overrides and isolates make text display in another order
			// than it is stored ("Trojan Source", CVE-2021-42574): an indicator or a
			// name could read differently from what it is.
			return Invalid(field, "contains a bidirectional formatting character")
		}
	}
	return nil
}

// Printable returns s without the characters CheckLine refuses, for text a node makes
// from names it did not check (a person's display name) before it is sent.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidiControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
}

// Clip cuts s to at most n bytes on a character boundary, marking the cut: for
// messages that quote what a peer sent.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// CheckTime checks a time a node stamped on what it wrote: not before 2000, and not
// after latest (the receiver's clock and the skew it allows). A date in year 9999 would
// otherwise sort first in every list, for good.
func CheckTime(field string, t, latest time.Time) error {
	if t.Year() < 2000 || t.After(latest) {
		return Invalid(field, "must be a time between 2000 and now")
	}
	return nil
}

// isBidiControl reports the explicit bidirectional formatting characters: LRE, RLE,
// PDF, LRO, RLO and LRI, RLI, FSI, PDI. The implicit marks (LRM, RLM, ALM) reorder
// nothing but neutral characters beside them, and right-to-left text needs them.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}
