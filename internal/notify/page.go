package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"csirtlink/internal/egress"
	"csirtlink/internal/tlp"
)

// Page is what a person is told about a hotline page. The text fields come
// from another team's node, so rendering treats them as untrusted text.
type Page struct {
	ID         string // page id
	From       string // sending team id, e.g. "jp"
	FromName   string // sending team's name, e.g. "JPCERT/CC"
	To         string // receiving team id
	Severity   string
	Summary    string
	Details    string
	TLP        string // TLP 2.0 label, e.g. "AMBER" or "TLP:AMBER"
	IncidentID string
	Drill      bool // a comm check, not an incident
	SentAt     time.Time
	FromZone   *time.Location // sending team's zone; nil = UTC
	ToZone     *time.Location // receiving team's zone; nil = UTC
	Level      int            // escalation level; 0 = not escalating
	Round      int            // escalation round
	AckCode    string         // one-time acknowledgement code (mail only)
	AckURL     string         // where to acknowledge
	// Egress is what egress.Decide allowed this message to carry; rendering follows it
	// and decides nothing. Without a decision allowing the content (the zero value),
	// the message is a notice: that a page exists, from whom, how urgent, how to act.
	Egress egress.Decision
}

// Subjects are cut to this many characters: a phone shows about that much
// in a notification, and the rest is in the body.
const maxSubjectRunes = 100

// label reads the page's TLP label. An empty or unknown label is treated as
// RED, the strictest, so that a mistake upstream can only make a page more
// discreet: the tlp package likewise ranks an invalid label above all others.
func (p Page) label() tlp.Label {
	l, err := tlp.Parse(p.TLP)
	if err != nil {
		return tlp.Red
	}
	return l
}

// content reports whether the summary and details may be in the message, and
// headline whether the summary may also be in the subject or a chat line.
func (p Page) content() bool  { return p.Egress.Full() }
func (p Page) headline() bool { return p.Egress.Headline() }

func (p Page) sender(c catalog) string {
	name, id := oneLine(p.FromName), oneLine(p.From)
	switch {
	case name != "" && id != "" && name != id:
		return name + " (" + id + ")"
	case name != "":
		return name
	case id != "":
		return id
	}
	return c.unknownSender
}

func (p Page) severity(c catalog) string {
	if s := oneLine(p.Severity); s != "" {
		return strings.ToUpper(s)
	}
	return c.unknownSeverity
}

// RenderMail renders a page as an e-mail subject and plain-text body, laid
// out for a phone: the TLP label, the drill banner if any, who pages and how
// urgently, the summary and how to acknowledge come first; times, ids and
// details follow; the TLP label and its rule close the message, so the label
// is seen whether the reader starts at the top or scrolls to the end.
func RenderMail(p Page) (subject, body string) {
	c := english
	l := p.label()
	summary := oneLine(p.Summary)
	details := strings.TrimSpace(cleanText(p.Details))
	if !p.content() {
		summary, details = "", ""
	}

	switch {
	case p.Drill:
		subject = fmt.Sprintf(c.subjectDrill, l, p.sender(c))
	case !p.headline() || summary == "":
		subject = fmt.Sprintf(c.subjectWithheld, l, p.severity(c), p.sender(c))
	default:
		subject = fmt.Sprintf(c.subjectPage, l, p.severity(c), p.sender(c), summary)
	}
	subject = truncateRunes(subject, maxSubjectRunes)

	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	line("TLP:%s", l)
	if p.Drill {
		line("%s", c.drillBanner)
	}
	line("")
	line(c.headline, p.severity(c), p.sender(c))
	if summary != "" {
		line("%s", summary)
	} else if !p.content() {
		line(c.withheld, l)
	}
	line("")
	code, link := oneLine(p.AckCode), oneLine(p.AckURL)
	if code == "" && link == "" {
		line("%s", c.ackConsole)
	} else {
		line("%s", c.ackHeading)
		if code != "" {
			line(c.ackCode, code)
		}
		if link != "" {
			line(c.ackLink, link)
		}
	}
	line("")
	if times := p.sentTimes(c); len(times) > 0 {
		line(c.sent, times[0])
		for _, t := range times[1:] {
			line(c.sentMore, t)
		}
	}
	if id := oneLine(p.IncidentID); id != "" {
		line(c.incident, id)
	}
	if id := oneLine(p.ID); id != "" {
		line(c.pageID, id)
	}
	if p.Level > 0 {
		line(c.escalation, p.Level, max(p.Round, 1))
	}
	if details != "" {
		line("")
		line("%s", c.detailsHeading)
		line("%s", details)
	}
	line("")
	line("TLP:%s — %s", l, c.tlpRules[l])
	return subject, b.String()
}

// sentTimes gives the sending time in the sender's and the recipient's
// zones (once if they agree), each with its abbreviation and UTC offset:
// abbreviations alone are ambiguous (Asia/Shanghai's CST is also US Central).
func (p Page) sentTimes(c catalog) []string {
	if p.SentAt.IsZero() {
		return nil
	}
	const layout = "2006-01-02 15:04 MST (UTC-07:00)"
	from, to := zone(p.FromZone), zone(p.ToZone)
	a := p.SentAt.In(from).Format(layout)
	bt := p.SentAt.In(to).Format(layout)
	if a == bt {
		return []string{a}
	}
	out := []string{a, bt}
	if id := oneLine(p.From); id != "" {
		out[0] = fmt.Sprintf(c.timeAtTeam, a, id)
	}
	if id := oneLine(p.To); id != "" {
		out[1] = fmt.Sprintf(c.timeAtTeam, bt, id)
	}
	return out
}

func zone(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

// WebhookPayload is the JSON body of a page webhook (chat, SMS gateway).
//
// It never carries the AckCode: the code alone acknowledges the page, and a
// chat channel or an SMS gateway's logs reach more people than the one who
// must answer; whoever is paged there follows ack_url and signs in. Details
// are left out too (a chat line is not the place, and they may be long).
// The summary goes only when the egress decision allows it in a headline;
// otherwise ("summary_withheld": true) the webhook tells the person that, how
// urgently, and by whom they are paged, and the content stays in the console
// and the encrypted mail. (egress withholds it for AMBER+STRICT and RED.)
// "text" is a ready-made one-line message for chat services that display a
// "text" field (Slack- and Mattermost-style incoming webhooks).
func WebhookPayload(p Page) map[string]any {
	c := english
	l := p.label()
	summary := oneLine(p.Summary)
	withheld := !p.headline()
	if withheld {
		summary = ""
	}
	sentAt := ""
	if !p.SentAt.IsZero() {
		sentAt = p.SentAt.UTC().Format(time.RFC3339)
	}
	var text string
	headline := fmt.Sprintf(c.headline, p.severity(c), p.sender(c))
	switch {
	case p.Drill:
		text = fmt.Sprintf(c.webhookDrill, l, p.sender(c))
	case summary == "":
		text = fmt.Sprintf(c.webhookWithheld, l, headline)
	default:
		text = fmt.Sprintf(c.webhookText, l, headline, summary)
	}
	if link := oneLine(p.AckURL); link != "" {
		text += fmt.Sprintf(c.webhookAck, link)
	}
	return map[string]any{
		"id":               oneLine(p.ID),
		"from":             oneLine(p.From),
		"from_name":        oneLine(p.FromName),
		"to":               oneLine(p.To),
		"severity":         oneLine(p.Severity),
		"summary":          summary,
		"summary_withheld": withheld,
		"tlp":              string(l),
		"drill":            p.Drill,
		"incident_id":      oneLine(p.IncidentID),
		"ack_url":          oneLine(p.AckURL),
		"sent_at":          sentAt,
		"level":            p.Level,
		"round":            p.Round,
		"text":             text,
	}
}

// cleanText drops characters that could mislead a reader of text written by
// another team: control characters other than newline and tab (terminal
// escapes, NUL), and bidirectional formatting characters, which can make a
// line display in a different order than it reads (e.g. a fake ack link).
// Line ends are normalised to "\n".
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r):
			return -1
		}
		return r
	}, s)
}

// oneLine is cleanText for fields shown on a single line: all runs of white
// space, line breaks included, become one space.
func oneLine(s string) string {
	return strings.Join(strings.Fields(cleanText(s)), " ")
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
