package oncall

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func snapshotFixture(t *testing.T) (Policy, map[string]Rotation, []Override) {
	primary, overrides := tokyoWeek(t)
	secondary := rota("jp-secondary", "Asia/Tokyo", Weekly, 1, "2026-03-30T09:00", "ben", "duty-manager")
	unused := rota("jp-training", "Asia/Tokyo", Daily, 1, "2026-03-30T09:00", "trainee")
	return hotlinePolicy(), map[string]Rotation{primary.ID: primary, secondary.ID: secondary, unused.ID: unused}, overrides
}

// TestSnapshotOutlivesEdits: a page in flight keeps escalating by the policy, rotas and
// overrides as they were when it arrived, whatever is edited afterwards.
func TestSnapshotOutlivesEdits(t *testing.T) {
	p, rotations, overrides := snapshotFixture(t)
	b, err := Snapshot(p, rotations, overrides)
	if err != nil {
		t.Fatal(err)
	}
	at := ts(t, "2026-04-02 13:00 +0900") // dan's override in ben's shift
	want := map[int][]string{0: {"dan", "aki"}, 1: {"ben"}, 2: {"duty-manager"}}

	// Edit everything the snapshot was made from, in place where slices are shared.
	p.Levels[0].Targets[1].ID = "ben"
	p.Levels[2].DelayMinutes = 60
	p.Repeat = 0
	primary := rotations["jp-primary"]
	primary.Members[1] = "zed"
	rotations["jp-secondary"] = rota("jp-secondary", "Asia/Tokyo", Daily, 1, "2026-01-01T00:00", "yan")
	overrides[0].User = "xia"
	clear(overrides[1:])

	pl, err := LoadSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	for level, users := range want {
		got, err := pl.Resolve(level, at)
		if err != nil || !slices.Equal(got, users) {
			t.Errorf("level %d from the snapshot = %v, %v; want %v as before the edits", level, got, err, users)
		}
	}
	if steps := pl.Steps(at); len(steps) != 6 || !steps[5].At.Equal(at.Add(45*60e9)) {
		t.Errorf("snapshot steps = %v, want two rounds of 5, 10 and 15 minutes", steps)
	}
	if _, ok := pl.Rotations["jp-training"]; ok {
		t.Error("snapshot carries a rotation the policy does not target")
	}
	if len(pl.Overrides) != 4 {
		t.Errorf("snapshot has %d overrides, want the 4 of jp-primary", len(pl.Overrides))
	}

	// Loading is itself independent: editing one loaded plan leaves the bytes alone.
	pl.Rotations["jp-primary"].Members[0] = "mallory"
	again, err := LoadSnapshot(b)
	if err != nil || again.Rotations["jp-primary"].Members[0] != "aki" {
		t.Errorf("a second load saw the first one's edit: %v, %v", again.Rotations["jp-primary"].Members, err)
	}
}

func TestSnapshotIsDeterministic(t *testing.T) {
	p, rotations, overrides := snapshotFixture(t)
	a, err := Snapshot(p, rotations, overrides)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if b, _ := Snapshot(p, rotations, overrides); !bytes.Equal(a, b) {
			t.Fatalf("Snapshot differs between runs:\n%s\n%s", a, b)
		}
	}
}

func TestSnapshotRefuses(t *testing.T) {
	p, rotations, overrides := snapshotFixture(t)
	tests := []struct {
		name string
		edit func(*Policy, map[string]Rotation, []Override)
		want string
	}{
		{"a target rotation missing", func(_ *Policy, r map[string]Rotation, _ []Override) { delete(r, "jp-secondary") },
			`levels[1].targets[0].id: no rotation "jp-secondary"`},
		{"a rotation under another key", func(_ *Policy, r map[string]Rotation, _ []Override) {
			x := r["jp-primary"]
			x.ID = "jp-other"
			r["jp-primary"] = x
		}, `rotations["jp-primary"]: id: "jp-other" does not match its key`},
		{"a bad rotation", func(_ *Policy, r map[string]Rotation, _ []Override) {
			x := r["jp-secondary"]
			x.Every = 0
			r["jp-secondary"] = x
		}, `rotation "jp-secondary": every: must be at least 1`},
		{"a bad override", func(_ *Policy, _ map[string]Rotation, o []Override) { o[2].User = "" },
			`overrides[2]: override "o3": user: required`},
		{"a bad policy", func(p *Policy, _ map[string]Rotation, _ []Override) { p.Levels[0].DelayMinutes = 0 },
			`levels[0].delay_minutes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p2, r2, o2 := p, map[string]Rotation{}, slices.Clone(overrides)
			p2.Levels = slices.Clone(p.Levels)
			for k, v := range rotations {
				r2[k] = v
			}
			tt.edit(&p2, r2, o2)
			if _, err := Snapshot(p2, r2, o2); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Snapshot() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// Another rota's bad override is not this snapshot's business.
	o := slices.Clone(overrides)
	o[4].User = ""
	if _, err := Snapshot(p, rotations, o); err != nil {
		t.Errorf("Snapshot refused for an override of an untargeted rotation: %v", err)
	}
}

func TestLoadSnapshotRefuses(t *testing.T) {
	p, rotations, overrides := snapshotFixture(t)
	good, err := Snapshot(p, rotations, overrides)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", "{", "snapshot:"},
		{"no version", strings.Replace(string(good), `"version":1`, `"version":0`, 1), "version: required"},
		{"from a newer node", strings.Replace(string(good), `"version":1`, `"version":2`, 1), "version: 2 is newer"},
		{"a rotation dropped", strings.Replace(string(good), `"id":"jp-secondary","name"`, `"id":"jp-elsewhere","name"`, 1), `no rotation "jp-secondary"`},
		{"a rotation twice", strings.Replace(string(good), `"id":"jp-secondary","name"`, `"id":"jp-primary","name"`, 1), `id: "jp-primary" listed twice`},
		{"a broken rotation", strings.Replace(string(good), `"every":1`, `"every":0`, 1), "rotations[0]: rotation \"jp-primary\": every: must be at least 1"},
		{"a broken override", strings.Replace(string(good), `"user":"dan"`, `"user":""`, 1), `overrides[0]: override "o1": user: required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == string(good) {
				t.Fatal("the edit did not apply; the test is stale")
			}
			if _, err := LoadSnapshot([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadSnapshot() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
