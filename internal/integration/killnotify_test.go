package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"csirtlink/internal/testnet"
)

// jp's node is killed (SIGKILL) after it has claimed notification attempts and while
// it is making them — a chat gateway that takes its time holds the batch open — and
// before it records how they went. After the restart the interrupted attempts are
// marked unknown and never made again (at most once), the escalation goes on to its
// next level, and both nodes show the page as it is.
func TestKilledWhileNotifyingNotifiesNobodyTwice(t *testing.T) {
	dir := t.TempDir()
	clk := newFileClock(t, filepath.Join(dir, "clock"), night)
	h := startHotlineNetWithClock(t, testnet.Options{Dir: dir}, clk)
	h.setupJP(t)
	cn, jp := h.Node("cn"), h.Node("jp")

	// tanaka's webhook is now a gateway that accepts the request and never answers.
	var slowCalls atomic.Int32
	reached := make(chan struct{}, 8)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowCalls.Add(1)
		reached <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	var contacts struct {
		Contacts []struct{ ID, Channel string }
	}
	call(t, jp, "GET", "/api/v1/users/tanaka/contacts", nil, &contacts)
	for _, c := range contacts.Contacts {
		if c.Channel == "webhook" {
			if code := call(t, jp, "DELETE", "/api/v1/users/tanaka/contacts/"+c.ID, nil, nil); code != 204 {
				t.Fatalf("delete contact: %d", code)
			}
		}
	}
	mustCall(t, jp, "POST", "/api/v1/users/tanaka/contacts", map[string]any{"channel": "webhook", "address": slow.URL + "/sms", "secret": hookSecret}, 201)

	if err := h.Stop("jp"); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "CSIRTLINK_CHILD_CONFIG="+jp.ConfigPath, "CSIRTLINK_CHILD_CLOCK="+clk.path)
	var childLog syncBuffer
	child.Stderr = &childLog
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("child jp's log:\n%s", childLog.String())
		}
	})
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	eventually(t, 10*time.Second, "child jp up", func() error {
		resp, err := http.Get(jp.URL + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})

	var sent pageView
	if code := call(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "critical",
		"summary": "DDoS on a JP bank's DNS", "tlp": "AMBER"}, &sent); code != 201 {
		t.Fatalf("send: %d", code)
	}
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatal("the child never called the slow gateway")
	}
	// The child has claimed level 1's attempts and not recorded their outcome.
	var during pageView
	if code := call(t, jp, "GET", "/api/v1/pages/"+sent.ID, nil, &during); code != 200 {
		t.Fatalf("page at the child: %d", code)
	}
	sending := 0
	for _, n := range during.Notifications {
		if n.User == "tanaka" && n.State == "sending" {
			sending++
		}
	}
	if sending == 0 {
		t.Fatalf("no attempt claimed and unfinished at the kill: %+v", during.Notifications)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	mailsBefore, hooksBefore := len(h.mail.to("tanaka@jp.example")), len(h.hooks.calls())

	// Past the claim timeout (2 min) and the dead process's engine lease (15 s), before
	// level 2 falls due (15 min).
	clk.Advance(3 * time.Minute)
	if err := h.Restart(context.Background(), "jp"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the interrupted attempts marked unknown", func() error {
		p := getPage(t, h.Node("jp"), sent.ID)
		unknown := 0
		for _, n := range p.Notifications {
			if n.State == "sending" {
				return fmt.Errorf("%s %s still sending", n.User, n.Channel)
			}
			if n.State == "unknown" {
				unknown++
			}
		}
		if unknown != sending {
			return fmt.Errorf("%d attempts unknown, %d were interrupted", unknown, sending)
		}
		return nil
	})
	clk.Advance(12*time.Minute + time.Second)
	eventually(t, 10*time.Second, "level 2 reaches kato after the restart", func() error {
		if n := len(h.mail.to("kato@jp.example")); n != 1 {
			return fmt.Errorf("%d mails to kato", n)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	if n := slowCalls.Load(); n != 1 {
		t.Fatalf("the slow gateway was called %d times", n)
	}
	if m, w := len(h.mail.to("tanaka@jp.example")), len(h.hooks.calls()); m != mailsBefore || w != hooksBefore || m > 1 || w > 1 {
		t.Fatalf("tanaka reached again after the restart: %d→%d mails, %d→%d webhooks", mailsBefore, m, hooksBefore, w)
	}

	// jp shows each attempt once: level 1's as interrupted, level 2's as sent.
	p := getPage(t, h.Node("jp"), sent.ID)
	seen := map[string]int{}
	for _, n := range p.Notifications {
		seen[fmt.Sprintf("%s/%s %s/%d", n.User, n.Channel, n.Address, n.Level)]++
		switch {
		case n.User == "tanaka" && n.State == "sent" && n.Channel != "console":
			t.Errorf("tanaka's %s attempt is recorded as sent, though the node died before it knew", n.Channel)
		case n.User == "kato" && n.Channel == "email" && n.State != "sent":
			t.Errorf("kato's mail is %s", n.State)
		}
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("attempt %s listed %d times", k, c)
		}
	}
	if p.Escalation == nil || p.Escalation.StopReason != "" {
		t.Errorf("escalation after level 2: %+v", p.Escalation)
	}
	// cn sees the truth: kato's mail reached a person; nothing claims level 1 did.
	eventually(t, 5*time.Second, "cn sees notified by e-mail", func() error {
		d := getPage(t, cn, sent.ID).Deliveries[0]
		if d.State != "notified" || d.NotifiedChannel != "email" {
			return fmt.Errorf("%+v", d)
		}
		return nil
	})
}
