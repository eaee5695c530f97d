package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"csirtlink/internal/egress"
	"csirtlink/internal/tlp"
)

func TestRenderMail(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	p := jpPage()
	p.To, p.ToZone = "cn", shanghai
	subject, body := RenderMail(p)

	for _, want := range []string{"[TLP:AMBER]", "HIGH", "JPCERT/CC", "フィッシング"} {
		if !strings.Contains(subject, want) {
			t.Errorf("subject %q lacks %q", subject, want)
		}
	}
	if strings.Contains(subject, p.AckCode) {
		t.Error("the ack code is in the subject")
	}
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	if lines[0] != "TLP:AMBER" {
		t.Errorf("first line %q, want the TLP label", lines[0])
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "TLP:AMBER — ") {
		t.Errorf("last line %q, want the TLP label and rule", last)
	}
	// On a phone the first screen must say who, how urgent, what, and how
	// to acknowledge.
	first := strings.Join(lines[:min(10, len(lines))], "\n")
	for _, want := range []string{"HIGH page from JPCERT/CC (jp)", cjkSummary, "Code: 482913", "Link: https://jp.example/ack/pg-0042"} {
		if !strings.Contains(first, want) {
			t.Errorf("the first lines lack %q:\n%s", want, first)
		}
	}
	for _, want := range []string{
		"2026-03-01 18:04 JST (UTC+09:00), jp",
		"2026-03-01 17:04 CST (UTC+08:00), cn",
		"Incident: INC-7", "Page: pg-0042", "Escalation: level 1, round 1", "ログを添付します",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "DRILL") {
		t.Error("a real page says DRILL")
	}
}

func TestRenderMailDrill(t *testing.T) {
	p := jpPage()
	p.Drill, p.TLP = true, "CLEAR"
	subject, body := RenderMail(p)
	if !strings.Contains(subject, "DRILL — comm check") || !strings.Contains(body, "DRILL — comm check") {
		t.Errorf("drill not clear:\n%s\n%s", subject, body)
	}
	if lines := strings.Split(body, "\n"); !strings.HasPrefix(lines[1], "DRILL") {
		t.Errorf("the drill banner should follow the label, got %q", lines[1])
	}
}

// RenderMail decides nothing: it shows what the egress decision allows. Encrypted
// RED mail carries the content but keeps the summary out of the subject; a notice
// (clear-text RED mail, or no decision at all) carries neither summary nor details.
func TestRenderMailFollowsTheEgressDecision(t *testing.T) {
	tests := []struct {
		name              string
		label             string
		egress            egress.Decision
		inSubject, inBody bool
	}{
		{"AMBER in clear", "AMBER", decide(egress.PersonMail, "AMBER", false), true, true},
		{"RED encrypted", "RED", decide(egress.PersonMail, "RED", true), false, true},
		{"AMBER+STRICT encrypted", "AMBER+STRICT", decide(egress.PersonMail, "AMBER+STRICT", true), false, true},
		{"RED in clear", "RED", decide(egress.PersonMail, "RED", false), false, false},
		{"fallback RED in clear", "RED", decide(egress.FallbackMail, "RED", false), false, false},
		{"no decision", "AMBER", egress.Decision{}, false, false},
		{"refused", "RED", decide(egress.PersonMail, "RED", true) /* replaced below */, false, false},
	}
	// A decision that refuses: RED not naming kr.
	tests[len(tests)-1].egress = egress.Decide(egress.Request{Item: tlp.Item{Label: tlp.Red, Author: "jp", Recipients: []string{"jp"}},
		Context: egress.Context{Self: "kr", Peers: []string{"jp"}}, To: egress.Destination{Kind: egress.PersonMail, Team: "kr", Encrypted: true}})
	for _, tc := range tests {
		p := jpPage()
		p.TLP, p.Egress = tc.label, tc.egress
		subject, body := RenderMail(p)
		if got := strings.Contains(subject, "フィッシング"); got != tc.inSubject {
			t.Errorf("%s: summary in the subject %q: %v, want %v", tc.name, subject, got, tc.inSubject)
		}
		if got := strings.Contains(body, cjkSummary); got != tc.inBody {
			t.Errorf("%s: summary in the body: %v, want %v", tc.name, got, tc.inBody)
		}
		if got := strings.Contains(body, "ログを添付"); got != tc.inBody {
			t.Errorf("%s: details in the body: %v, want %v", tc.name, got, tc.inBody)
		}
		if !tc.inBody && !strings.Contains(body, "withheld from this message") {
			t.Errorf("%s: a notice does not say the content is withheld:\n%s", tc.name, body)
		}
		// A notice still says who pages, how urgently, and how to acknowledge.
		for _, want := range []string{"HIGH page from JPCERT/CC (jp)", "Code: 482913", "TLP:" + tc.label} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: body lacks %q", tc.name, want)
			}
		}
	}
	for _, label := range []string{"", "PURPLE"} {
		p := jpPage()
		p.TLP = label
		if _, body := RenderMail(p); !strings.HasPrefix(body, "TLP:RED\n") {
			t.Errorf("TLP %q should show as RED, got %q", label, strings.SplitN(body, "\n", 2)[0])
		}
	}
}

func TestRenderMailUntrustedText(t *testing.T) {
	p := jpPage()
	p.Summary = "line one\r\nSubject: injected\u202Egnp.exe\x1b[31m"
	p.Details = "ok\x00\u2066hidden\u2069\r\nnext"
	p.FromName = "Evil\nTeam"
	subject, body := RenderMail(p)
	if strings.ContainsAny(subject, "\r\n\x1b\x00\u202E") {
		t.Errorf("subject %q keeps control or bidi characters", subject)
	}
	if strings.ContainsAny(body, "\r\x1b\x00\u202E\u2066\u2069") {
		t.Errorf("body keeps control or bidi characters:\n%q", body)
	}
	if !strings.Contains(body, "line one Subject: injectedgnp.exe[31m") || !strings.Contains(body, "Evil Team") {
		t.Errorf("body:\n%s", body)
	}

	p = jpPage()
	p.Summary = strings.Repeat("長", 500)
	subject, _ = RenderMail(p)
	if n := utf8.RuneCountInString(subject); n > maxSubjectRunes || !strings.HasSuffix(subject, "…") {
		t.Errorf("subject of %d runes: %q", n, subject)
	}
}

func TestRenderMailMinimal(t *testing.T) {
	subject, body := RenderMail(Page{})
	if subject == "" || !strings.Contains(body, "Acknowledge this page in the csirtlink console.") || !strings.HasPrefix(body, "TLP:RED") {
		t.Errorf("minimal page:\n%s\n%s", subject, body)
	}
	if strings.Contains(body, "Sent:") {
		t.Error("a page without a time shows a Sent line")
	}
	// Same zone on both sides: one time line.
	p := jpPage()
	p.ToZone = p.FromZone
	_, body = RenderMail(p)
	if strings.Count(body, "JST") != 1 {
		t.Errorf("same zone shown twice:\n%s", body)
	}
}

func TestWebhookPayload(t *testing.T) {
	p := jpPage()
	got := WebhookPayload(p)
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), p.AckCode) {
		t.Fatalf("the ack code is in the webhook payload: %s", raw)
	}
	if strings.Contains(string(raw), "ログ") {
		t.Error("details are in the webhook payload")
	}
	want := map[string]any{
		"id": "pg-0042", "from": "jp", "from_name": "JPCERT/CC", "to": "kr", "severity": "high",
		"summary": cjkSummary, "summary_withheld": false, "tlp": "AMBER", "drill": false,
		"incident_id": "INC-7", "ack_url": "https://jp.example/ack/pg-0042",
		"sent_at": "2026-03-01T09:04:00Z", "level": 1, "round": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	text, _ := got["text"].(string)
	if !strings.Contains(text, "[TLP:AMBER]") || !strings.Contains(text, cjkSummary) || !strings.Contains(text, p.AckURL) {
		t.Errorf("text = %q", text)
	}

	p.TLP, p.Egress = "RED", decide(egress.Webhook, "RED", false)
	red := WebhookPayload(p)
	raw, _ = json.Marshal(red)
	if strings.Contains(string(raw), "フィッシング") || red["summary_withheld"] != true || red["summary"] != "" {
		t.Errorf("a notice-only payload leaks the summary: %s", raw)
	}
	// Whatever the label, no decision means no summary.
	p.TLP, p.Egress = "CLEAR", egress.Decision{}
	if bare := WebhookPayload(p); bare["summary"] != "" || bare["summary_withheld"] != true {
		t.Errorf("a payload without a decision: %v", bare)
	}
	p.Egress = webhookOK

	p.Drill = true
	if text, _ := WebhookPayload(p)["text"].(string); !strings.Contains(text, "DRILL") {
		t.Errorf("drill text = %q", text)
	}
	if got := WebhookPayload(Page{})["sent_at"]; got != "" {
		t.Errorf("sent_at of a zero time = %q", got)
	}
}
