// Package clock lets every timed behaviour read time from a source tests can control.
package clock

import (
	"sync"
	"time"
)

// Clock is the only way csirtlink code reads the time.
type Clock interface {
	Now() time.Time
}

// Real reads the system clock, in UTC.
type Real struct{}

// Now returns the current UTC time.
func (Real) Now() time.Time { return time.Now().UTC() }

// Fake is a clock that moves only when told to.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t.UTC()} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the fake time forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Set moves the fake time to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t.UTC()
	f.mu.Unlock()
}

// Offset is the real clock moved by a settable offset, which only ever grows: the
// demo plays months of history through running nodes this way, then catches up with
// the real time (Set to now) and runs on.
type Offset struct {
	mu  sync.Mutex
	off time.Duration
}

// NewOffset returns a clock that reads t now, and moves on with real time.
func NewOffset(t time.Time) *Offset { return &Offset{off: time.Until(t)} }

// Now returns the real time plus the offset, in UTC.
func (o *Offset) Now() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return time.Now().UTC().Add(o.off)
}

// Set makes the clock read t now; a t behind what the clock reads is ignored, so the
// clock never runs backwards.
func (o *Offset) Set(t time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if off := time.Until(t); off > o.off {
		o.off = off
	}
}
