package egress

import (
	"math/rand/v2"
	"strings"
	"testing"

	"csirtlink/internal/tlp"
)

func TestDecideExport(t *testing.T) {
	amber := tlp.Item{Label: tlp.Amber, Author: "cn"}
	strict := tlp.Item{Label: tlp.AmberStrict, Author: "jp", Recipients: []string{"cn", "jp"}}
	red := tlp.Item{Label: tlp.Red, Author: "kr", Recipients: []string{"cn"}}
	green := tlp.Item{Label: tlp.Green, Author: "kr"}
	tests := []struct {
		name   string
		item   tlp.Item
		to     Destination
		want   Verdict
		reason string
	}{
		{"our own team, RED naming us", red, Destination{Kind: Export, Team: "cn", Ceiling: tlp.Red}, Full, "allows an export for cn"},
		{"our own team, under a GREEN ceiling", amber, Destination{Kind: Export, Team: "cn", Ceiling: tlp.Green}, Refuse, "stricter than the export's ceiling"},
		{"a participant peer, AMBER", amber, Destination{Kind: Export, Team: "jp", Ceiling: tlp.Red}, Full, "allows"},
		{"a peer outside the incident, AMBER", amber, Destination{Kind: Export, Team: "kr", Ceiling: tlp.Red}, Refuse, "does not allow"},
		{"a peer not named for RED", red, Destination{Kind: Export, Team: "jp", Ceiling: tlp.Red}, Refuse, "does not allow"},
		{"an unknown team", amber, Destination{Kind: Export, Team: "xx", Ceiling: tlp.Red}, Refuse, "neither this node's team nor an active peer"},
		{"outsiders, GREEN under AMBER", green, Destination{Kind: Export, Ceiling: tlp.Amber}, Full, "outside the federation"},
		{"outsiders, AMBER under GREEN", amber, Destination{Kind: Export, Ceiling: tlp.Green}, Refuse, "stricter"},
		{"outsiders with an AMBER+STRICT ceiling", strict, Destination{Kind: Export, Ceiling: tlp.AmberStrict}, Refuse, "wider than one team"},
		{"outsiders with a RED ceiling", red, Destination{Kind: Export, Ceiling: tlp.Red}, Refuse, "wider than one team"},
		{"no ceiling", green, Destination{Kind: Export, Team: "cn"}, Refuse, "ceiling"},
	}
	for _, tt := range tests {
		d := Decide(Request{Item: tt.item, Context: ctx, To: tt.to})
		if d.Verdict() != tt.want || !strings.Contains(d.Reason(), tt.reason) {
			t.Errorf("%s: %s, want %s (%q)", tt.name, d, tt.want, tt.reason)
		}
	}
}

// TestExportNeverWidensStrictLabels: whatever the item and ceiling, an export for an
// audience wider than one team carries no AMBER+STRICT or RED item, and an export for a
// team carries only what the TLP rule lets that team have, never above the ceiling.
func TestExportNeverWidensStrictLabels(t *testing.T) {
	labels := []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red, "PURPLE"}
	teams := []string{"", "cn", "jp", "kr", "ph", "xx"}
	r := rand.New(rand.NewPCG(16, 7))
	for range 20000 {
		item := tlp.Item{Label: labels[r.IntN(len(labels))], Author: teams[1+r.IntN(len(teams)-1)]}
		for _, tm := range teams[1:] {
			if r.IntN(2) == 0 {
				item.Recipients = append(item.Recipients, tm)
			}
		}
		to := Destination{Kind: Export, Team: teams[r.IntN(len(teams))], Ceiling: labels[r.IntN(len(labels))]}
		d := Decide(Request{Item: item, Context: ctx, To: to})
		if !d.Allowed() {
			continue
		}
		switch {
		case to.Team == "" && (item.Label == tlp.AmberStrict || item.Label == tlp.Red):
			t.Fatalf("%+v went to outsiders under %s", item, to.Ceiling)
		case !item.Label.Valid() || item.Label.Rank() > to.Ceiling.Rank():
			t.Fatalf("%+v went above the ceiling %s", item, to.Ceiling)
		case to.Team != "" && !tlp.MayShare(item, to.Team, tlp.Audience{Participants: ctx.Participants, Community: ctx.Community}):
			t.Fatalf("%+v went to %s, whom its label excludes", item, to.Team)
		}
	}
}
