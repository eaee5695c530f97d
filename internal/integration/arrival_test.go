package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
	"csirtlink/internal/wire"
)

// A hostile partner: its node's key is authentic, so everything it sends passes the
// transport and envelope signatures, and what it sends is the attack. The test stops the
// real node first, so its sequence numbers are the test's.
type hostile struct {
	t    *testing.T
	team string
	key  identity.Key
}

// impersonate waits until team's node has delivered everything it queued, stops it, and
// speaks for it from then on.
func impersonate(t *testing.T, n *testnet.Net, dir, team string) *hostile {
	t.Helper()
	ctx := context.Background()
	nd := n.Node(team)
	eventually(t, 5*time.Second, team+" has delivered everything", func() error {
		for _, p := range n.Nodes {
			if p.Team == team {
				continue
			}
			sent, err := nd.App.Store.Sent(ctx, p.Team)
			if err != nil {
				return err
			}
			for _, it := range sent {
				if it.DeliveredAt == nil {
					return fmt.Errorf("%s seq %d for %s undelivered", it.Type, it.Seq, p.Team)
				}
			}
		}
		return nil
	})
	if err := n.Stop(team); err != nil {
		t.Fatal(err)
	}
	key, err := identity.Load(filepath.Join(dir, team, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &hostile{t: t, team: team, key: key}
}

// send delivers one envelope to a node, next in sequence, and returns its receipt.
func (h *hostile) send(to *testnet.Node, typ, objectID, label string, payload []byte) envelope.Receipt {
	h.t.Helper()
	link, err := to.App.Store.GetLink(context.Background(), h.team)
	if err != nil {
		h.t.Fatal(err)
	}
	env := &envelope.Envelope{Origin: h.team, Destination: to.Team, Seq: link.LastInSeq + 1, Type: typ, ObjectID: objectID,
		Time: time.Now(), TLP: label, Payload: payload}
	env.Sign(h.key)
	code, rs := post(h.t, to, h.key, h.team, time.Now(), batchOf(env))
	if code != 200 || len(rs.All()) != 1 {
		h.t.Fatalf("%s %s to %s: %d %+v", typ, objectID, to.Team, code, rs)
	}
	return *rs.All()[0]
}

func batchOf(es ...*envelope.Envelope) []byte {
	b, _ := json.Marshal(envelope.Batch{Envelopes: es})
	return b
}

// expect checks a receipt's status and that its reason names what broke the rule.
func expect(t *testing.T, what string, r envelope.Receipt, status, reason string) {
	t.Helper()
	if r.Status != status || !strings.Contains(r.Reason, reason) {
		t.Errorf("%s: %s (%s), want %s naming %q", what, r.Status, r.Reason, status, reason)
	}
}

// must is for calls that fail only on a broken test set-up.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// signEntry signs an entry as its team's node does: the documented canonical form.
func signEntry(k identity.Key, e wire.Entry) wire.Entry {
	e.Signature = k.Sign(envelope.Canonical("csirtlink/entry/v1", []byte(e.ID), []byte(e.IncidentID), []byte(e.Team),
		[]byte(e.Author), []byte(e.Kind), []byte(e.Body), []byte(e.TLP), []byte(strings.Join(e.Recipients, ",")),
		[]byte(e.Data), envelope.FormatTime(e.CreatedAt)))
	return e
}

func toWire(e store.Entry) wire.Entry {
	return wire.Entry{ID: e.ID, IncidentID: e.IncidentID, Position: e.Position, Team: e.Team, Author: e.Author, Kind: e.Kind,
		Body: e.Body, TLP: e.TLP, Recipients: e.Recipients, Data: e.Data, CreatedAt: e.CreatedAt, Signature: e.Signature}
}

// A coordinator's snapshot is held to what a local create is held to (issue 7, item
// 2): the same limits on participants, id shapes and field sizes, the same characters,
// labels and dates. Each bad snapshot is rejected alone; the link goes on.
func TestPeerIncidentIsBoundedLikeALocalOne(t *testing.T) {
	dir := t.TempDir()
	n := startNet(t, testnet.Options{Dir: dir, Logger: testLogger})
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")

	// The same bad field, written here by a person and sent by a peer, is refused
	// both ways, naming the same field.
	good := func() map[string]any {
		return map[string]any{"title": "t", "description": "d", "category": "availability/ddos", "severity": "high", "tlp": "AMBER", "participants": []string{"jp"}}
	}
	sameRule := []struct {
		name, field string
		value       any
		edit        func(*wire.Incident)
	}{
		{"a long title", "title", strings.Repeat("長", 201), func(w *wire.Incident) { w.Title = strings.Repeat("長", 201) }},
		{"a title with an override", "title", "Botnet \u202Egnp.exe", func(w *wire.Incident) { w.Title = "Botnet \u202Egnp.exe" }},
		{"a title over two lines", "title", "Botnet\nC2", func(w *wire.Incident) { w.Title = "Botnet\nC2" }},
		{"a description with escapes", "description", "\x1b]0;owned\x07", func(w *wire.Incident) { w.Description = "\x1b]0;owned\x07" }},
		{"a long description", "description", strings.Repeat("x", 20001), func(w *wire.Incident) { w.Description = strings.Repeat("x", 20001) }},
		{"an unknown category", "category", "availability/earthquake", func(w *wire.Incident) { w.Category = "availability/earthquake" }},
		{"an unknown severity", "severity", "apocalyptic", func(w *wire.Incident) { w.Severity = "apocalyptic" }},
	}
	for _, c := range sameRule {
		body := good()
		body[c.field] = c.value
		var e apiError
		if code := call(t, cn, "POST", "/api/v1/incidents", body, &e); code != 422 || e.Error.Field != c.field {
			t.Errorf("local %s: %d %+v, want 422 on %s", c.name, code, e, c.field)
		}
	}

	cnAs := impersonate(t, n, dir, "cn")
	now := time.Now().UTC().Truncate(time.Microsecond)
	num := 100
	snapshot := func(edit func(*wire.Incident)) (string, []byte) {
		num++
		w := wire.Incident{ID: fmt.Sprintf("cn-2026-%04d", num), Coordinator: "cn", Title: "Botnet C2", Description: "C2 in jp",
			Category: "malicious-code/infected-system", Severity: "high", TLP: "AMBER", Status: "open", CreatedBy: "wang",
			CreatedAt: now, UpdatedAt: now, Participants: []wire.Participant{{Team: "cn", Status: "acknowledged", UpdatedAt: now},
				{Team: "jp", Status: "invited", UpdatedAt: now}}}
		if edit != nil {
			edit(&w)
		}
		return w.ID, must(wire.EncodeIncident(w))
	}
	for _, c := range sameRule {
		id, b := snapshot(c.edit)
		expect(t, "peer "+c.name, cnAs.send(jp, wire.TypeIncidentUpsert, id, "AMBER", b), envelope.Rejected, c.field)
	}

	// The attack that stalled kr: 58,000 participants in one envelope (under the 1 MiB
	// payload cap once the optional fields are left out).
	id, b := snapshot(func(w *wire.Incident) {
		w.Participants = make([]wire.Participant, 58000)
		for i := range w.Participants {
			w.Participants[i].Team = fmt.Sprintf("t%d", i)
		}
		w.Participants[0].Team, w.Participants[1].Team = "cn", "jp"
	})
	b = []byte(strings.ReplaceAll(string(b), `,"status":"","updated_at":"0001-01-01T00:00:00Z"`, ""))
	if len(b) > envelope.MaxPayload {
		t.Fatalf("the attack does not fit an envelope: %d bytes", len(b))
	}
	expect(t, "58,000 participants", cnAs.send(jp, wire.TypeIncidentUpsert, id, "AMBER", b), envelope.Rejected, "participants")

	for _, c := range []struct {
		name, field string
		edit        func(*wire.Incident)
	}{
		{"65 participants", "participants", func(w *wire.Incident) {
			for i := range 63 {
				w.Participants = append(w.Participants, wire.Participant{Team: fmt.Sprintf("t%d", i), Status: "invited", UpdatedAt: now})
			}
		}},
		{"a participant that is not a team id", "participants", func(w *wire.Incident) { w.Participants[1].Team = "jp\u202E" }},
		{"a participant listed twice", "participants", func(w *wire.Incident) { w.Participants = append(w.Participants, w.Participants[1]) }},
		{"an id of another shape", "id", func(w *wire.Incident) { w.ID = "cn-2026-1" }},
		{"a TLP not canonical", "tlp", func(w *wire.Incident) { w.TLP = "amber" }},
		{"dated 9999", "created_at", func(w *wire.Incident) { w.CreatedAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) }},
		{"updated in 9999", "updated_at", func(w *wire.Incident) { w.UpdatedAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) }},
		{"an author with a NUL", "created_by", func(w *wire.Incident) { w.CreatedBy = "wang\x00" }},
		{"an unknown status", "status", func(w *wire.Incident) { w.Status = "solved" }},
	} {
		id, b := snapshot(c.edit)
		if c.name == "an id of another shape" {
			id = "cn-2026-1"
		}
		expect(t, c.name, cnAs.send(jp, wire.TypeIncidentUpsert, id, "AMBER", b), envelope.Rejected, c.field)
	}
	// The payload itself: unknown fields and other versions are refused, not guessed at.
	id, b = snapshot(nil)
	expect(t, "an unknown field", cnAs.send(jp, wire.TypeIncidentUpsert, id, "AMBER",
		[]byte(strings.Replace(string(b), `"v":1,`, `"v":1,"priority":9,`, 1))), envelope.Rejected, "unknown field")
	id, b = snapshot(nil)
	expect(t, "version 2", cnAs.send(jp, wire.TypeIncidentUpsert, id, "AMBER",
		[]byte(strings.Replace(string(b), `"v":1,`, `"v":2,`, 1))), envelope.Rejected, "version 2")

	list, err := jp.App.Store.ListIncidents(ctx, store.IncidentFilter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("jp holds %d incidents after bad snapshots only: %v", len(list), err)
	}
	// The link goes on: a good snapshot after them all is applied.
	id, b = snapshot(nil)
	expect(t, "a good snapshot", cnAs.send(jp, wire.TypeIncidentUpsert, id, "AMBER", b), envelope.Applied, "")
	waitIncident(t, jp, id)
}

// Every node checks every rule of an entry on arrival, whoever relays it (items 9 and
// 19): a coordinator relaying a RED entry that does not name the receiver, entries
// that break the rules of their kind, and entries whose author's signature is forged or
// that are re-attributed are each rejected alone, and a good entry after them is taken.
func TestRelayedEntriesAreCheckedOnArrival(t *testing.T) {
	dir := t.TempDir()
	n := startNet(t, testnet.Options{Dir: dir, Logger: testLogger})
	ctx := context.Background()
	cn, jp, kr := n.Node("cn"), n.Node("jp"), n.Node("kr")
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	waitIncident(t, jp, in.ID)
	waitIncident(t, kr, in.ID)
	var red, plain entryView
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{
		"kind": "comment", "body": "for cn only", "tlp": "RED", "recipients": []string{"cn"}}, &red); code != 201 {
		t.Fatalf("red comment: %d", code)
	}
	if code := call(t, jp, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{
		"kind": "comment", "body": "for everyone"}, &plain); code != 201 {
		t.Fatalf("comment: %d", code)
	}
	eventually(t, 3*time.Second, "both entries sequenced and back at jp", func() error {
		for _, id := range []string{red.ID, plain.ID} {
			e, err := jp.App.Store.GetEntry(ctx, id)
			if err != nil || e.Position == 0 {
				return fmt.Errorf("%s: %v %d", id, err, e.Position)
			}
		}
		return nil
	})
	redEntry := toWire(must(jp.App.Store.GetEntry(ctx, red.ID)))
	plainEntry := toWire(must(jp.App.Store.GetEntry(ctx, plain.ID)))
	jpKey := must(identity.Load(filepath.Join(dir, "jp", "node.key")))

	cnAs := impersonate(t, n, dir, "cn")
	pos := int64(10)
	relay := func(e wire.Entry) envelope.Receipt {
		t.Helper()
		pos++
		e.Position = pos
		return cnAs.send(kr, wire.TypeEntryAppend, e.IncidentID, e.TLP, must(wire.EncodeEntry(e)))
	}
	// jp's own entry, signed by jp, with rules broken: jp's node and cn's together could
	// send it, and kr must not take it on their word.
	byJP := func(kind, body, label string, recipients []string, data string, edit func(*wire.Entry)) wire.Entry {
		e := wire.Entry{ID: identity.RandomID(16), IncidentID: in.ID, Team: "jp", Author: "tanaka", Kind: kind, Body: body,
			TLP: label, Recipients: recipients, Data: data, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if edit != nil {
			edit(&e)
		}
		return signEntry(jpKey, e)
	}

	expect(t, "jp's RED entry for cn, relayed to kr", relay(redEntry), envelope.Rejected, "TLP:RED keeps this from kr")

	forged := plainEntry
	forged.ID, forged.Body = identity.RandomID(16), "jp says: the takedown is cancelled"
	forged = signEntry(cnAs.key, forged) // cn signs, claiming jp wrote it
	expect(t, "an entry by jp signed by cn", relay(forged), envelope.Rejected, "bad signature by jp")
	reattributed := plainEntry
	reattributed.Team = "kr"
	expect(t, "jp's entry re-attributed to kr", relay(reattributed), envelope.Rejected, "bad signature by kr")
	renamed := plainEntry
	renamed.Author = "mallory"
	expect(t, "jp's entry re-attributed to another person", relay(renamed), envelope.Rejected, "bad signature by jp")
	altered := plainEntry
	altered.Body = "for everyone, and the takedown is cancelled"
	expect(t, "jp's entry with its body changed", relay(altered), envelope.Rejected, "bad signature by jp")

	for _, c := range []struct {
		name, reason string
		e            wire.Entry
	}{
		{"a comment with an override", "body", byJP("comment", "see \u202Etxt.exe", "AMBER", nil, "", nil)},
		{"a comment with escapes", "body", byJP("comment", "\x1b[2J\x1b[H", "AMBER", nil, "", nil)},
		{"a TLP not canonical", "tlp", byJP("comment", "x", "amber", nil, "", nil)},
		{"an invalid observable", "body", byJP("observable", "999.1.1.1", "AMBER", nil, `{"type":"ipv4","value":"999.1.1.1"}`, nil)},
		{"an observable not canonical", "canonical", byJP("observable", "HXXP://EVIL[.]example", "AMBER", nil, `{"type":"url","value":"HXXP://EVIL[.]example"}`, nil)},
		{"participation back to invited", "data", byJP("participation", "", "AMBER", nil, `{"status":"invited"}`, nil)},
		{"dated 9999", "created_at", byJP("comment", "x", "AMBER", nil, "", func(e *wire.Entry) { e.CreatedAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) })},
		{"a status by a participant", "team", byJP("status", "", "AMBER", nil, `{"status":"closed"}`, nil)},
		{"RED not naming the coordinator", "coordinator", byJP("comment", "x", "RED", []string{"jp", "kr"}, "", nil)},
	} {
		expect(t, c.name, relay(c.e), envelope.Rejected, c.reason)
	}

	good := byJP("comment", "a good entry after all that", "AMBER", nil, "", nil)
	expect(t, "a good entry", relay(good), envelope.Applied, "")
	got, _ := getIncident(t, kr, in.ID)
	var ids []string
	for _, e := range got.Timeline {
		ids = append(ids, e.ID)
		if e.Body != "for everyone" && e.ID != good.ID {
			t.Errorf("kr holds %s %q by %s", e.ID, e.Body, e.Team)
		}
	}
	if len(got.Timeline) != 2 || got.Timeline[1].ID != good.ID {
		t.Errorf("kr's timeline: %v, want jp's plain entry and the good one", ids)
	}
	if _, err := kr.App.Store.GetEntry(ctx, red.ID); err == nil {
		t.Error("kr holds jp's RED entry for cn")
	}
	for _, p := range got.Participants {
		if p.Team == "jp" && p.Status != "invited" {
			t.Errorf("jp's status at kr changed to %s", p.Status)
		}
	}
}

// Pages, their states and on-call summaries from a peer are held to the same rules as
// ours (item 9): each bad one is rejected alone and changes nothing.
func TestPeerPagesAndSummariesAreCheckedOnArrival(t *testing.T) {
	dir := t.TempDir()
	n := startNet(t, testnet.Options{Dir: dir, Logger: testLogger})
	ctx := context.Background()
	jp := n.Node("jp")
	// jp pages cn, so that cn can tell jp about it.
	var ours struct {
		ID string `json:"id"`
	}
	if code := call(t, jp, "POST", "/api/v1/pages", map[string]any{"to": []string{"cn"}, "severity": "high", "summary": "jp to cn", "tlp": "AMBER"}, &ours); code != 201 {
		t.Fatalf("page: %d", code)
	}
	cnAs := impersonate(t, n, dir, "cn")
	now := time.Now().UTC().Truncate(time.Microsecond)
	year9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

	num := 100
	page := func(edit func(*wire.Page)) (string, []byte) {
		num++
		p := wire.Page{ID: fmt.Sprintf("cn-2026-p%04d", num), From: "cn", To: []string{"jp"}, Severity: "critical",
			Summary: "DDoS on a bank", Details: "Peak 40 Gbps", TLP: "AMBER", CreatedBy: "wang", CreatedAt: now}
		if edit != nil {
			edit(&p)
		}
		return p.ID, must(wire.EncodePage(p))
	}
	for _, c := range []struct {
		name, reason string
		edit         func(*wire.Page)
	}{
		{"a summary with an override", "summary", func(p *wire.Page) { p.Summary = "call \u202E0911" }},
		{"details with escapes", "details", func(p *wire.Page) { p.Details = "\x1b]8;;http://evil.example\x07" }},
		{"a long summary", "summary", func(p *wire.Page) { p.Summary = strings.Repeat("x", 301) }},
		{"a TLP not canonical", "tlp", func(p *wire.Page) { p.TLP = "red" }},
		{"dated 9999", "created_at", func(p *wire.Page) { p.CreatedAt = year9999 }},
		{"not addressed to jp", "to", func(p *wire.Page) { p.To = []string{"kr"} }},
		{"to 65 teams", "to", func(p *wire.Page) {
			for i := range 64 {
				p.To = append(p.To, fmt.Sprintf("t%d", i))
			}
		}},
		{"an unknown severity", "severity", func(p *wire.Page) { p.Severity = "apocalyptic" }},
		{"about an incident id of another shape", "incident_id", func(p *wire.Page) { p.IncidentID = "../../admin" }},
	} {
		id, b := page(c.edit)
		expect(t, "page "+c.name, cnAs.send(jp, wire.TypePageSend, id, "AMBER", b), envelope.Rejected, c.reason)
		if _, err := jp.App.Store.GetPage(ctx, id); err == nil {
			t.Errorf("page %s: jp holds it", c.name)
		}
	}
	goodID, b := page(nil)
	expect(t, "a good page", cnAs.send(jp, wire.TypePageSend, goodID, "AMBER", b), envelope.Applied, "")

	state := func(typ, pageID string, c wire.PageState) envelope.Receipt {
		c.PageID, c.Team = pageID, "cn"
		return cnAs.send(jp, typ, pageID, "AMBER", must(wire.EncodePageState(c)))
	}
	for _, c := range []struct {
		name, reason string
		c            wire.PageState
	}{
		{"acknowledged in 9999", "at", wire.PageState{State: "acknowledged", At: year9999, By: "Li", Via: "console", Statement: make([]byte, 64)}},
		{"acknowledged by a name with an override", "by", wire.PageState{State: "acknowledged", At: now, By: "\u202Enimda", Via: "console", Statement: make([]byte, 64)}},
		{"acknowledged without a statement", "statement", wire.PageState{State: "acknowledged", At: now, By: "Li", Via: "console"}},
		{"notified on a channel of another shape", "channel", wire.PageState{State: "notified", At: now, Channel: "sms <script>"}},
	} {
		expect(t, "state "+c.name, state(wire.TypePageState, ours.ID, c.c), envelope.Rejected, c.reason)
	}
	d, err := jp.App.Store.GetDelivery(ctx, ours.ID, "cn")
	if err != nil || d.NotifiedAt != nil || d.AcknowledgedAt != nil {
		t.Fatalf("jp's delivery to cn changed: %+v %v", d, err)
	}
	expect(t, "a good notice", state(wire.TypePageState, ours.ID, wire.PageState{State: "notified", At: now, Channel: "email"}), envelope.Applied, "")
	expect(t, "resolved in 9999", state(wire.TypePageResolve, goodID, wire.PageState{State: "resolved", At: year9999, By: "wang"}), envelope.Rejected, "at")
	expect(t, "resolved by a name with escapes", state(wire.TypePageResolve, goodID, wire.PageState{State: "resolved", At: now, By: "wang\x1b[8m"}), envelope.Rejected, "by")
	if p, err := jp.App.Store.GetPage(ctx, goodID); err != nil || p.ResolvedAt != nil {
		t.Fatalf("the good page: %+v %v", p, err)
	}

	summary := wire.OnCallSummary{Team: "cn", At: now, Rotations: []wire.OnCallRotation{{ID: "primary", Name: "Primary", Timezone: "Asia/Shanghai",
		Current: wire.OnCallShift{User: "Wang \u202ELi", Start: now.Add(-time.Hour), End: now.Add(time.Hour)},
		Next:    wire.OnCallShift{User: "Zhang", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}}}}
	expect(t, "a summary with an override", cnAs.send(jp, wire.TypeOnCallSummary, "cn", "GREEN", must(wire.EncodeOnCallSummary(summary))),
		envelope.Rejected, "current user")
	if got, _ := jp.App.Store.PeerOnCalls(ctx); len(got) != 0 {
		t.Errorf("jp kept the summary: %+v", got)
	}
}
