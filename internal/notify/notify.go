// Package notify delivers hotline notifications to people: e-mail over SMTP
// (OpenPGP-encrypted when the recipient has a key) and signed JSON webhooks.
package notify

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError reports an input that a channel refused before any network
// traffic. Retrying the same input cannot succeed, so it is permanent.
type FieldError struct {
	Field  string // e.g. "Mail.To", "SMTPConfig.Addr", "url"
	Reason string
}

func (e *FieldError) Error() string { return "notify: " + e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// SendError reports a delivery attempt that failed on the way: which channel,
// which step of the exchange, the remote's answer when there was one, and
// whether retrying the same message could help. The caller records it as the
// outcome of the attempt, so its text names the step and the remote answer.
type SendError struct {
	Channel string // "smtp" or "webhook"
	Remote  string // SMTP host:port, or scheme://host of a webhook (never its path or query, which may hold a token)
	Step    string // e.g. "dial", "STARTTLS", "RCPT TO <a@b.example>", "POST", "response"
	Code    int    // SMTP reply code or HTTP status; 0 when the remote did not answer
	// Permanent is true when the remote refused definitively (SMTP 5xx, HTTP 4xx
	// other than 408/425/429), when the address guard refused the destination, or
	// when the peer lacks something the configuration requires (STARTTLS, AUTH).
	Permanent bool
	Err       error
}

func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("notify: ")
	b.WriteString(e.Channel)
	if e.Remote != "" {
		b.WriteString(" ")
		b.WriteString(e.Remote)
	}
	b.WriteString(": ")
	b.WriteString(e.Step)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent reports whether err says that sending the same message again
// through the same channel cannot succeed, so the escalation should move to
// another channel instead of retrying this one.
func IsPermanent(err error) bool {
	var fe *FieldError
	if errors.As(err, &fe) {
		return true
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Permanent
	}
	return false
}
