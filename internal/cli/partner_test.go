package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/testnet"
)

// The partner commands onboard a node from nothing: add shows the safety number,
// approve with it makes the partner active, lookup answers from its constituency.
func TestPartnerCommands(t *testing.T) {
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Teams: testnet.Default[:2], Strangers: true,
		Federation: config.Federation{RetryMin: config.Duration(20 * time.Millisecond), RetryMax: config.Duration(200 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	out := run(t, n, "cn", runPartner, "add", n.Node("jp").URL)
	if !strings.Contains(out, "jp (JPCERT/CC) added, pending") || !strings.Contains(out, "Safety number: ") {
		t.Fatalf("add: %s", out)
	}
	number := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "Safety number: ", 2)[1], "\n", 2)[0])
	if out := run(t, n, "cn", runPartner, "list", "--status", "pending"); !strings.Contains(out, "jp") || !strings.Contains(out, "pending") || !strings.Contains(out, "never") {
		t.Fatalf("list: %s", out)
	}
	if out := run(t, n, "cn", runPartner, "approve", "jp", number); out != "jp is active\n" {
		t.Fatalf("approve: %q", out)
	}
	if out := run(t, n, "cn", runPartner, "lookup", "ip", "198.51.100.9"); !strings.Contains(out, "jp\t198.51.100.0/24\t(partner)") {
		t.Fatalf("lookup: %q", out)
	}
	if out := run(t, n, "cn", runPartner, "suspend", "jp"); out != "jp is suspended\n" {
		t.Fatalf("suspend: %q", out)
	}
	if out := run(t, n, "cn", runPartner, "remove", "jp"); out != "jp removed\n" {
		t.Fatalf("remove: %q", out)
	}
	if out := run(t, n, "cn", runKey, "rotate", "--compromised"); !strings.Contains(out, "in use now") {
		t.Fatalf("key rotate: %q", out)
	}
}

// The hotline address commands: a code mailed on demand, a wrong code refused naming
// the field, and a code returned to the partner that mailed it.
func TestPartnerHotlineCodeCommands(t *testing.T) {
	mails := t.TempDir()
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Teams: testnet.Default[:2], Strangers: true, MailDir: mails,
		Federation: config.Federation{RetryMin: config.Duration(20 * time.Millisecond), RetryMax: config.Duration(200 * time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	out := run(t, n, "cn", runPartner, "add", n.Node("jp").URL)
	number := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "Safety number: ", 2)[1], "\n", 2)[0])
	run(t, n, "cn", runPartner, "approve", "jp", number)
	if out := run(t, n, "cn", runPartner, "hotline-check", "jp"); !strings.Contains(out, "a code went to hotline@jp.csirtlink.test") {
		t.Fatalf("hotline-check: %q", out)
	}
	// The list's hotline column says a code is out (the day it went), under its header.
	if out := run(t, n, "cn", runPartner, "list"); !strings.Contains(out, "HOTLINE VERIFIED") ||
		!regexp.MustCompile(`(?m)^jp .*code sent \d{4}-\d{2}-\d{2}`).MatchString(out) {
		t.Errorf("list lacks jp's hotline state: %s", out)
	}
	// Approval mailed one code, the command another.
	if files, _ := filepath.Glob(filepath.Join(mails, "*hotline_at_jp.csirtlink.test.eml")); len(files) != 2 {
		t.Errorf("%d code mails filed for jp's hotline, want 2", len(files))
	}
	nd := n.Node("cn")
	var stdout, stderr bytes.Buffer
	err = runPartner(context.Background(), []string{"hotline-code", "jp", "ZZZZ-ZZZZ", "--url", nd.URL, "--token", nd.Token}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "code") {
		t.Fatalf("a wrong code: %v (%s)", err, stdout.String())
	}
	if out := run(t, n, "cn", runPartner, "hotline-code", "--return", "jp", "ABCD-2345"); !strings.Contains(out, "the code goes back to jp") {
		t.Fatalf("return: %q", out)
	}
}
