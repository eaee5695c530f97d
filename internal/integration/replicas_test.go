package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"csirtlink/internal/app"
	"csirtlink/internal/config"
	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/testnet"
)

// openReplica starts another process-worth of a node from its configuration: the same
// key and the same PostgreSQL database, its own listener, engine and federation.
func openReplica(t *testing.T, h *hotlineNet, nd *testnet.Node) (*app.Node, *testnet.Node) {
	t.Helper()
	cfg, err := config.Load(nd.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := app.Open(context.Background(), cfg, app.Options{Clock: h.clock, Logger: testLogger})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	r.Serve(ln)
	t.Cleanup(func() { r.Close() })
	view := *nd
	view.URL, view.App = "http://"+ln.Addr().String(), r
	return r, &view
}

// TestTwoReplicasApplyOnceAndPageOnce runs jp as two replicas on one PostgreSQL database.
// cn's page and incident, held in cn's outbox while jp was down, are pushed to both
// replicas at the same moment: they are applied once, and both replicas answer with the
// same receipts. Then, while both replicas' engines run and, besides, both replicas'
// hotline modules are driven from other goroutines as engines that lost track of the
// lease would be, every person is notified exactly once per escalation step.
func TestTwoReplicasApplyOnceAndPageOnce(t *testing.T) {
	ctx := context.Background()
	h := startHotlineNet(t, testnet.Options{Databases: onPostgres(t, "jp")})
	h.setupJP(t)
	cn := h.Node("cn")
	cnKey, err := identity.Load(filepath.Join(h.dir, "cn", "node.key"))
	if err != nil {
		t.Fatal(err)
	}

	// While jp is down, cn pages it and opens an incident with it; then cn stops too, so
	// that its outbox holds the batch and only this test sends it.
	if err := h.Stop("jp"); err != nil {
		t.Fatal(err)
	}
	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "critical",
		"summary": "C2 takedown needed now", "details": "Botnet C2 at a JP provider.", "tlp": "AMBER"}, &sent); code != 201 {
		t.Fatalf("send page: %d", code)
	}
	in := createIncident(t, cn, "AMBER", "jp")
	if err := h.Stop("cn"); err != nil {
		t.Fatal(err)
	}
	cnDB, err := sqlstore.OpenSQLite(ctx, filepath.Join(h.dir, "cn", "csirtlink.db"))
	if err != nil {
		t.Fatal(err)
	}
	items, err := cnDB.Sent(ctx, "jp")
	cnDB.Close()
	if err != nil || len(items) < 2 {
		t.Fatalf("cn's outbox for jp: %d items, %v", len(items), err)
	}
	var envs []*envelope.Envelope
	for _, it := range items {
		e, err := envelope.Unmarshal(it.Envelope)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}
	// Sealed by cn, as its sender seals every batch.
	body, _ := json.Marshal(envelope.Batch{Envelopes: envs, Seal: envelope.SealBatch(cnKey, "cn", "jp", time.Now(), envs)})

	if err := h.Restart(ctx, "jp"); err != nil {
		t.Fatal(err)
	}
	jp := h.Node("jp")
	replica2, jp2 := openReplica(t, h, jp)

	var wg sync.WaitGroup
	codes := make([]int, 2)
	answers := make([]envelope.Receipts, 2)
	start := make(chan struct{})
	for i, to := range []*testnet.Node{jp, jp2} {
		wg.Go(func() {
			<-start
			codes[i], answers[i] = post(t, to, cnKey, "cn", h.clock.Now(), body)
		})
	}
	close(start)
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK || len(answers[i].All()) != len(envs) {
			t.Fatalf("replica %d answered %d with %d receipts for %d envelopes", i+1, code, len(answers[i].All()), len(envs))
		}
	}
	for k := range envs {
		a, b := answers[0].All()[k], answers[1].All()[k]
		if a.Seq != b.Seq || !a.ReceivedAt.Equal(b.ReceivedAt) || string(a.Signature) != string(b.Signature) {
			t.Errorf("seq %d: the replicas' receipts differ (%s at %s, %s at %s): applied twice", a.Seq, a.Status, a.ReceivedAt, b.Status, b.ReceivedAt)
		}
	}
	if n, err := jp.App.Store.CountInbox(ctx, "cn"); err != nil || n != len(envs) {
		t.Fatalf("jp's inbox from cn holds %d envelopes (%v), want %d", n, err, len(envs))
	}
	audit, err := jp.App.Store.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	received := map[string]int{}
	for _, r := range audit {
		received[r.Action+" "+r.Object]++
	}
	if received["page.receive "+sent.ID] != 1 {
		t.Errorf("the page was received %d times (audit %v)", received["page.receive "+sent.ID], received)
	}
	if _, code := getIncident(t, jp2, in.ID); code != http.StatusOK {
		t.Errorf("the incident is not on the second replica: %d", code)
	}

	// Both engines run. Besides, drive both replicas' hotline modules from here, as two
	// engines would if a lease were lost in the middle of a cycle.
	hammer, stop := context.WithCancel(ctx)
	defer stop()
	var hw sync.WaitGroup
	for _, r := range []*app.Node{jp.App, replica2} {
		hw.Go(func() {
			for hammer.Err() == nil {
				for _, m := range r.Hotline.Modules() {
					m.UpdateAll(hammer)
				}
			}
		})
	}
	eventually(t, 10*time.Second, "tanaka e-mailed at level 1", func() error {
		if n := len(h.mail.to("tanaka@jp.example")); n != 1 {
			return fmt.Errorf("%d mails", n)
		}
		return nil
	})
	h.clock.Advance(15*time.Minute + time.Second)
	eventually(t, 10*time.Second, "kato e-mailed at level 2", func() error {
		if n := len(h.mail.to("kato@jp.example")); n != 1 {
			return fmt.Errorf("%d mails", n)
		}
		return nil
	})
	// Let the hammering go on a while longer: nothing more may go out.
	time.Sleep(300 * time.Millisecond)
	stop()
	hw.Wait()
	if a, b, c := len(h.mail.to("tanaka@jp.example")), len(h.mail.to("kato@jp.example")), len(h.mail.to("sato@jp.example")); a != 1 || b != 1 || c != 0 {
		t.Fatalf("mails: tanaka %d, kato %d, sato %d; want 1, 1, 0", a, b, c)
	}
	if n := len(h.hooks.calls()); n != 1 {
		t.Fatalf("%d webhook calls for tanaka's one step, want 1", n)
	}
	ns, err := jp.App.Store.PageNotifications(ctx, sent.ID)
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]int{}
	for _, n := range ns {
		if n.State == "sent" || n.State == "sending" || n.State == "unknown" {
			made[fmt.Sprintf("%s/%s round %d level %d", n.User, n.Channel, n.Round, n.Level)]++
		}
	}
	for k, v := range made {
		if v != 1 {
			t.Errorf("%s: %d attempts made, want 1", k, v)
		}
	}
	if len(made) == 0 {
		t.Fatal("no notification attempts recorded")
	}
}

// TestKilledReplicaTheOtherFinishesTheEscalation runs jp as two replicas on one
// PostgreSQL database, one of them a separate process. That process takes the page and
// notifies level 1, and is killed with SIGKILL. The other replica, in this process,
// takes the engine lease once it expires and notifies level 2, and nobody is notified
// twice.
func TestKilledReplicaTheOtherFinishesTheEscalation(t *testing.T) {
	dir := t.TempDir()
	clk := newFileClock(t, filepath.Join(dir, "clock"), night)
	h := startHotlineNetWithClock(t, testnet.Options{Dir: dir, Databases: onPostgres(t, "jp")}, clk)
	h.setupJP(t)
	cn, jp := h.Node("cn"), h.Node("jp")
	if err := h.Stop("jp"); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "CSIRTLINK_CHILD_CONFIG="+jp.ConfigPath, "CSIRTLINK_CHILD_CLOCK="+clk.path)
	var childLog syncBuffer
	child.Stderr = &childLog
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("child replica's log:\n%s", childLog.String())
		}
	})
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	eventually(t, 10*time.Second, "child replica up", func() error {
		resp, err := http.Get(jp.URL + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "critical",
		"summary": "Ransomware at a JP hospital's supplier"}, &sent); code != 201 {
		t.Fatalf("send: %d", code)
	}
	eventually(t, 10*time.Second, "level 1 notified by the child replica", func() error {
		if len(h.mail.to("tanaka@jp.example")) != 1 || len(h.hooks.calls()) != 1 {
			return fmt.Errorf("%d mails, %d webhooks", len(h.mail.to("tanaka@jp.example")), len(h.hooks.calls()))
		}
		return nil
	})
	// The second replica starts while the child holds the engine lease.
	second, view := openReplica(t, h, jp)
	if p := getPage(t, view, sent.ID); p.ID != sent.ID {
		t.Fatalf("the second replica does not see the page: %+v", p)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	// Level 2 falls due, and the dead replica's lease runs out.
	clk.Advance(16 * time.Minute)
	second.Engine.Wake()
	eventually(t, 10*time.Second, "level 2 notified by the second replica", func() error {
		if n := len(h.mail.to("kato@jp.example")); n != 1 {
			return fmt.Errorf("%d", n)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	if n, w := len(h.mail.to("tanaka@jp.example")), len(h.hooks.calls()); n != 1 || w != 1 {
		t.Fatalf("tanaka notified again by the second replica: %d mails, %d webhooks", n, w)
	}
	p := getPage(t, view, sent.ID)
	if p.Escalation == nil || p.Escalation.Round != 1 || p.Escalation.Level != 0 {
		t.Fatalf("escalation after level 2: %+v", p.Escalation)
	}
}
