package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/config"
	"csirtlink/internal/envelope"
	"csirtlink/internal/testnet"
)

// lossyProxy stands between a sender and a receiver and loses the receiver's answer
// to the first deliveries that carried receipts: the receiver has committed, the
// sender never hears of it (the connection is cut, as when a network fails or a
// process dies between the two).
type lossyProxy struct {
	target string
	mu     sync.Mutex
	drop   int                 // answers still to lose
	lost   []*envelope.Receipt // the receipts in the answers lost
}

func (p *lossyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rs envelope.Receipts
	json.Unmarshal(answer, &rs)
	p.mu.Lock()
	lose := p.drop > 0 && r.URL.Path == "/federation/v1/inbox" && resp.StatusCode == 200 && len(rs.All()) > 0
	if lose {
		p.drop--
		p.lost = append(p.lost, rs.All()...)
	}
	p.mu.Unlock()
	if lose {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

// jp commits what cn sent but cn never gets the answer. cn sends again; jp applies
// nothing twice and answers with its original receipts, which cn stores: every entry
// once at jp, and cn's evidence is jp's first signed receipt.
func TestLostReceiptIsResentExactlyOnce(t *testing.T) {
	n := startNet(t, testnetOptions())
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	proxy := &lossyProxy{target: jp.URL, drop: 2}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	// cn reaches jp only through the proxy.
	if err := n.Stop("cn"); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cn.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Peers {
		if cfg.Peers[i].ID == "jp" {
			cfg.Peers[i].URL = srv.URL
		}
	}
	if err := cfg.Save(cn.ConfigPath); err != nil {
		t.Fatal(err)
	}
	if err := n.Restart(ctx, "cn"); err != nil {
		t.Fatal(err)
	}

	in := createIncident(t, cn, "AMBER", "jp")
	const count = 5
	for i := range count {
		if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline",
			map[string]any{"kind": "comment", "body": fmt.Sprintf("update %d", i)}, nil); code != http.StatusCreated {
			t.Fatalf("comment %d: %d", i, code)
		}
	}
	eventually(t, 10*time.Second, "cn holds a receipt for everything it sent jp", func() error {
		sent, _ := cn.App.Store.Sent(ctx, "jp")
		for _, it := range sent {
			if it.DeliveredAt == nil {
				return fmt.Errorf("seq %d not delivered", it.Seq)
			}
		}
		// Other modules (on-call summaries, metrics aggregates) may send too: count the
		// incident's own envelopes.
		n := 0
		for _, it := range sent {
			if it.ObjectID == in.ID {
				n++
			}
		}
		if n != count+1 {
			return fmt.Errorf("%d of the incident's envelopes sent", n)
		}
		return nil
	})
	proxy.mu.Lock()
	lost := proxy.lost
	proxy.mu.Unlock()
	if len(lost) == 0 {
		t.Fatal("no answer was lost; the test proves nothing")
	}

	// Exactly once at jp: one inbox row per envelope cn sent.
	allSent, _ := cn.App.Store.Sent(ctx, "jp")
	if c, _ := jp.App.Store.CountInbox(ctx, "cn"); c != len(allSent) {
		t.Fatalf("jp applied %d envelopes, cn sent %d", c, len(allSent))
	}
	got, _ := getIncident(t, jp, in.ID)
	if len(got.Timeline) != count {
		t.Fatalf("jp's timeline: %v", timelineBodies(got))
	}
	for i, e := range got.Timeline {
		if e.Position != int64(i+1) || e.Body != fmt.Sprintf("update %d", i) {
			t.Fatalf("jp's timeline: %v", timelineBodies(got))
		}
	}
	// Each entry took effect once: jp's audit log has one record per entry it applied.
	recs, err := jp.App.Store.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	applied := map[string]int{}
	for _, r := range recs {
		if r.Actor == "peer:cn" && r.Action == "entry.comment" {
			applied[r.Detail]++
		}
	}
	for _, e := range got.Timeline {
		if applied[e.ID] != 1 {
			t.Errorf("entry %s (%q) applied %d times at jp", e.ID, e.Body, applied[e.ID])
		}
	}
	// cn's evidence is jp's original receipt for each envelope whose answer was lost.
	sent, _ := cn.App.Store.Sent(ctx, "jp")
	stored := map[uint64]envelope.Receipt{}
	for _, it := range sent {
		var r envelope.Receipt
		if err := json.Unmarshal(it.Receipt, &r); err != nil {
			t.Fatal(err)
		}
		stored[it.Seq] = r
	}
	for _, orig := range lost {
		r := stored[orig.Seq]
		if orig.Status != envelope.Applied || !bytes.Equal(r.Signature, orig.Signature) || !r.ReceivedAt.Equal(orig.ReceivedAt) {
			t.Errorf("seq %d: cn stored %s at %v, jp first signed %s at %v", orig.Seq, r.Status, r.ReceivedAt, orig.Status, orig.ReceivedAt)
		}
		in, err := jp.App.Store.GetInbox(ctx, "cn", orig.Seq)
		if err != nil || !bytes.Equal(in.Receipt, orig.Marshal()) {
			t.Errorf("seq %d: jp's stored receipt differs from the one it first sent: %v", orig.Seq, err)
		}
	}
	if refusalReasons(t, jp)["replay"] == 0 {
		t.Error("jp did not see the resend as a duplicate")
	}
}

// A peer that comes back is sent to at once, even with retry_max an hour: it talks to
// us as soon as it starts (its first heartbeat), and that wakes our sender to it.
// Operators can ask for a retry too (admin or duty officer; audited).
func TestPeerThatComesBackGetsItsBacklogAtOnce(t *testing.T) {
	opts := testnetOptions()
	opts.Federation = config.Federation{RetryMin: config.Duration(time.Hour), RetryMax: config.Duration(time.Hour),
		PullInterval: config.Duration(50 * time.Millisecond)}
	n := startNet(t, opts)
	ctx := context.Background()
	cn, kr := n.Node("cn"), n.Node("kr")
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	eventually(t, 10*time.Second, "incident at kr", func() error {
		if _, code := getIncident(t, kr, in.ID); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	if err := n.Stop("kr"); err != nil {
		t.Fatal(err)
	}
	if code := call(t, cn, "POST", "/api/v1/incidents/"+in.ID+"/timeline", map[string]any{"kind": "comment", "body": "while kr was down"}, nil); code != 201 {
		t.Fatalf("comment: %d", code)
	}
	eventually(t, 10*time.Second, "cn's send to kr fails", func() error {
		for _, l := range peersOf(t, cn) {
			if l.Peer == "kr" && l.LastError != "" && l.Health == "error" {
				return nil
			}
		}
		return fmt.Errorf("%+v", peersOf(t, cn))
	})
	if err := n.Restart(ctx, "kr"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "kr gets the backlog without waiting retry_max", func() error {
		got, _ := getIncident(t, kr, in.ID)
		if len(got.Timeline) != 1 || got.Timeline[0].Body != "while kr was down" {
			return fmt.Errorf("kr's timeline: %v", timelineBodies(got))
		}
		return nil
	})

	// The operator's retry: who may, and the audit.
	if code := call(t, cn, "POST", "/api/v1/peers/kr/retry", nil, nil); code != http.StatusAccepted {
		t.Errorf("admin retry: %d", code)
	}
	var e apiError
	if code := call(t, cn, "POST", "/api/v1/peers/xx/retry", nil, &e); code != http.StatusNotFound || !strings.Contains(e.Error.Message, "xx") {
		t.Errorf("retry of an unknown peer: %d %+v", code, e)
	}
	for role, want := range map[string]int{auth.DutyOfficer: http.StatusAccepted, auth.Handler: http.StatusForbidden, auth.Observer: http.StatusForbidden} {
		tok := tokenFor(t, cn, "user-"+strings.ReplaceAll(role, "_", "-"), role)
		if code := callAs(t, cn, tok, "POST", "/api/v1/peers/kr/retry"); code != want {
			t.Errorf("%s retry: %d, want %d", role, code, want)
		}
	}
	var audit struct {
		Audit []struct{ Actor, Action, Object string } `json:"audit"`
	}
	call(t, cn, "GET", "/api/v1/audit?limit=1000", nil, &audit)
	retries := map[string]bool{}
	for _, r := range audit.Audit {
		if r.Action == "peer.retry" && r.Object == "kr" {
			retries[r.Actor] = true
		}
	}
	if !retries["admin"] || !retries["user-duty-officer"] || len(retries) != 2 {
		t.Errorf("audited retries by %v, want admin and user-duty-officer", retries)
	}
}

type linkView struct {
	Peer           string     `json:"peer"`
	Health         string     `json:"health"`
	LastError      string     `json:"last_error"`
	LastSentAt     *time.Time `json:"last_sent_at"`
	LastReceivedAt *time.Time `json:"last_received_at"`
}

func peersOf(t *testing.T, nd *testnet.Node) []linkView {
	t.Helper()
	var out struct {
		Peers []linkView `json:"peers"`
	}
	call(t, nd, "GET", "/api/v1/peers", nil, &out)
	return out.Peers
}

func tokenFor(t *testing.T, nd *testnet.Node, name, role string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := nd.App.Auth.CreateUser(ctx, name, name, "", role); err != nil {
		t.Fatal(err)
	}
	tok, _, err := nd.App.Auth.IssueToken(ctx, name, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func callAs(t *testing.T, nd *testnet.Node, token, method, path string) int {
	t.Helper()
	req, _ := http.NewRequest(method, nd.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
