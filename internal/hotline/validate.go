package hotline

import (
	"crypto/ed25519"
	"regexp"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/egress"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
)

// The rules of pages and of their state changes, one function each. Each runs on what
// this node sends (before it is stored or queued) and on what a peer sends (before
// anything of it is stored), so a peer is held to exactly what a local user is.
// (On-call summaries have theirs in partners.go, ValidateSummary.)

var (
	// pageNumber is what follows "<sender>-" in a page id: exactly the sender's year
	// and number, so a team "cn" cannot send ids that team "cn-x" will use.
	pageNumber = regexp.MustCompile(`^[0-9]{4}-p[0-9]{4,9}$`)
	// commCheckNumber is the same for comm check ids.
	commCheckNumber = regexp.MustCompile(`^[0-9]{4}-c[0-9]{4,9}$`)
	// incidentRef is the shape of any team's incident ids.
	incidentRef = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}-[0-9]{4}-[0-9]{4,9}$`)
	// token is the shape of a channel's or an acknowledgement route's name.
	token = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
)

const (
	maxTo   = 64  // teams one page goes to
	maxName = 200 // a person's name as it is shown: who sent, acknowledged, resolved
)

// madeBy reports whether id is "<team>-<number>" with a number of the given shape.
func madeBy(id, team string, number *regexp.Regexp) bool {
	rest, ok := strings.CutPrefix(id, team+"-")
	return ok && envelope.ValidTeamID(team) && number.MatchString(rest)
}

// validPage checks a page and the teams it goes to: sendTx runs it on a page of ours
// before storing it, applySend on every page a peer sends. holder is the team that is
// to hold the page (this node's): its sender, or one of the teams it goes to.
func validPage(p store.Page, to []string, holder string, now time.Time) error {
	switch {
	case len(to) == 0:
		return problem.Invalid("to", "name at least one team, or all")
	case len(to) > maxTo:
		return problem.Invalid("to", "more than %d teams", maxTo)
	case !envelope.ValidTeamID(p.From):
		return problem.Invalid("from", "%q is not a team id", p.From)
	case !madeBy(p.ID, p.From, pageNumber):
		return problem.Invalid("id", "%q is not an id made by %s", p.ID, p.From)
	}
	for i, t := range to {
		switch {
		case !envelope.ValidTeamID(t):
			return problem.Invalid("to", "%q is not a team id", t)
		case slices.Contains(to[:i], t):
			return problem.Invalid("to", "%q is listed twice", t)
		case t == p.From:
			return problem.Invalid("to", "a team does not page itself")
		}
	}
	if holder != p.From && !slices.Contains(to, holder) {
		return problem.Invalid("to", "does not include %s", holder)
	}
	if !slices.Contains(Severities, p.Severity) {
		return problem.Invalid("severity", "must be one of %s", strings.Join(Severities, ", "))
	}
	if err := problem.CheckLine("summary", p.Summary, maxSummary, true); err != nil {
		return err
	}
	if err := problem.CheckText("details", p.Details, maxDetails, false); err != nil {
		return err
	}
	l := tlp.Label(p.TLP)
	if !l.Valid() {
		return problem.Invalid("tlp", "must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	}
	// The egress rule once more, by the team that is to hold the page, for itself.
	if !egress.MayHold(tlp.Item{Label: l, Author: p.From, Recipients: to}, holder, to) {
		return problem.Invalid("tlp", "TLP:%s keeps this from %s", l, holder)
	}
	if p.IncidentID != "" && !incidentRef.MatchString(p.IncidentID) {
		return problem.Invalid("incident_id", "%q is not an incident id", p.IncidentID)
	}
	if p.CommCheckID != "" && !madeBy(p.CommCheckID, p.From, commCheckNumber) {
		return problem.Invalid("commcheck_id", "%q is not an id made by %s", p.CommCheckID, p.From)
	}
	if err := problem.CheckLine("created_by", p.CreatedBy, maxName, true); err != nil {
		return err
	}
	return problem.CheckTime("created_at", p.CreatedAt, now.Add(envelope.Window))
}

// validState checks a change of a page's state, as a receiving team tells the sender
// (notified, acknowledged) or the sender tells the receivers (resolved): statePayload
// runs it before one of ours is queued, applyState and applyResolve on every one a
// peer sends. Whether the page is one the sender sent and the team one it went to is
// for the handlers, which hold the page.
func validState(c stateChange, now time.Time) error {
	switch {
	case !envelope.ValidTeamID(c.Team):
		return problem.Invalid("team", "%q is not a team id", c.Team)
	case c.State != Notified && c.State != Acknowledged && c.State != Resolved:
		return problem.Invalid("state", "unknown status %q", c.State)
	case c.Channel != "" && !token.MatchString(c.Channel):
		return problem.Invalid("channel", "use 1-64 of a-z, 0-9, '_', '-'")
	case c.Via != "" && !token.MatchString(c.Via):
		return problem.Invalid("via", "use 1-64 of a-z, 0-9, '_', '-'")
	}
	if err := problem.CheckTime("at", c.At, now.Add(envelope.Window)); err != nil {
		return err
	}
	if err := problem.CheckLine("by", c.By, maxName, c.State != Notified); err != nil {
		return err
	}
	if c.State == Acknowledged && len(c.Statement) != ed25519.SignatureSize {
		return problem.Invalid("statement", "required")
	}
	if c.State != Acknowledged && len(c.Statement) != 0 {
		return problem.Invalid("statement", "must be empty when the state is %s", c.State)
	}
	return nil
}

// statePayload checks a state change of ours and encodes it for the envelope.
func (s *Service) statePayload(c stateChange) ([]byte, error) {
	if err := validState(c, s.clock.Now()); err != nil {
		return nil, err
	}
	return encodeState(c)
}

// refuse turns a broken rule in what a peer sent into a rejection of that envelope
// alone: it is receipted as rejected with the reason and never applied, so the link
// goes on. The reason is cut short: it quotes the peer's values.
func refuse(what string, err error) error {
	return federation.Rejectf("%s", problem.Clip(what+": "+err.Error(), 400))
}
