package oncall

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Target kinds of an escalation level.
const (
	TargetUser     = "user"     // ID is a user name
	TargetRotation = "rotation" // ID is a rotation id; whoever is on call there
)

// Limits of a policy. They keep a page's escalation finite and short enough to reason
// about: at most 11 rounds of 10 levels, a day between levels.
const (
	MaxRepeat  = 10
	MaxLevels  = 10
	MaxTargets = 20
	MaxDelay   = 1440 // minutes
)

// Policy is how a team escalates a page nobody has acknowledged: notify level 0, wait
// its delay, notify level 1, and so on; after the last level run through all levels
// again, Repeat more times.
type Policy struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Repeat int     `json:"repeat"` // 0 to MaxRepeat
	Levels []Level `json:"levels"` // 1 to MaxLevels
}

// Level is one step of a policy.
type Level struct {
	// DelayMinutes is how long to wait for an acknowledgement before the next level
	// (1 to MaxDelay).
	DelayMinutes int      `json:"delay_minutes"`
	Targets      []Target `json:"targets"` // 1 to MaxTargets
}

// Target is whom a level notifies.
type Target struct {
	Type string `json:"type"` // TargetUser or TargetRotation
	ID   string `json:"id"`
}

// Step is one notification round of a page escalating under a policy: level Level of
// round Round (both from 0) fires at At.
type Step struct {
	Round int       `json:"round"`
	Level int       `json:"level"`
	At    time.Time `json:"at"`
}

// Validate checks every field; errors are *FieldError values named by JSON path.
// userExists and rotationExists, when not nil, check that targets name something real.
func (p Policy) Validate(userExists, rotationExists func(string) bool) error {
	pr := problems{object: fmt.Sprintf("policy %q", p.ID)}
	if strings.TrimSpace(p.ID) == "" {
		pr.add("id", "required")
	}
	if strings.TrimSpace(p.Name) == "" {
		pr.add("name", "required")
	}
	if p.Repeat < 0 || p.Repeat > MaxRepeat {
		pr.add("repeat", "must be from 0 to %d", MaxRepeat)
	}
	if len(p.Levels) == 0 {
		pr.add("levels", "at least one level required")
	} else if len(p.Levels) > MaxLevels {
		pr.add("levels", "at most %d levels", MaxLevels)
	}
	for i, l := range p.Levels {
		at := fmt.Sprintf("levels[%d]", i)
		if l.DelayMinutes < 1 || l.DelayMinutes > MaxDelay {
			pr.add(at+".delay_minutes", "must be from 1 to %d", MaxDelay)
		}
		if len(l.Targets) == 0 {
			pr.add(at+".targets", "at least one target required")
		} else if len(l.Targets) > MaxTargets {
			pr.add(at+".targets", "at most %d targets", MaxTargets)
		}
		for j, tg := range l.Targets {
			at := fmt.Sprintf("%s.targets[%d]", at, j)
			if slices.Contains(l.Targets[:j], tg) {
				pr.add(at, "%s %q listed twice", tg.Type, tg.ID)
				continue
			}
			var exists func(string) bool
			switch tg.Type {
			case TargetUser:
				exists = userExists
			case TargetRotation:
				exists = rotationExists
			default:
				pr.add(at+".type", "%q is not %s or %s", tg.Type, TargetUser, TargetRotation)
				continue
			}
			switch {
			case strings.TrimSpace(tg.ID) == "":
				pr.add(at+".id", "required")
			case exists != nil && !exists(tg.ID):
				pr.add(at+".id", "no %s %q", tg.Type, tg.ID)
			}
		}
	}
	return pr.err()
}

// Steps lists when each level of each round fires for a page first notified at start:
// level 0 at start, each next level DelayMinutes of the previous one later, the first
// level of a new round the last level's delay after it.
//
// Steps trusts a validated policy; out-of-range counts and delays are clamped to the
// limits, so a bad policy can neither allocate without bound nor run time backwards.
func (p Policy) Steps(start time.Time) []Step {
	rounds := 1 + min(max(p.Repeat, 0), MaxRepeat)
	levels := p.Levels[:min(len(p.Levels), MaxLevels)]
	out := make([]Step, 0, rounds*len(levels))
	at := start.UTC()
	for r := range rounds {
		for i, l := range levels {
			out = append(out, Step{Round: r, Level: i, At: at})
			at = at.Add(time.Duration(min(max(l.DelayMinutes, 1), MaxDelay)) * time.Minute)
		}
	}
	return out
}

// Resolve returns the user names to notify for level at instant at, de-duplicated in
// target order: a user target is that user, a rotation target whoever OnCall names.
//
// A rotation that is missing or broken is an error, but the users of the other targets
// are still returned with it, so that one bad rota does not silence the rest of the
// level: notify them, and report the error.
func (p Policy) Resolve(level int, at time.Time, rotations map[string]Rotation, overrides []Override) ([]string, error) {
	if level < 0 || level >= len(p.Levels) {
		return nil, fmt.Errorf("policy %q: level %d: the policy has levels 0 to %d", p.ID, level, len(p.Levels)-1)
	}
	var users []string
	var errs []error
	add := func(u string) {
		if !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	for j, tg := range p.Levels[level].Targets {
		field := fmt.Sprintf("policy %q: levels[%d].targets[%d]", p.ID, level, j)
		if strings.TrimSpace(tg.ID) == "" {
			errs = append(errs, fmt.Errorf("%s.id: required", field))
			continue
		}
		switch tg.Type {
		case TargetUser:
			add(tg.ID)
		case TargetRotation:
			r, ok := rotations[tg.ID]
			if !ok {
				errs = append(errs, fmt.Errorf("%s.id: no rotation %q", field, tg.ID))
				continue
			}
			if r.ID != tg.ID {
				// OnCall would pick overrides by the other id.
				errs = append(errs, fmt.Errorf("%s.id: rotation %q is filed under %q", field, r.ID, tg.ID))
				continue
			}
			sh, err := OnCall(r, overrides, at)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", field, err))
				continue
			}
			add(sh.User)
		default:
			errs = append(errs, fmt.Errorf("%s.type: %q is not %s or %s", field, tg.Type, TargetUser, TargetRotation))
		}
	}
	return users, errors.Join(errs...)
}
