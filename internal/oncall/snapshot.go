package oncall

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// snapshotVersion is the format Snapshot writes. LoadSnapshot refuses a newer one
// rather than escalate a page by rules it cannot read.
const snapshotVersion = 1

// Plan is an escalation policy frozen together with the rotations and overrides it
// references, as a page's escalation runs it: edits to the policy, its rotas or their
// overrides after the page arrived do not change whom the page reaches.
type Plan struct {
	Policy    Policy
	Rotations map[string]Rotation // by id
	Overrides []Override
}

// snapshot is Plan on the wire; rotations are a list, sorted by id, so that the same
// plan always encodes to the same bytes.
type snapshot struct {
	Version   int        `json:"version"`
	Policy    Policy     `json:"policy"`
	Rotations []Rotation `json:"rotations"`
	Overrides []Override `json:"overrides"`
}

// Snapshot freezes a policy with the rotations it targets and their overrides, as JSON
// for the page's escalation record. rotations is keyed by id; rotations the policy does
// not target and their overrides are left out. Everything included is validated, so a
// page never starts under a plan that LoadSnapshot would refuse.
//
// Overrides that have ended are never needed again; the caller may leave them out.
func Snapshot(p Policy, rotations map[string]Rotation, overrides []Override) ([]byte, error) {
	has := func(id string) bool { _, ok := rotations[id]; return ok }
	if err := p.Validate(nil, has); err != nil {
		return nil, err
	}
	var ids []string
	for _, l := range p.Levels {
		for _, tg := range l.Targets {
			if tg.Type == TargetRotation && !slices.Contains(ids, tg.ID) {
				ids = append(ids, tg.ID)
			}
		}
	}
	slices.Sort(ids)
	s := snapshot{Version: snapshotVersion, Policy: p, Rotations: []Rotation{}, Overrides: []Override{}}
	for _, id := range ids {
		r := rotations[id]
		if r.ID != id {
			return nil, fmt.Errorf("rotations[%q]: id: %q does not match its key", id, r.ID)
		}
		if err := r.Validate(); err != nil {
			return nil, err
		}
		s.Rotations = append(s.Rotations, r)
	}
	for i, o := range overrides {
		if !slices.Contains(ids, o.RotationID) {
			continue
		}
		if err := o.Validate(); err != nil {
			return nil, fmt.Errorf("overrides[%d]: %w", i, err)
		}
		o.Start, o.End = o.Start.UTC(), o.End.UTC()
		s.Overrides = append(s.Overrides, o)
	}
	return json.Marshal(s)
}

// LoadSnapshot reads what Snapshot wrote, checking it again: the bytes come from the
// database, and a plan that cannot be followed should fail here, not mid-escalation.
func LoadSnapshot(b []byte) (Plan, error) {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return Plan{}, fmt.Errorf("snapshot: %w", err)
	}
	switch {
	case s.Version == 0:
		return Plan{}, errors.New("snapshot: version: required")
	case s.Version > snapshotVersion:
		return Plan{}, fmt.Errorf("snapshot: version: %d is newer than this node reads (%d)", s.Version, snapshotVersion)
	}
	pl := Plan{Policy: s.Policy, Rotations: make(map[string]Rotation, len(s.Rotations)), Overrides: s.Overrides}
	for i, r := range s.Rotations {
		if err := r.Validate(); err != nil {
			return Plan{}, fmt.Errorf("snapshot: rotations[%d]: %w", i, err)
		}
		if _, dup := pl.Rotations[r.ID]; dup {
			return Plan{}, fmt.Errorf("snapshot: rotations[%d]: id: %q listed twice", i, r.ID)
		}
		pl.Rotations[r.ID] = r
	}
	has := func(id string) bool { _, ok := pl.Rotations[id]; return ok }
	if err := s.Policy.Validate(nil, has); err != nil {
		return Plan{}, fmt.Errorf("snapshot: %w", err)
	}
	for i, o := range s.Overrides {
		if err := o.Validate(); err != nil {
			return Plan{}, fmt.Errorf("snapshot: overrides[%d]: %w", i, err)
		}
	}
	return pl, nil
}

// Steps lists when each level of each round fires for a page first notified at start.
func (pl Plan) Steps(start time.Time) []Step { return pl.Policy.Steps(start) }

// Resolve returns the users to notify for level at instant at, as Policy.Resolve.
func (pl Plan) Resolve(level int, at time.Time) ([]string, error) {
	return pl.Policy.Resolve(level, at, pl.Rotations, pl.Overrides)
}
