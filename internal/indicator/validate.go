package indicator

import (
	"regexp"
	"slices"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/observable"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
)

// The rules of indicators and sightings, one function each, run on what a person here
// writes and on what a peer sends, before anything of it is stored.

// uuid4 is the shape of indicator and sighting ids: a random UUID in lower case.
var uuid4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// incidentID is the shape of an incident id, <team>-<year>-<number>.
var incidentID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}-[0-9]{4}-[0-9]{4,9}$`)

// skew is how far ahead of our clock a peer's time may be.
const skew = 5 * time.Minute

var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func checkTime(field string, t, now time.Time) error {
	if t.Before(earliest) || t.After(now.Add(skew)) {
		return problem.Invalid(field, "must be between 2000 and now")
	}
	if !t.Equal(t.Truncate(time.Microsecond)) {
		return problem.Invalid(field, "must be between 2000 and now")
	}
	return nil
}

func checkTeams(field string, teams []string) error {
	if len(teams) > maxTeams {
		return problem.Invalid(field, "more than %d teams", maxTeams)
	}
	for i, t := range teams {
		if !envelope.ValidTeamID(t) {
			return problem.Invalid(field, "%q is not a team id", t)
		}
		if i > 0 && teams[i-1] >= t {
			return problem.Invalid(field, "must be sorted, without repeats")
		}
	}
	return nil
}

// validIndicator checks a live indicator: Create and Update run it on what a person
// wrote, applyUpsert on every version a peer sends.
func validIndicator(ind store.Indicator, now time.Time) error {
	switch {
	case ind.ID != "" && !uuid4.MatchString(ind.ID):
		return problem.Invalid("id", "must be a random UUID in lower case")
	case !envelope.ValidTeamID(ind.Author):
		return problem.Invalid("author", "%q is not a team id", ind.Author)
	case ind.Version < 1:
		return problem.Invalid("version", "must be at least 1")
	}
	o, err := observable.Parse(ind.Type, ind.Value)
	switch {
	case err != nil:
		return problem.Invalid("value", "%v", err)
	case string(o.Type) != ind.Type || o.Value != ind.Value:
		return problem.Invalid("value", "not in its canonical form %q", o.Value)
	}
	if err := taxonomy.Valid(ind.Category); err != nil {
		return problem.Invalid("category", "%v", err)
	}
	if ind.Confidence < 0 || ind.Confidence > 100 {
		return problem.Invalid("confidence", "must be between 0 and 100")
	}
	label := tlp.Label(ind.TLP)
	if !label.Valid() {
		return problem.Invalid("tlp", "must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	}
	if err := checkTeams("share_with", ind.ShareWith); err != nil {
		return err
	}
	if err := checkTeams("audience", ind.Audience); err != nil {
		return err
	}
	switch {
	case (label == tlp.Clear || label == tlp.Green) && (len(ind.ShareWith) > 0 || len(ind.Audience) > 0):
		return problem.Invalid("share_with", "TLP:%s goes to the community; it takes no named teams", label)
	case label == tlp.Red && len(ind.ShareWith) == 0:
		return problem.Invalid("share_with", "TLP:RED needs at least one named team")
	case label == tlp.Red && !slices.Equal(ind.ShareWith, ind.Audience):
		return problem.Invalid("audience", "must be the named teams")
	}
	for _, t := range ind.ShareWith {
		if !slices.Contains(ind.Audience, t) {
			return problem.Invalid("audience", "must include the named teams")
		}
	}
	if len(ind.Incidents) > maxIncidents {
		return problem.Invalid("incidents", "more than %d incidents", maxIncidents)
	}
	for _, id := range ind.Incidents {
		if !incidentID.MatchString(id) {
			return problem.Invalid("incidents", "%q is not an incident id", id)
		}
	}
	if len(ind.Tags) > maxTags {
		return problem.Invalid("tags", "more than %d tags", maxTags)
	}
	for _, t := range ind.Tags {
		if err := problem.CheckLine("tags", t, maxTag, true); err != nil {
			return err
		}
	}
	if err := problem.CheckText("description", ind.Description, maxDescription, false); err != nil {
		return err
	}
	if err := problem.CheckLine("created_by", ind.CreatedBy, maxName, false); err != nil {
		return err
	}
	for field, t := range map[string]time.Time{"created_at": ind.CreatedAt, "modified": ind.Modified} {
		if err := checkTime(field, t, now); err != nil {
			return err
		}
	}
	if ind.ValidFrom.Before(earliest) || !ind.ValidFrom.Equal(ind.ValidFrom.Truncate(time.Microsecond)) {
		return problem.Invalid("valid_from", "must be between 2000 and now")
	}
	if u := ind.ValidUntil; u != nil && (!u.After(ind.ValidFrom) || !u.Equal(u.Truncate(time.Microsecond))) {
		return problem.Invalid("valid_until", "must be after valid_from")
	}
	return nil
}

// Sighting kinds.
var sightingKinds = []string{store.SightingSeen, store.SightingFalsePositive, store.SightingTakenDown, store.SightingBlocked}

// validSighting checks a sighting: Report runs it on what a person wrote, applySighting
// on every one a peer sends. author is the indicator's author team.
func validSighting(x store.Sighting, author string, now time.Time) error {
	switch {
	case !uuid4.MatchString(x.ID):
		return problem.Invalid("id", "must be a random UUID in lower case")
	case !uuid4.MatchString(x.IndicatorID):
		return problem.Invalid("indicator_id", "must be a random UUID in lower case")
	case !envelope.ValidTeamID(x.Team):
		return problem.Invalid("team", "%q is not a team id", x.Team)
	case !slices.Contains(sightingKinds, x.Kind):
		return problem.Invalid("kind", "must be one of %s", "seen, false-positive, taken-down, blocked")
	case x.Count < 0 || x.Count > maxCount:
		return problem.Invalid("count", "must be between 0 and %d", int64(maxCount))
	case x.Kind != store.SightingSeen && x.Count != 0:
		return problem.Invalid("count", "only a sighting of kind seen has a count")
	}
	if err := checkTime("at", x.At, now); err != nil {
		return err
	}
	for field, t := range map[string]*time.Time{"first_seen": x.FirstSeen, "last_seen": x.LastSeen} {
		if t != nil {
			if err := checkTime(field, *t, now); err != nil {
				return err
			}
		}
	}
	if x.FirstSeen != nil && x.LastSeen != nil && x.LastSeen.Before(*x.FirstSeen) {
		return problem.Invalid("last_seen", "must not be before first_seen")
	}
	if err := problem.CheckLine("constituency", x.Constituency, maxName, false); err != nil {
		return err
	}
	if err := problem.CheckText("note", x.Note, maxNote, false); err != nil {
		return err
	}
	if err := problem.CheckLine("reported_by", x.ReportedBy, maxName, false); err != nil {
		return err
	}
	label := tlp.Label(x.TLP)
	if !label.Valid() {
		return problem.Invalid("tlp", "must be one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	}
	if err := checkTeams("recipients", x.Recipients); err != nil {
		return err
	}
	if err := tlp.ValidateRecipients(label, x.Recipients); err != nil {
		return problem.Invalid("recipients", "%v", err)
	}
	if (label == tlp.AmberStrict || label == tlp.Red) && !slices.Contains(x.Recipients, author) && x.Team != author {
		return problem.Invalid("recipients", "must name the indicator's author, %s", author)
	}
	return nil
}
