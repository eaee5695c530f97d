package notify

import "csirtlink/internal/tlp"

// catalog holds every word a rendered page shows a person. Rendering code
// only arranges these strings, so a translation (zh-Hans, ja, ko) can later
// be another catalog value loaded from the message catalogs, without touching
// the layout. TLP labels are not here: they stay in English in every
// language (FIRST's rule), so they are written by the code as "TLP:<LABEL>".
type catalog struct {
	subjectPage     string // [TLP] severity, sender, summary
	subjectWithheld string // [TLP] severity, sender
	subjectDrill    string // [TLP] sender
	drillBanner     string
	headline        string // severity, sender
	unknownSeverity string
	unknownSender   string
	ackHeading      string
	ackCode         string // code
	ackLink         string // URL
	ackConsole      string
	sent            string // first time line
	sentMore        string // further time lines, aligned under the first
	timeAtTeam      string // formatted time, team
	incident        string // incident id
	pageID          string // page id
	escalation      string // level, round
	detailsHeading  string
	withheld        string // [TLP]: the content is not in this message
	webhookText     string // [TLP] headline, summary
	webhookWithheld string // [TLP] headline
	webhookDrill    string // [TLP] sender
	webhookAck      string // URL
	tlpRules        map[tlp.Label]string
}

// english is the only catalog for now.
var english = catalog{
	subjectPage:     "[TLP:%s] %s page from %s: %s",
	subjectWithheld: "[TLP:%s] %s page from %s",
	subjectDrill:    "[TLP:%s] DRILL — comm check from %s",
	drillBanner:     "DRILL — comm check. This is a test of the hotline, not an incident: please acknowledge it as you would a real page.",
	headline:        "%s page from %s",
	unknownSeverity: "URGENT",
	unknownSender:   "a partner team",
	ackHeading:      "To acknowledge:",
	ackCode:         "Code: %s",
	ackLink:         "Link: %s",
	ackConsole:      "Acknowledge this page in the csirtlink console.",
	sent:            "Sent: %s",
	sentMore:        "      %s",
	timeAtTeam:      "%s, %s",
	incident:        "Incident: %s",
	pageID:          "Page: %s",
	escalation:      "Escalation: level %d, round %d",
	detailsHeading:  "Details:",
	withheld:        "The content of this TLP:%s page is withheld from this message: read it in csirtlink, or call the sender.",
	webhookText:     "[TLP:%s] %s: %s",
	webhookWithheld: "[TLP:%s] %s",
	webhookDrill:    "[TLP:%s] DRILL — comm check from %s",
	webhookAck:      " — acknowledge: %s",
	// What the recipient may do with the page, in FIRST's TLP 2.0 words.
	tlpRules: map[tlp.Label]string{
		tlp.Clear:       "Disclosure is not limited.",
		tlp.Green:       "Limited disclosure: share within your community, not publicly.",
		tlp.Amber:       "Limited disclosure: share within your organisation and with its clients only on a need-to-know basis.",
		tlp.AmberStrict: "Limited disclosure: share within your organisation only.",
		tlp.Red:         "For the eyes and ears of the named recipients only; no further disclosure.",
	},
}
