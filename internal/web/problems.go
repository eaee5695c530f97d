package web

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/problem"
)

// A service's problem reaches a person as a sentence in their language:
//
//   - Its English format (problem.Error.Format) is a key of every catalog
//     (TestEveryProblemFormatIsTranslated fails for one that is not), translated with
//     its arguments; an argument that is a status, participation or role is shown by
//     its label (argLabels).
//   - A format that is only "%s" or "%v" passes on a message made elsewhere: the error
//     of a lower-level package (tlp, taxonomy, observable, an OpenPGP key) or an
//     on-call field error's reason. detailText makes the common ones sentences of the
//     catalogs (detailPatterns, TestLowerLevelErrorsTranslate). The rest are shown in
//     their English words after a translated lead-in ("Not accepted (…)"), rather than
//     guessed at: they are rare, technical, and what a person would quote to an
//     engineer. The on-call package's reasons, which the console's on-call forms meet,
//     are matched too.
//   - The field it names is shown by its label (fieldLabels), never its JSON name,
//     when the message cannot stand beside the field itself: on the error page, or
//     over a form that has no place for that field.

// isPassThrough reports whether a format only passes on a message made elsewhere.
func isPassThrough(format string) bool { return format == "%s" || format == "%v" }

// fieldLabels gives, for each field a service may name (its JSON name, without a path
// or an index: see fieldBase), the catalog key of its label. Keys shared with the forms'
// own labels say the same thing in the same words.
var fieldLabels = map[string]string{
	"address": "field.address", "after": "field.sequence", "all": "field.all", "as": "field.as", "ids": "field.ids", "at": "field.at", "before": "field.sequence",
	"body": "field.body", "category": "field.category", "channel": "field.channel", "code": "field.code",
	"confirm": "account.confirm", "current": "account.current", "delay_minutes": "field.delay",
	"description": "field.description", "details": "field.details", "direction": "field.direction",
	"end": "field.end", "every": "field.every", "id": "field.id", "incident": "page.incident",
	"incident_id": "page.incident", "kind": "field.kind", "lang": "lang.label", "levels": "field.levels",
	"limit": "field.limit", "members": "oncall.members", "name": "field.name", "new": "account.new",
	"note": "field.note", "participants": "field.participants", "participation": "field.ourStatus",
	"password": "field.password", "pgp_key": "field.pgpKey", "recipients": "field.recipientTeams",
	"repeat": "field.repeat", "role": "field.role", "rotation_id": "field.rotation", "secret": "field.secret",
	"severity": "field.severity", "shift": "field.shift", "start": "field.start", "state": "hotline.show",
	"status": "field.status", "summary": "field.summary", "targets": "field.targets", "team": "field.team",
	"timezone": "field.timezone", "title": "field.title", "tlp": "field.tlp", "to": "field.to",
	"type": "field.type", "user": "field.user",
	// Fields only a peer's payload can get wrong: named as the wire names them, shown as
	// the nearest label.
	"acknowledged_at": "field.at", "author": "field.user", "by": "field.user", "commcheck_id": "field.id",
	"coordinator": "field.coordinator", "created_at": "field.at", "created_by": "field.user", "data": "field.body",
	"from": "field.team", "statement": "field.signature", "updated_at": "field.at", "via": "field.channel",
	// TAXII consumers and sources (docs/taxii.md).
	"ceiling": "taxii.audience", "interval": "taxii.interval",
	// Collaboration metrics.
	"period": "field.period", "partner": "field.partner",
	// The partner directory (issue 9).
	"fingerprint": "field.fingerprint", "url": "field.url", "ip": "field.ip", "asn": "field.asn",
	"domain": "field.domain", "country": "field.country", "unverified": "field.unverified",
	"introduction": "field.introduction",
	// STIX and IODEF exports and imports (issue 16).
	"document": "field.document", "audience": "field.audience",
	// Network owners and feed runs (issue 12).
	"network": "field.network", "networks": "field.networks", "asns": "field.asns", "domains": "field.domains", "contacts": "field.contacts",
	"email": "field.email", "language": "field.language", "format": "field.format", "schedule": "field.schedule",
	"digest_at": "field.digestAt", "business_days": "field.businessDays", "map": "field.map", "file": "field.file", "aggregate": "field.aggregate",
	"report": "field.report", "feed": "field.feed",
	// Shared indicators and sightings (issue 11).
	"value": "field.value", "version": "field.version", "valid_from": "field.validFrom", "valid_until": "field.validUntil",
	"tags": "field.tags", "share_with": "field.shareWith", "q": "field.search", "first_seen": "field.firstSeen",
	"last_seen": "field.lastSeen", "indicator_id": "field.indicator", "incidents": "field.incidents", "count": "field.count",
	"confidence": "field.confidence", "constituency": "field.constituency",
	"modified": "field.at", "reported_by": "field.user", "seen": "field.seen", "expired": "field.expired",
	// Vulnerability coordination (issue 13).
	"advisory_tlp": "field.advisoryTLP", "vulnerability": "field.vulnerability", "vulnerabilities": "field.vulnerabilities",
	"product": "field.product", "products": "field.products", "vendor": "field.vendor", "vendor_ref": "field.vendor",
	"justification": "field.justification", "fixed_version": "field.fixedVersion", "publish_at": "field.publishAt",
	"owner": "field.owner", "case_id": "field.case", "profile": "field.profile", "cve": "field.cve", "cwe": "field.cwe",
	"cvss_v3": "field.cvss", "cvss_v4": "field.cvss", "purl": "field.identifier", "cpe": "field.identifier",
	"versions": "field.versions", "reporter": "field.reporter", "reason": "field.reason", "contact": "field.contact",
	"add_participants": "field.participants", "subject": "field.subject",
	"remediation": "field.remediation",
	"participant": "field.participant",
}

// fieldBase is the name of a field without its path or index:
// "levels[1].delay_minutes" → "delay_minutes", "members[2]" → "members".
func fieldBase(field string) string {
	if i := strings.LastIndex(field, "."); i >= 0 {
		field = field[i+1:]
	}
	if i := strings.Index(field, "["); i >= 0 {
		field = field[:i]
	}
	return field
}

// fieldLabel is a service's field by its label in the viewer's language, or "" for a
// field the console does not know (an API client's misspelt JSON, say).
func (v *view) fieldLabel(field string) string {
	if key, ok := fieldLabels[fieldBase(field)]; ok {
		return v.T(key)
	}
	return ""
}

// formFields lists, for each form, the fields (by their names in the form) beside which
// its template shows a message. A problem with another field is shown over the form,
// with the field's label.
var formFields = map[string][]string{
	"signin":        {"name", "password"},
	"code":          {"code"},
	"page":          {"to", "severity", "tlp", "summary", "details", "incident"},
	"commcheck":     {"to"},
	"incident":      {"title", "description", "category", "severity", "tlp", "participants"},
	"comment":       {"body", "tlp", "recipients"},
	"observable":    {"obs_value", "obs_tlp", "obs_recipients"},
	"participation": {"participation"},
	"status":        {"status", "note"},
	"invite":        {"team"},
	"embargo":       {"reason"},
	"prefs":         {"timezone"},
	"password":      {"current", "new", "confirm"},
	"totp":          {"code"},
	"totpoff":       {"code"},
	"rotation":      {"id", "name", "timezone", "shift", "every", "start", "members"},
	"override":      {"rotation_id", "user", "start", "end", "note"},
	"policy":        {"id", "name", "repeat", "levels"}, // and each level's fields (oncall_edit.go)
	"collab":        {"period", "partner"},
	"upload":        {"file", "format", "report", "tlp", "feed", "map", "aggregate"},
	"contact":       {"channel", "address", "pgp_key", "secret"},
	"search":        {"q"},
	"sighting":      {"count"},
	"hotlinecheck":  {},
	"hotlinecode":   {"code"},
	// Vulnerability cases: "vuln-v1" and "product-p2" are the forms of one item each.
	"caseedit":   {"title", "description", "add_participants"},
	"vuln":       {"title", "cve", "cwe", "cvss_v3", "cvss_v4", "description"},
	"product":    {"vendor", "product", "versions", "purl", "cpe"},
	"vendor":     {"name", "contact", "email", "products", "tlp"},
	"vendormail": {"vendor", "subject", "body"},
	"vstatus":    {"vulnerability", "product", "status", "justification", "fixed_version", "statement"},
	// Removing an item of the case (owner), and "vchange-<vendor>": one vendor's label
	// and its removal.
	"remove":  {"item", "reason"},
	"vchange": {"tlp", "reason"},
}

// fieldsOf is a form's fields; a form of one of several items ("vuln-v1") has the
// fields of its kind ("vuln").
func fieldsOf(form string) []string {
	if fs, ok := formFields[form]; ok {
		return fs
	}
	kind, _, _ := strings.Cut(form, "-")
	return formFields[kind]
}

// argLabels: messages whose arguments are values with labels of their own, and the
// catalog prefix of each argument's label ("" leaves it as it is).
var argLabels = map[string][]string{
	"incident is already %s":         {"status."},
	"status cannot go from %s to %s": {"status.", "status."},
	"participation is already %s":    {"part."},
	"role %s may not do this":        {"role."},
}

// argTimes: messages with an RFC 3339 time among their arguments (by index), shown in
// the viewer's zone.
var argTimes = map[string]int{"page %s was acknowledged by %s at %s": 2}

// problemText translates a service's problem for people (see the top of this file).
func (v *view) problemText(p *problem.Error) string {
	switch p.Code {
	case "csrf":
		return v.T("error.csrf")
	case "internal":
		return v.T("error.internal")
	case "too_large":
		return v.T("error.tooLarge")
	case "not_found":
		if p.Format == "" && p.Message == "" {
			return v.T("error.notFound")
		}
	}
	switch {
	case isPassThrough(p.Format) && len(p.Args) == 1:
		return v.detailText(fmt.Sprint(p.Args[0]))
	case p.Format != "" && v.c.i18n.has(v.Lang, p.Format):
		return v.T(p.Format, v.localArgs(p)...)
	}
	return p.Message
}

// localArgs shows a message's arguments as the viewer reads them: labels for statuses
// and roles, times in their zone.
func (v *view) localArgs(p *problem.Error) []any {
	args := slices.Clone(p.Args)
	for i, prefix := range argLabels[p.Format] {
		if i >= len(args) || prefix == "" {
			continue
		}
		if s, ok := args[i].(string); ok && v.c.i18n.has(v.Lang, prefix+s) {
			args[i] = v.T(prefix + s)
		}
	}
	if i, ok := argTimes[p.Format]; ok && i < len(args) {
		if s, ok := args[i].(string); ok {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				args[i] = v.Time(t)
			}
		}
	}
	return args
}

// detailPattern makes a lower-level error message a catalog sentence: the message's
// submatches are the sentence's arguments. inner, when set, names the submatch that is
// itself a reason to translate (innerPatterns), else kept in English.
type detailPattern struct {
	re    *regexp.Regexp
	key   string
	inner int
}

// detailPatterns are the lower-level errors a console form can meet: a TLP label or
// recipients (tlp.Parse, tlp.ValidateRecipients), a category (taxonomy.Valid), an
// indicator (observable.Parse). TestLowerLevelErrorsTranslate makes each package fail
// these and checks that they still match.
var detailPatterns = []detailPattern{
	{re: regexp.MustCompile(`^tlp: unknown label (".*"): want one of`), key: "detail.tlpUnknown"},
	{re: regexp.MustCompile(`^tlp: recipients for unknown label (".*")$`), key: "detail.tlpUnknown"},
	{re: regexp.MustCompile(`^tlp: empty recipient team id$`), key: "detail.tlpEmptyRecipient"},
	{re: regexp.MustCompile(`^tlp: RED requires at least one named recipient team$`), key: "detail.tlpRedRecipients"},
	{re: regexp.MustCompile(`^tlp: (\S+) does not take named recipients`), key: "detail.tlpNoRecipients"},
	{re: regexp.MustCompile(`^taxonomy: category (".*") is not of the form class/type$`), key: "detail.categoryForm"},
	{re: regexp.MustCompile(`^taxonomy: unknown class (".*") \(valid: (.*)\)$`), key: "detail.unknownClass"},
	{re: regexp.MustCompile(`^taxonomy: class (".*") has no type (".*") \(valid: (.*)\)$`), key: "detail.unknownType"},
	{re: regexp.MustCompile(`^observable: unknown type (".*") \(valid: (.*)\)$`), key: "detail.obsUnknownType"},
	{re: regexp.MustCompile(`^observable(?: \S+)?: value is (\d+) bytes, more than the (\d+) allowed$`), key: "detail.obsTooLong"},
	{re: regexp.MustCompile(`^observable(?: \S+)?: value is not valid UTF-8$`), key: "not valid UTF-8"},
	{re: regexp.MustCompile(`^observable(?: \S+)?: empty value$`), key: "required"},
	// The value itself is beside the message, in the field: the sentence names its type
	// and why it does not parse.
	{re: regexp.MustCompile(`^observable: (\S+) ".*": (.*)$`), key: "detail.obsInvalid", inner: 2},
	// The on-call package's reasons (rotations, overrides, policies), which the on-call
	// forms meet.
	{re: regexp.MustCompile(`^must be after start$`), key: "detail.afterStart"},
	{re: regexp.MustCompile(`^must be from (\d+) to (\d+)$`), key: "detail.fromTo"},
	{re: regexp.MustCompile(`^at least one level required$`), key: "detail.oneLevel"},
	{re: regexp.MustCompile(`^at least one target required$`), key: "detail.oneTarget"},
	{re: regexp.MustCompile(`^at least one member required$`), key: "detail.oneMember"},
	{re: regexp.MustCompile(`^must be at least 1$`), key: "detail.atLeastOne"},
	{re: regexp.MustCompile(`^must be at most (\d+) for (\S+) shifts$`), key: "detail.atMostShift"},
	{re: regexp.MustCompile(`^(".*") is not a local time like 2026-04-01T09:00$`), key: "detail.localTime"},
	{re: regexp.MustCompile(`^(".*") is not an IANA time zone$`), key: "detail.zone"},
	{re: regexp.MustCompile(`^"Local" is not an IANA time zone$`), key: "detail.zoneLocal"},
	{re: regexp.MustCompile(`^no user (".*")$`), key: "detail.noUser"},
	{re: regexp.MustCompile(`^no rotation (".*")$`), key: "detail.noRotation"},
	{re: regexp.MustCompile(`^blank user name$`), key: "detail.blankUser"},
	{re: regexp.MustCompile(`^(?:user|rotation) (".*") listed twice$`), key: "detail.listedTwice"},
	{re: regexp.MustCompile(`^(".*") is not (?:daily, weekly or hours|user or rotation)$`), key: "detail.notAChoice"},
}

// innerPatterns are the reasons an indicator of a known type does not parse.
var innerPatterns = []detailPattern{
	{re: regexp.MustCompile(`^is an IPv4 address$`), key: "detail.isIPv4"},
	{re: regexp.MustCompile(`^is an IPv6 address$`), key: "detail.isIPv6"},
	{re: regexp.MustCompile(`^is an IP address, not a domain$`), key: "detail.isIP"},
	{re: regexp.MustCompile(`^needs at least two labels$`), key: "detail.twoLabels"},
	{re: regexp.MustCompile(`^no @$`), key: "detail.noAt"},
	{re: regexp.MustCompile(`^not hexadecimal$`), key: "detail.notHex"},
	{re: regexp.MustCompile(`^(\d+) hex digits, want (\d+)$`), key: "detail.hexDigits"},
	{re: regexp.MustCompile(`^scheme (".*") not allowed \(want http, https or ftp\)$`), key: "detail.scheme"},
	{re: regexp.MustCompile(`^host required$`), key: "detail.noHost"},
}

// detailText is a message made elsewhere (see the top of this file) as a sentence in
// the viewer's language: a catalog key as it stands ("required"), a known lower-level
// error, or the English words after a translated lead-in.
func (v *view) detailText(msg string) string {
	if v.c.i18n.has(v.Lang, msg) && !strings.Contains(msg, "%") {
		return v.T(msg)
	}
	for _, d := range detailPatterns {
		m := d.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		args := make([]any, 0, len(m)-1)
		for i, s := range m[1:] {
			switch {
			case d.inner == i+1:
				s = v.innerText(s)
			case d.key == "detail.obsInvalid" && i == 0 && v.c.i18n.has(v.Lang, "obstype."+s):
				s = v.T("obstype." + s)
			case d.key == "detail.atMostShift" && i == 1 && v.c.i18n.has(v.Lang, "shift."+s):
				s = v.T("shift." + s)
			}
			args = append(args, s)
		}
		return v.T(d.key, args...)
	}
	return v.T("problem.notAccepted", msg)
}

// innerText translates why an indicator does not parse, or keeps the English reason.
func (v *view) innerText(reason string) string {
	for _, d := range innerPatterns {
		if m := d.re.FindStringSubmatch(reason); m != nil {
			args := make([]any, 0, len(m)-1)
			for _, s := range m[1:] {
				args = append(args, s)
			}
			return v.T(d.key, args...)
		}
	}
	return reason
}

// labelled is a message with its field's label before it, for where the field itself
// is not beside it.
func (v *view) labelled(field, text string) string {
	if label := v.fieldLabel(field); field != "" && label != "" {
		return v.T("problem.field", label, text)
	}
	return text
}

// fieldErrors puts each of a service's problems (a request may have several: see
// problem.Join) beside the form field it names (renamed by fields, service name → form
// name), or over the whole form: with the field's label when the form has no place for
// that field. The error summary over the form lists them all.
func (v *view) fieldErrors(form string, err error, fields map[string]string) bool {
	p, ok := problem.As(err)
	if !ok {
		return false
	}
	v.FormName = form
	for _, e := range problem.Each(p) {
		text := v.problemText(e)
		f := e.Field
		if m, ok := fields[f]; ok {
			f = m
		} else if !slices.Contains(fieldsOf(form), f) {
			f = fieldBase(f) // "members[2]" is the members field
		}
		switch {
		case e.Field == "":
			v.addError(text)
		case slices.Contains(fieldsOf(form), f):
			if v.Errors[f] == "" {
				v.Errors[f] = text
			}
		default:
			v.addError(v.labelled(e.Field, text))
		}
	}
	return true
}

// addError adds a message for the whole form, after any there is.
func (v *view) addError(text string) {
	if v.Error != "" && v.Error != text {
		text = v.Error + " " + text
	}
	v.Error = text
}

// summaryItem is one line of a form's error summary: the field's label and message, and
// the id of the control it links to ("" for a message about the whole form).
type summaryItem struct{ Anchor, Text string }

// fieldAnchors names, for fields whose control's id is not the field's name, the id
// that the error summary links to (by form and field).
var fieldAnchors = map[string]string{
	"page.to":                   "to-set",
	"incident.participants":     "participants-set",
	"comment.recipients":        "recipients-set",
	"observable.obs_recipients": "obs_recipients-set",
	"rotation.members":          "members",
	"policy.levels":             "level-0-delay",
	"hotlinecode.code":          "hotline-code",
	"caseedit.title":            "edit-title",
	"caseedit.description":      "edit-description",
	"caseedit.add_participants": "edit-participant",
	"vendor.name":               "vendor-name",
	"vendor.contact":            "vendor-contact",
	"vendor.email":              "vendor-email",
	"vendormail.vendor":         "mail-vendor",
	"vendormail.subject":        "mail-subject",
	"vendormail.body":           "mail-body",
	"vstatus.vulnerability":     "vs-vulnerability",
	"vstatus.product":           "vs-product",
	"vstatus.status":            "vs-status",
	"vstatus.justification":     "vs-justification",
	"vstatus.fixed_version":     "vs-fixed_version",
	"vstatus.statement":         "vs-statement",
}

// ErrorSummary lists the form's messages in the order of its fields, each linked to its
// field, for the summary at the top of a form that failed. It is empty when no field has
// a message (a message for the whole form then stands alone).
func (v *view) ErrorSummary() []summaryItem {
	if len(v.Errors) == 0 {
		return nil
	}
	var out []summaryItem
	seen := map[string]bool{}
	add := func(f string) {
		text, ok := v.Errors[f]
		if !ok || seen[f] {
			return
		}
		seen[f] = true
		anchor := f
		if a, ok := fieldAnchors[v.FormName+"."+f]; ok {
			anchor = a
		} else if strings.Contains(v.FormName, "-") {
			anchor = v.FormName + "-" + f // an item's form: "vuln-v1-title"
		}
		label := v.fieldLabel(strings.TrimPrefix(f, "obs_"))
		if l, ok := formLabels[v.FormName+"."+f]; ok {
			label = v.T(l)
		} else if m := levelField.FindStringSubmatch(f); m != nil {
			n, _ := strconv.Atoi(m[1])
			label = v.T("oncall.levelField", n+1, v.T("field."+m[2]))
		}
		if label != "" {
			text = v.T("problem.field", label, text)
		}
		out = append(out, summaryItem{Anchor: anchor, Text: text})
	}
	for _, f := range fieldsOf(v.FormName) {
		add(f)
	}
	rest := make([]string, 0, len(v.Errors))
	for f := range v.Errors {
		rest = append(rest, f)
	}
	slices.Sort(rest)
	for _, f := range rest {
		add(f)
	}
	if v.Error != "" {
		out = append(out, summaryItem{Text: v.Error})
	}
	return out
}

// levelField is a field of a level of the policy form: level-N-delay or level-N-targets.
var levelField = regexp.MustCompile(`^level-(\d+)-(delay|targets)$`)

// formLabels are the labels of form fields that fieldLabels does not name as the form
// does (by form and field).
var formLabels = map[string]string{
	"observable.obs_value": "field.observable",
}

// formError is a message the console itself puts beside a field, already in the
// viewer's words.
func formError(field, text string) *problem.Error {
	return &problem.Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: field, Message: text}
}
