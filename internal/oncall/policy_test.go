package oncall

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func hotlinePolicy() Policy {
	return Policy{
		ID: "hotline", Name: "Hotline", Repeat: 1,
		Levels: []Level{
			{DelayMinutes: 5, Targets: []Target{{TargetRotation, "jp-primary"}, {TargetUser, "aki"}}},
			{DelayMinutes: 10, Targets: []Target{{TargetRotation, "jp-secondary"}}},
			{DelayMinutes: 15, Targets: []Target{{TargetUser, "duty-manager"}}},
		},
	}
}

func TestPolicyValidate(t *testing.T) {
	users := func(u string) bool {
		return slices.Contains([]string{"aki", "ben", "duty-manager"}, u) || strings.HasPrefix(u, "extra-")
	}
	rotations := func(r string) bool { return r == "jp-primary" || r == "jp-secondary" }
	many := func(n int, f func(i int) Target) []Target {
		var out []Target
		for i := range n {
			out = append(out, f(i))
		}
		return out
	}
	tests := []struct {
		name  string
		edit  func(*Policy)
		field string // "" when valid
	}{
		{"valid", func(*Policy) {}, ""},
		{"ten repeats", func(p *Policy) { p.Repeat = 10 }, ""},
		{"a day's delay", func(p *Policy) { p.Levels[0].DelayMinutes = 1440 }, ""},
		{"twenty targets", func(p *Policy) {
			p.Levels[0].Targets = many(20, func(i int) Target { return Target{TargetUser, fmt.Sprint("extra-", i)} })
		}, ""},
		{"no id", func(p *Policy) { p.ID = "" }, "id"},
		{"no name", func(p *Policy) { p.Name = " " }, "name"},
		{"negative repeat", func(p *Policy) { p.Repeat = -1 }, "repeat"},
		{"eleven repeats", func(p *Policy) { p.Repeat = 11 }, "repeat"},
		{"no levels", func(p *Policy) { p.Levels = nil }, "levels"},
		{"eleven levels", func(p *Policy) {
			for len(p.Levels) < 11 {
				p.Levels = append(p.Levels, p.Levels[2])
			}
		}, "levels"},
		{"no delay", func(p *Policy) { p.Levels[1].DelayMinutes = 0 }, "levels[1].delay_minutes"},
		{"delay over a day", func(p *Policy) { p.Levels[2].DelayMinutes = 1441 }, "levels[2].delay_minutes"},
		{"no targets", func(p *Policy) { p.Levels[1].Targets = nil }, "levels[1].targets"},
		{"twenty-one targets", func(p *Policy) {
			p.Levels[0].Targets = many(21, func(i int) Target { return Target{TargetUser, fmt.Sprint("extra-", i)} })
		}, "levels[0].targets"},
		{"unknown target type", func(p *Policy) { p.Levels[0].Targets[1].Type = "team" }, "levels[0].targets[1].type"},
		{"blank target", func(p *Policy) { p.Levels[2].Targets[0].ID = "" }, "levels[2].targets[0].id"},
		{"unknown user", func(p *Policy) { p.Levels[0].Targets[1].ID = "zed" }, "levels[0].targets[1].id"},
		{"unknown rotation", func(p *Policy) { p.Levels[1].Targets[0].ID = "kr-primary" }, "levels[1].targets[0].id"},
		{"a target twice in one level", func(p *Policy) {
			p.Levels[0].Targets = append(p.Levels[0].Targets, Target{TargetUser, "aki"})
		}, "levels[0].targets[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := hotlinePolicy()
			tt.edit(&p)
			err := p.Validate(users, rotations)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate() = %v, want an error in %s", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), fe.Object+": "+tt.field+": ") || !strings.HasPrefix(fe.Object, "policy ") {
				t.Fatalf("Validate() = %q, want it to start with the policy and %s", err, tt.field)
			}
		})
	}
	// Without lookups only the shape is checked.
	p := hotlinePolicy()
	p.Levels[0].Targets[1].ID = "zed"
	if err := p.Validate(nil, nil); err != nil {
		t.Errorf("Validate(nil, nil) = %v; names are not checked without lookups", err)
	}
}

func TestSteps(t *testing.T) {
	start := ts(t, "2026-04-02 03:00 +0900")
	after := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name   string
		repeat int
		want   []Step
	}{
		{"once through", 0, []Step{{0, 0, after(0)}, {0, 1, after(5)}, {0, 2, after(15)}}},
		{"repeated once: the next round waits the last level's delay", 1, []Step{
			{0, 0, after(0)}, {0, 1, after(5)}, {0, 2, after(15)},
			{1, 0, after(30)}, {1, 1, after(35)}, {1, 2, after(45)},
		}},
		{"a negative repeat is clamped to once through", -3, []Step{{0, 0, after(0)}, {0, 1, after(5)}, {0, 2, after(15)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := hotlinePolicy()
			p.Repeat = tt.repeat
			got := p.Steps(start)
			if len(got) != len(tt.want) {
				t.Fatalf("Steps() = %d steps, want %d: %v", len(got), len(tt.want), got)
			}
			for i := range got {
				if got[i].Round != tt.want[i].Round || got[i].Level != tt.want[i].Level || !got[i].At.Equal(tt.want[i].At) {
					t.Errorf("step %d = %+v, want %+v", i, got[i], tt.want[i])
				}
				if got[i].At.Location() != time.UTC {
					t.Errorf("step %d not in UTC", i)
				}
			}
		})
	}
	p := hotlinePolicy()
	p.Repeat = 1000
	p.Levels[0].DelayMinutes = -60
	steps := p.Steps(start)
	if len(steps) != (1+MaxRepeat)*3 {
		t.Errorf("Steps with repeat 1000 = %d steps, want the cap %d", len(steps), (1+MaxRepeat)*3)
	}
	for i := 1; i < len(steps); i++ {
		if !steps[i].At.After(steps[i-1].At) {
			t.Fatalf("Steps ran time backwards at %d: %v", i, steps[i-1:i+1])
		}
	}
	if got := (Policy{}).Steps(start); len(got) != 0 {
		t.Errorf("Steps of a policy without levels = %v", got)
	}
}

func TestResolve(t *testing.T) {
	primary, overrides := tokyoWeek(t)
	secondary := rota("jp-secondary", "Asia/Tokyo", Weekly, 1, "2026-03-30T09:00", "ben", "duty-manager")
	rotations := map[string]Rotation{primary.ID: primary, secondary.ID: secondary}
	p := hotlinePolicy()
	p.Levels = append(p.Levels, Level{DelayMinutes: 5, Targets: []Target{
		{TargetUser, "duty-manager"}, {TargetRotation, "jp-primary"}, {TargetRotation, "jp-secondary"}, {TargetUser, "chie"},
	}})
	tests := []struct {
		name  string
		level int
		at    string
		want  []string
	}{
		{"aki is on call and named: notified once", 0, "2026-04-01 10:00 +0900", []string{"aki"}},
		{"ben is on call, aki named", 0, "2026-04-02 10:00 +0900", []string{"ben", "aki"}},
		{"an override's user is who is on call", 0, "2026-04-02 13:00 +0900", []string{"dan", "aki"}},
		{"secondary rota", 1, "2026-04-02 10:00 +0900", []string{"ben"}},
		{"user first, then rotas, de-duplicated in target order", 3, "2026-04-07 10:00 +0900", []string{"duty-manager", "aki", "chie"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Resolve(tt.level, ts(t, tt.at), rotations, overrides)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Resolve(%d, %s) = %v, %v; want %v", tt.level, tt.at, got, err, tt.want)
			}
		})
	}

	for _, level := range []int{-1, 4} {
		if _, err := p.Resolve(level, ts(t, "2026-04-01 10:00 +0900"), rotations, overrides); err == nil {
			t.Errorf("Resolve(%d) succeeded on a four-level policy", level)
		}
	}

	// One missing rota does not silence the rest of its level.
	delete(rotations, "jp-secondary")
	got, err := p.Resolve(3, ts(t, "2026-04-07 10:00 +0900"), rotations, overrides)
	if err == nil || !strings.Contains(err.Error(), `levels[3].targets[2].id: no rotation "jp-secondary"`) {
		t.Errorf("Resolve with a missing rotation: error %v, want it named", err)
	}
	if want := []string{"duty-manager", "aki", "chie"}; !slices.Equal(got, want) {
		t.Errorf("Resolve with a missing rotation = %v, want the others %v", got, want)
	}
}
