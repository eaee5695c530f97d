package incident

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/egress"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/observable"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// The rules of incidents and entries, in one function per kind of object. Each runs on
// what a person here writes (before it is stored or signed) and on what a peer sends
// (before anything of it is stored), so a peer is held to exactly what a local user is:
// the same sizes, shapes, labels, characters and dates.

// incidentNumber is what follows "<coordinator>-" in an incident id: exactly the year
// and number, so a team "cn" cannot take ids that team "cn-x" will use.
var incidentNumber = regexp.MustCompile(`^[0-9]{4}-[0-9]{4,9}$`)

// entryID is the shape of entry ids: identity.RandomID(16).
var entryID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// validIncidentID reports whether id is an incident id made by coordinator. Ids end up
// in URLs, and carry their coordinator's team id so that one team cannot claim an id
// another will use.
func validIncidentID(id, coordinator string) bool {
	rest, ok := strings.CutPrefix(id, coordinator+"-")
	return ok && envelope.ValidTeamID(coordinator) && incidentNumber.MatchString(rest)
}

// validIncident checks an incident's own fields and participants: Create runs it on a
// new incident, applyUpsert on every snapshot a coordinator sends. holder is the team
// that is to hold the incident (this node's), which must take part in it.
func validIncident(in store.Incident, holder string, now time.Time) error {
	// The list's length first, so that a snapshot with 58,000 participants costs no more
	// than a look at its length.
	switch {
	case len(in.Participants) == 0:
		return problem.Invalid("participants", "required")
	case len(in.Participants) > maxParticipants:
		return problem.Invalid("participants", "more than %d teams", maxParticipants)
	case !envelope.ValidTeamID(in.Coordinator):
		return problem.Invalid("coordinator", "%q is not a team id", in.Coordinator)
	case !validIncidentID(in.ID, in.Coordinator):
		return problem.Invalid("id", "%q is not an incident id of %s", in.ID, in.Coordinator)
	}
	if err := checkFields(in.Title, in.Description, in.Category, in.Severity); err != nil {
		return err
	}
	if !tlp.Label(in.TLP).Valid() {
		// The canonical form only: what is stored is compared as it is.
		return problem.Invalid("tlp", "must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	}
	if transitions[in.Status] == nil {
		return problem.Invalid("status", "must be one of open, in_progress, mitigated, closed")
	}
	if err := problem.CheckLine("created_by", in.CreatedBy, maxName, true); err != nil {
		return err
	}
	latest := now.Add(envelope.Window)
	if err := problem.CheckTime("created_at", in.CreatedAt, latest); err != nil {
		return err
	}
	if err := problem.CheckTime("updated_at", in.UpdatedAt, latest); err != nil {
		return err
	}
	teams := make([]string, 0, len(in.Participants))
	for _, p := range in.Participants {
		switch {
		case !envelope.ValidTeamID(p.Team):
			return problem.Invalid("participants", "%q is not a team id", p.Team)
		case slices.Contains(teams, p.Team):
			return problem.Invalid("participants", "%q is listed twice", p.Team)
		case !slices.Contains(participationStatuses, p.Status):
			return problem.Invalid("participants", "unknown status %q", p.Status)
		}
		if err := problem.CheckTime("updated_at", p.UpdatedAt, latest); err != nil {
			return err
		}
		if p.AcknowledgedAt != nil {
			if err := problem.CheckTime("acknowledged_at", *p.AcknowledgedAt, latest); err != nil {
				return err
			}
		}
		teams = append(teams, p.Team)
	}
	if !slices.Contains(teams, in.Coordinator) {
		return problem.Invalid("participants", "must include the coordinator %s, which orders the timeline", in.Coordinator)
	}
	if !slices.Contains(teams, holder) {
		// A snapshot goes only to participants; one that does not name us was misdirected.
		return problem.Invalid("participants", "%s is not a participant", holder)
	}
	return nil
}

// validEntry checks a timeline entry: write runs it on an entry of ours before signing
// it, verifyEntry on every entry a peer sends (after its signature). in is the incident
// as this node holds it; holder is the team that is to hold the entry (this node's),
// which the entry's TLP must allow.
func validEntry(e store.Entry, in store.Incident, holder string, now time.Time) error {
	parts := teamsOf(in)
	if !entryID.MatchString(e.ID) {
		return problem.Invalid("id", "must be 32 hexadecimal digits")
	}
	if !slices.Contains(parts, e.Team) {
		return problem.Invalid("team", "%s is not a participant", e.Team)
	}
	if err := problem.CheckLine("author", e.Author, maxName, true); err != nil {
		return err
	}
	if err := problem.CheckTime("created_at", e.CreatedAt, now.Add(envelope.Window)); err != nil {
		return err
	}
	if !e.CreatedAt.Equal(e.CreatedAt.Truncate(time.Microsecond)) {
		// Stored at microsecond precision, it would no longer verify when relayed.
		return problem.Invalid("created_at", "finer than a microsecond")
	}
	joining, err := checkKind(e, in)
	if err != nil {
		return err
	}
	if joining != "" && !slices.Contains(parts, joining) {
		// An invitation is addressed to the team it brings in, too.
		parts = append(slices.Clone(parts), joining)
	}
	return checkAudience(e, in, parts, holder)
}

// checkKind checks what an entry of each kind says; for an invitation it returns the
// team that joins.
func checkKind(e store.Entry, in store.Incident) (joining string, err error) {
	switch e.Kind {
	case KindComment:
		if err := problem.CheckText("body", e.Body, maxBody, true); err != nil {
			return "", err
		}
		if e.Data != "" {
			return "", problem.Invalid("data", "must be empty for a %s entry", e.Kind)
		}
	case KindObservable:
		d, err := wire.DecodeData[wire.ObservableData](e.Data)
		if err != nil {
			return "", problem.Invalid("data", "%v", err)
		}
		if err := problem.CheckLine("body", e.Body, observable.MaxLen, true); err != nil {
			return "", err
		}
		o, err := observable.Parse(d.Type, e.Body)
		if err != nil {
			return "", problem.Invalid("body", "%v", err)
		}
		// The canonical value, so that the same indicator from two teams compares equal.
		if string(o.Type) != d.Type || o.Value != d.Value || o.Value != e.Body || wire.EncodeData(d) != e.Data {
			return "", problem.Invalid("data", "not in canonical form")
		}
	case KindStatus:
		if e.Team != in.Coordinator {
			return "", problem.Invalid("team", "only the coordinator (%s) changes the incident status", in.Coordinator)
		}
		d, err := statusData(e)
		if err != nil {
			return "", err
		}
		if transitions[d.Status] == nil {
			return "", problem.Invalid("data", "must be one of open, in_progress, mitigated, closed")
		}
		if err := problem.CheckText("body", e.Body, maxBody, false); err != nil {
			return "", err
		}
	case KindParticipation:
		d, err := statusData(e)
		if err != nil {
			return "", err
		}
		// Never back to invited: a team that acknowledged an incident has seen it.
		if !slices.Contains(participationStatuses[1:], d.Status) {
			return "", problem.Invalid("data", "must be one of acknowledged, working, done")
		}
		return "", noBody(e)
	case KindInvitation:
		if e.Team != in.Coordinator {
			return "", problem.Invalid("team", "only the coordinator (%s) invites teams", in.Coordinator)
		}
		d, err := wire.DecodeData[wire.InvitationData](e.Data)
		if err != nil {
			return "", problem.Invalid("data", "%v", err)
		}
		if !envelope.ValidTeamID(d.Team) {
			return "", problem.Invalid("data", "%q is not a team id", d.Team)
		}
		if wire.EncodeData(d) != e.Data {
			return "", problem.Invalid("data", "not in canonical form")
		}
		return d.Team, noBody(e)
	default:
		return "", problem.Invalid("kind", "unknown kind %q", e.Kind)
	}
	return "", nil
}

func statusData(e store.Entry) (wire.StatusData, error) {
	d, err := wire.DecodeData[wire.StatusData](e.Data)
	if err != nil {
		return d, problem.Invalid("data", "%v", err)
	}
	if wire.EncodeData(d) != e.Data {
		return d, problem.Invalid("data", "not in canonical form")
	}
	return d, nil
}

func noBody(e store.Entry) error {
	if e.Body != "" {
		return problem.Invalid("body", "must be empty for a %s entry", e.Kind)
	}
	return nil
}

// checkAudience checks an entry's label and recipients. parts are the teams it may be
// addressed to.
func checkAudience(e store.Entry, in store.Incident, parts []string, holder string) error {
	l := tlp.Label(e.TLP)
	if !l.Valid() {
		return problem.Invalid("tlp", "must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	}
	if len(e.Recipients) > maxParticipants {
		return problem.Invalid("recipients", "more than %d teams", maxParticipants)
	}
	if err := tlp.ValidateRecipients(l, e.Recipients); err != nil {
		return problem.Invalid("recipients", "%v", err)
	}
	if l == tlp.AmberStrict && len(e.Recipients) == 0 {
		// Resolved to the participants when written, so that a team invited later
		// does not inherit it.
		return problem.Invalid("recipients", "required")
	}
	for i, r := range e.Recipients {
		switch {
		case !envelope.ValidTeamID(r):
			return problem.Invalid("recipients", "%q is not a team id", r)
		case slices.Contains(e.Recipients[:i], r):
			return problem.Invalid("recipients", "%q is listed twice", r)
		case !slices.Contains(parts, r):
			return problem.Invalid("recipients", "%q is not a participant of %s", r, in.ID)
		}
	}
	restricted := l == tlp.AmberStrict || l == tlp.Red
	if restricted && e.Team != in.Coordinator && !slices.Contains(e.Recipients, in.Coordinator) {
		// The coordinator orders the timeline: it cannot order what it may not read.
		return problem.Invalid("recipients", "must include the coordinator %s, which orders the timeline", in.Coordinator)
	}
	// The egress rule once more, by the team that is to hold the entry, for itself: an
	// entry its label keeps from this team must not be here, whoever relayed it.
	if !egress.MayHold(tlp.Item{Label: l, Author: e.Team, Recipients: e.Recipients}, holder, parts) {
		return problem.Invalid("recipients", "TLP:%s keeps this from %s", l, holder)
	}
	return nil
}

// refuse turns a broken rule in what a peer sent into a rejection of that envelope
// alone: it is receipted as rejected with the reason and never applied, so the link
// goes on. The reason is cut short: it quotes the peer's values.
func refuse(what string, err error) error {
	return federation.Rejectf("%s", problem.Clip(what+": "+err.Error(), 400))
}
