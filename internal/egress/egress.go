// Package egress holds the one decision on what may leave this node, whatever the way
// out: a signed envelope to a peer's node, fallback mail to a partner's published
// hotline address, e-mail or a webhook to one of our own people — and every export to
// come (a TAXII consumer, a report to a network owner) — and publication (the CSAF
// provider folder, public endpoints), with a case's embargo instant as a further input.
// A way out that has no rule here yet is refused.
//
// Decide applies the TLP rule (tlp.MayShare, which nothing else calls), refuses teams
// that are not active peers, and keeps AMBER+STRICT and RED content off channels that
// reach more people than the recipient: mail that is not end-to-end encrypted, and
// webhooks. The senders (federation.Enqueue, notify's mailer and webhook client) take
// the Decision with what they send and refuse to send without one that allows it; a
// Decision can only be made here, so no send path can skip the rule.
package egress

import (
	"fmt"
	"slices"
	"time"

	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

// Kind is a way out of the node.
type Kind string

// The ways out that have a rule.
const (
	// Federation is a signed envelope to a peer team's node.
	Federation Kind = "federation"
	// FallbackMail is e-mail to a partner team's published hotline address, sent when
	// its node does not answer.
	FallbackMail Kind = "fallback-mail"
	// PersonMail is e-mail to one of our own people.
	PersonMail Kind = "person-mail"
	// Webhook is a webhook of one of our own people: a chat channel or an SMS gateway.
	Webhook Kind = "webhook"
	// PartnerReport is routed feed events in a bulk report to a partner team's node,
	// which passes them on to the network owners of its constituency.
	PartnerReport Kind = "partner-report"
	// OwnerReport is a report of routed feed events to a network owner of our own
	// constituency, by e-mail.
	OwnerReport Kind = "owner-report"
	// Publication is anyone: a public API endpoint, the CSAF provider folder, a public
	// feed or TAXII collection. It has no destination team; only TLP:CLEAR goes.
	Publication Kind = "publication"
	// Export is a document in an outside format (a STIX bundle, an IODEF document) made
	// for an audience: one team (Destination.Team: ours, or a peer) or, with no team,
	// people outside the federation (our constituency, a SOC, a partner's tool), in
	// either case limited to labels no stricter than Destination.Ceiling.
	Export Kind = "export"
	// VendorMail is e-mail to a vendor of a vulnerability case that this node's team
	// coordinates (Destination.Vendor), from the case's reply address. Under the case's
	// embargo it goes only to a vendor party to it (Embargo.Vendors): telling the
	// vendor is what the embargo is for.
	VendorMail Kind = "vendor-mail"
	// VendorAccess is a vendor's person reading, on this node (console or API), a case
	// of one of this team's vendors (Destination.Vendor). Under the embargo only a
	// vendor party to it reads it, as with VendorMail.
	VendorAccess Kind = "vendor-access"
)

// publicAudience is the destination the TLP rule is asked about for a publication: no
// team id has this shape, so only a label that lets anyone have the item allows it.
const publicAudience = "(public)"

// Embargo holds an item back until an agreed instant: before it, the item goes to no
// way out but a signed envelope to one of its participants (the coordinators who agreed
// the embargo), whatever its label.
type Embargo struct {
	// Until is the agreed publication instant; zero while none is agreed, which holds
	// the item back for as long.
	Until time.Time
	// Lifted is an emergency early publication, recorded with who decided it and why.
	Lifted bool
	// Vendors are the vendors (this node's ids) party to the embargo: the vendors of the
	// case that this node's team contacts. Vendor mail may reach them before the instant.
	Vendors []string
}

// Verdict is how much of an item may go.
type Verdict int

// Verdicts, from least to most. The zero value refuses.
const (
	// Refuse: nothing goes, not even word that the item exists.
	Refuse Verdict = iota
	// NoticeOnly: the destination may be told that something exists and how to act on
	// it (its id, sender, severity, label, how to acknowledge); its content stays home.
	NoticeOnly
	// Full: the item goes as the channel carries it.
	Full
)

func (v Verdict) String() string {
	switch v {
	case Refuse:
		return "refuse"
	case NoticeOnly:
		return "notice-only"
	case Full:
		return "full"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// Request is one question: may this item go to that destination, and how much of it?
type Request struct {
	Item    tlp.Item
	Context Context
	To      Destination
	// Embargo, when set, holds the item back until its instant; Now is the node's
	// clock (clock.Clock, so tests run it forward) read by the caller.
	Embargo *Embargo
	Now     time.Time
}

// Context is what the decision needs to know about the teams around the item.
type Context struct {
	Self         string   // this node's team: our own people's channels lead here
	Peers        []string // active peers: configured and not revoked
	Community    []string // active peers that receive TLP:GREEN
	Participants []string // teams taking part in the item's incident, or a page's recipients
}

// NewContext is the context of an item on a node whose teams dir describes.
func NewContext(dir *team.Directory, participants []string) Context {
	c := Context{Self: dir.Self.ID, Community: dir.Community(), Participants: participants}
	for _, p := range dir.Peers() {
		if p.IsActive() {
			c.Peers = append(c.Peers, p.ID)
		}
	}
	return c
}

// Destination is where the item would go.
type Destination struct {
	Kind Kind
	Team string // the team that receives it: a peer, or this node's own team for our people
	// Encrypted: the content travels end-to-end encrypted to the recipient (OpenPGP to a
	// key on file), not merely over TLS between relays.
	Encrypted bool
	// Ceiling is, for an Export, the strictest label its audience may receive. An audience
	// wider than one named team never receives AMBER+STRICT or RED.
	Ceiling tlp.Label
	// Vendor is, for VendorMail and VendorAccess, the vendor (its id on this node). For
	// them Ceiling, when set, is the label the case was given to that vendor: nothing
	// stricter reaches it.
	Vendor string
	// Removed is, for VendorMail and VendorAccess, that the vendor was removed from the
	// case (or its coordinator from the case's participants): nothing more of the case
	// goes to it, whatever the label or the embargo. What it received before stays its.
	Removed bool
}

// Decision is the answer to a Request. Only Decide makes one that allows anything: the
// zero Decision refuses, so a sender handed none sends nothing.
type Decision struct {
	verdict   Verdict
	reason    string
	kind      Kind
	team      string
	encrypted bool
	headline  bool
}

// Verdict is how much may go.
func (d Decision) Verdict() Verdict { return d.verdict }

// Allowed reports whether anything at all may go (a notice or the content).
func (d Decision) Allowed() bool { return d.verdict == NoticeOnly || d.verdict == Full }

// Full reports whether the content may go.
func (d Decision) Full() bool { return d.verdict == Full }

// Headline reports whether the item's summary may also go where more people see it
// than open the message: a mail subject (shown on lock screens, and in clear on the
// wire unless the mail is encrypted) or a chat line. Only when Full.
func (d Decision) Headline() bool { return d.verdict == Full && d.headline }

// Kind is the way out the decision is for.
func (d Decision) Kind() Kind { return d.kind }

// Team is the destination team the decision is for.
func (d Decision) Team() string { return d.team }

// Encrypted reports whether the decision counted on end-to-end encryption: a sender
// must then encrypt, or not send.
func (d Decision) Encrypted() bool { return d.encrypted }

// Reason says why, in words for logs, errors and the audit log.
func (d Decision) Reason() string {
	if d.reason == "" {
		return "no egress decision was made"
	}
	return d.reason
}

func (d Decision) String() string { return d.verdict.String() + ": " + d.Reason() }

// restricted labels keep their content off channels seen by more than the recipient.
// An invalid label counts as restricted, as the tlp package ranks it above RED.
func restricted(l tlp.Label) bool {
	return l == tlp.AmberStrict || l == tlp.Red || !l.Valid()
}

// Decide answers a Request. It is the only caller of tlp.MayShare: whatever leaves the
// node, by any channel, is decided here. Anything it does not recognise is refused.
func Decide(r Request) Decision {
	d := Decision{kind: r.To.Kind, team: r.To.Team, encrypted: r.To.Encrypted}
	refuse := func(format string, args ...any) Decision {
		d.verdict, d.reason, d.headline = Refuse, fmt.Sprintf(format, args...), false
		return d
	}
	dest, c, label := r.To.Team, r.Context, r.Item.Label
	if (r.To.Kind == VendorMail || r.To.Kind == VendorAccess) && r.To.Removed {
		return refuse("the vendor was removed from the case")
	}
	if e := r.Embargo; e != nil && !e.Lifted && (e.Until.IsZero() || r.Now.Before(e.Until)) &&
		(r.To.Kind != Federation || !slices.Contains(c.Participants, dest)) &&
		(r.To.Kind != VendorMail && r.To.Kind != VendorAccess || r.To.Vendor == "" || !slices.Contains(e.Vendors, r.To.Vendor)) {
		if e.Until.IsZero() {
			return refuse("under embargo: no publication instant agreed")
		}
		return refuse("under embargo until %s", e.Until.UTC().Format(time.RFC3339))
	}
	if r.To.Kind == Publication {
		if dest != "" {
			return refuse("a publication has no destination team")
		}
		if !tlp.MayShare(r.Item, publicAudience, tlp.Audience{}) {
			return refuse("TLP:%s does not allow publication", label)
		}
		d.verdict, d.headline, d.reason = Full, true, fmt.Sprintf("TLP:%s allows publication", label)
		return d
	}
	if r.To.Kind == Export {
		return decideExport(r, d)
	}
	if dest == "" {
		return refuse("no destination team")
	}
	switch r.To.Kind {
	case Federation, FallbackMail, PartnerReport:
		if dest == c.Self {
			return refuse("%s is this node's own team, not a peer", dest)
		}
		if !slices.Contains(c.Peers, dest) {
			return refuse("%s is not an active peer (unknown or revoked)", dest)
		}
	case VendorMail, VendorAccess:
		// A vendor is of this team's constituency: reached by this team, never a peer's.
		if c.Self == "" || dest != c.Self {
			return refuse("vendor mail goes only to this team's own vendors (team %q), not to %s", c.Self, dest)
		}
		if r.To.Vendor == "" {
			return refuse("vendor mail names no vendor")
		}
		// The label the case was given to the vendor: what is stricter stays here.
		if ceil := r.To.Ceiling; ceil != "" && (!ceil.Valid() || label.Rank() > ceil.Rank()) {
			return refuse("TLP:%s is stricter than TLP:%s, given to the vendor", label, ceil)
		}
	case PersonMail, Webhook, OwnerReport:
		if c.Self == "" || dest != c.Self {
			return refuse("%s goes only to our own people (team %q), not to %s", r.To.Kind, c.Self, dest)
		}
	default:
		return refuse("no egress rule for the way out %q", r.To.Kind)
	}
	if !tlp.MayShare(r.Item, dest, tlp.Audience{Participants: c.Participants, Community: c.Community}) {
		return refuse("TLP:%s does not allow it to go to %s", label, dest)
	}
	switch r.To.Kind {
	case PartnerReport, OwnerReport:
		// A routed report is passed on: the partner gives it to its network owners, an
		// owner to whoever fixes the host. TLP 2.0 lets AMBER go to constituents on a
		// need-to-know basis; AMBER+STRICT stays inside the receiving team, RED with
		// the people named. So restricted feeds never go out in routed reports.
		if restricted(label) {
			return refuse("TLP:%s stays inside the receiving team; routed reports are passed on to constituents", label)
		}
		d.verdict, d.headline = Full, true
		d.reason = fmt.Sprintf("TLP:%s allows a routed report for %s", label, dest)
		return d
	case FallbackMail, PersonMail, VendorMail:
		if restricted(label) && !r.To.Encrypted {
			d.verdict, d.reason = NoticeOnly, fmt.Sprintf("TLP:%s content does not travel in mail that is not encrypted to the recipient", label)
			return d
		}
		d.verdict, d.headline = Full, !restricted(label)
		d.reason = fmt.Sprintf("TLP:%s allows %s", label, dest)
		if restricted(label) {
			d.reason += "; encrypted, with no summary in the subject"
		}
		return d
	case VendorAccess:
		// Read over this node's own authenticated HTTPS, by the vendor's person.
		d.verdict, d.headline, d.reason = Full, true, fmt.Sprintf("TLP:%s allows the vendor's person of %s", label, dest)
		return d
	case Webhook:
		if restricted(label) {
			d.verdict, d.reason = NoticeOnly, fmt.Sprintf("TLP:%s content is not posted to webhooks: chat channels and gateways reach more people than the recipient", label)
			return d
		}
		d.verdict, d.headline, d.reason = Full, true, fmt.Sprintf("TLP:%s allows %s", label, dest)
		return d
	default: // Federation: the envelope goes to the team's own node.
		d.verdict, d.headline, d.reason = Full, !restricted(label), fmt.Sprintf("TLP:%s allows %s", label, dest)
		return d
	}
}

// decideExport is Decide for an export document. For one named team (ours or an active
// peer) it is the TLP rule for that team, under the ceiling. For an audience outside the
// federation it is the ceiling alone, which may be at most AMBER (TLP 2.0: AMBER lets a
// recipient pass content to its constituents who need it; AMBER+STRICT and RED do not).
func decideExport(r Request, d Decision) Decision {
	dest, c, label, ceiling := r.To.Team, r.Context, r.Item.Label, r.To.Ceiling
	refuse := func(format string, args ...any) Decision {
		d.verdict, d.reason, d.headline = Refuse, fmt.Sprintf(format, args...), false
		return d
	}
	switch {
	case !ceiling.Valid():
		return refuse("an export needs its audience's ceiling label, not %q", ceiling)
	case !label.Valid():
		return refuse("TLP:%s is not a label", label)
	case dest == "" && ceiling.Rank() > tlp.Amber.Rank():
		return refuse("an export for an audience wider than one team never carries TLP:%s", ceiling)
	case label.Rank() > ceiling.Rank():
		return refuse("TLP:%s is stricter than the export's ceiling TLP:%s", label, ceiling)
	}
	if dest != "" {
		if dest != c.Self && !slices.Contains(c.Peers, dest) {
			return refuse("%s is neither this node's team nor an active peer", dest)
		}
		if !tlp.MayShare(r.Item, dest, tlp.Audience{Participants: c.Participants, Community: c.Community}) {
			return refuse("TLP:%s does not allow it to go to %s", label, dest)
		}
	}
	d.verdict, d.headline, d.reason = Full, !restricted(label), fmt.Sprintf("TLP:%s allows an export for %s", label, audienceName(dest, ceiling))
	return d
}

func audienceName(team string, ceiling tlp.Label) string {
	if team == "" {
		return "an audience outside the federation up to TLP:" + string(ceiling)
	}
	return team + " up to TLP:" + string(ceiling)
}

// MayHold is the rule read from the receiving side: would the rule have let item come to
// holder? A node asks it of everything a peer sends, so that an item its label keeps from
// this team is rejected on arrival whoever relayed it. It is the same rule as Decide's,
// not a second one.
func MayHold(item tlp.Item, holder string, participants []string) bool {
	return tlp.MayShare(item, holder, tlp.Audience{Participants: participants})
}

// MayHoldInCommunity is MayHold for an item sent by the team that judges its community:
// a shared indicator from its author, or a sighting relayed by that author. A TLP:GREEN
// item goes to a community only its sender knows, so one it sent us counts us in it;
// every other label is judged as MayHold judges it.
func MayHoldInCommunity(item tlp.Item, holder string, participants []string) bool {
	return tlp.MayShare(item, holder, tlp.Audience{Participants: participants, Community: []string{holder}})
}
