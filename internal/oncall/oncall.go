// Package oncall is the hotline's scheduling logic: who is on call in a rotation at an
// instant, with overrides, and whom an escalation policy pages at each level. It does no
// I/O and reads no clock; every instant is passed in, and every instant it returns is UTC.
package oncall

import (
	"errors"
	"fmt"

	// Rotations name IANA zones; embed the database so a bare machine can still load them.
	_ "time/tzdata"
)

// FieldError is a bad value in one JSON field of a rotation, override, policy or
// snapshot. Validate methods return one per problem, joined with errors.Join, so that an
// API can find them with errors.As and answer with the field and the reason.
type FieldError struct {
	Object string // what was checked, e.g. `rotation "primary"`
	Field  string // JSON path of the field at fault, e.g. "levels[1].delay_minutes"
	Reason string
}

func (e *FieldError) Error() string {
	return e.Object + ": " + e.Field + ": " + e.Reason
}

// problems collects the field errors of one object.
type problems struct {
	object string
	errs   []error
}

func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Object: p.object, Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// floorDiv and floorMod round towards minus infinity, so that the schedule runs
// backwards from Start without a seam at zero.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
