package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

func TestRenderMailRestricted(t *testing.T) {
	for _, label := range []string{"RED", "tlp:red", "AMBER+STRICT", "", "PURPLE"} {
		p := jpPage()
		p.TLP = label
		subject, body := RenderMail(p)
		if strings.Contains(subject, "フィッシング") {
			t.Errorf("TLP %q: the summary is in the subject %q", label, subject)
		}
		if !strings.Contains(body, cjkSummary) {
			t.Errorf("TLP %q: the summary is missing from the body", label)
		}
		if (label == "" || label == "PURPLE") && !strings.HasPrefix(body, "TLP:RED\n") {
			t.Errorf("TLP %q should render as RED, got %q", label, strings.SplitN(body, "\n", 2)[0])
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

	p.TLP = "RED"
	red := WebhookPayload(p)
	raw, _ = json.Marshal(red)
	if strings.Contains(string(raw), "フィッシング") || red["summary_withheld"] != true || red["summary"] != "" {
		t.Errorf("RED payload leaks the summary: %s", raw)
	}

	p.Drill = true
	if text, _ := WebhookPayload(p)["text"].(string); !strings.Contains(text, "DRILL") {
		t.Errorf("drill text = %q", text)
	}
	if got := WebhookPayload(Page{})["sent_at"]; got != "" {
		t.Errorf("sent_at of a zero time = %q", got)
	}
}
