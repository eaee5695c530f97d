// Package tlp holds the Traffic Light Protocol 2.0 labels and the single rule
// that decides whether a labelled item may leave this node for another team.
package tlp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Label is a TLP 2.0 label in its canonical upper-case form, without the
// "TLP:" prefix. Labels stay in English whatever the UI language (FIRST's rule).
type Label string

// The TLP 2.0 labels, from least to most restrictive.
const (
	Clear       Label = "CLEAR"
	Green       Label = "GREEN"
	Amber       Label = "AMBER"
	AmberStrict Label = "AMBER+STRICT"
	Red         Label = "RED"
)

// labels is ordered by strictness; Rank is the index.
var labels = []Label{Clear, Green, Amber, AmberStrict, Red}

// Parse reads a label case-insensitively, with or without the "TLP:" prefix,
// and returns its canonical form.
func Parse(s string) (Label, error) {
	// ASCII-only upper-casing: Unicode case mapping would let look-alikes such
	// as "ſ" (long s) or "K" (Kelvin sign) pass as a label.
	v := strings.Map(asciiUpper, strings.TrimSpace(s))
	v = strings.TrimSpace(strings.TrimPrefix(v, "TLP:"))
	if l := Label(v); l.Valid() {
		return l, nil
	}
	return "", fmt.Errorf("tlp: unknown label %q: want one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED (optionally prefixed with TLP:)", s)
}

func asciiUpper(r rune) rune {
	if 'a' <= r && r <= 'z' {
		return r - 'a' + 'A'
	}
	return r
}

// Valid reports whether l is one of the five canonical labels.
func (l Label) Valid() bool {
	return l.Rank() >= 0
}

// Rank orders labels by strictness, CLEAR=0 to RED=4, so that "at least as
// strict" is a plain integer comparison. It is -1 for an invalid label.
func (l Label) Rank() int {
	return slices.Index(labels, l)
}

// Stricter returns the more restrictive of a and b. An invalid label counts as
// stricter than every valid one and is returned as is: combining labels can
// then only narrow who receives an item, since MayShare refuses invalid labels.
func Stricter(a, b Label) Label {
	switch {
	case !a.Valid():
		return a
	case !b.Valid():
		return b
	case b.Rank() > a.Rank():
		return b
	default:
		return a
	}
}

// Item is something that might leave the node.
type Item struct {
	Label      Label
	Author     string   // team id that wrote it
	Recipients []string // named recipient teams (for AMBER+STRICT / RED)
}

// Audience describes the destination's relation to the item's context.
type Audience struct {
	Participants []string // teams taking part in the incident the item belongs to (empty when no incident)
	Community    []string // peers that are members of the sharing community (GREEN)
}

// MayShare answers "may this item go to team dest?". It is the only place the
// rule lives (DESIGN.md idea 6), and egress.Decide, which decides every way out
// of the node, is its only caller (a test in internal/egress keeps it so).
// Anything it does not recognise is refused, so a bug upstream withholds data
// rather than leaks it.
func MayShare(it Item, dest string, aud Audience) bool {
	if dest == "" {
		return false
	}
	// The author already holds the item, so echoing it back discloses nothing.
	if dest == it.Author {
		return true
	}
	switch it.Label {
	case Clear:
		return true
	case Green:
		return slices.Contains(aud.Community, dest) || slices.Contains(aud.Participants, dest)
	case Amber:
		return slices.Contains(aud.Participants, dest)
	case AmberStrict:
		return slices.Contains(aud.Participants, dest) &&
			(len(it.Recipients) == 0 || slices.Contains(it.Recipients, dest))
	case Red:
		// Deliberately not tied to Participants: RED goes to whoever the author
		// named, inside an incident or not, and to no one else.
		return slices.Contains(it.Recipients, dest)
	default:
		return false
	}
}

// ResolveRecipients fixes the recipient list to store with a new item.
// AMBER+STRICT without names is frozen to the participants at the time of
// writing, so a team added to the incident later does not inherit it unless
// the author grants it. Other labels carry no recipient list and get nil.
func ResolveRecipients(l Label, named, participants []string) []string {
	switch l {
	case AmberStrict:
		if len(named) == 0 {
			return sortedUnique(participants)
		}
		return sortedUnique(named)
	case Red:
		return sortedUnique(named)
	default:
		return nil
	}
}

func sortedUnique(teams []string) []string {
	if len(teams) == 0 {
		return nil
	}
	out := slices.Clone(teams)
	slices.Sort(out)
	return slices.Compact(out)
}

// ValidateRecipients checks an author's recipient list against the label
// before the item is stored: names only mean something for AMBER+STRICT and
// RED, and a RED item with no names could never reach anyone.
func ValidateRecipients(l Label, named []string) error {
	if !l.Valid() {
		return fmt.Errorf("tlp: recipients for unknown label %q", l)
	}
	if slices.Contains(named, "") {
		return errors.New("tlp: empty recipient team id")
	}
	switch l {
	case AmberStrict:
		return nil
	case Red:
		if len(named) == 0 {
			return errors.New("tlp: RED requires at least one named recipient team")
		}
		return nil
	default:
		if len(named) > 0 {
			return fmt.Errorf("tlp: %s does not take named recipients (only AMBER+STRICT and RED do)", l)
		}
		return nil
	}
}
