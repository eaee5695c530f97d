package cli

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"csirtlink/internal/client"
	"csirtlink/internal/store"
)

// TestIdempotencyKeyFlag: a command repeated with the --idempotency-key a failed try
// printed is carried out once, and prints the first result again.
func TestIdempotencyKeyFlag(t *testing.T) {
	n := startTestnet(t)
	args := []string{"create", "--title", "Booter hosting", "--category", "availability/ddos", "--severity", "high",
		"--tlp", "amber", "--participants", "jp", "--idempotency-key", "cli-key-1"}
	first := run(t, n, "cn", runIncident, args...)
	again := run(t, n, "cn", runIncident, args...)
	id := regexp.MustCompile(`cn-\d{4}-\d{4}`).FindString(first)
	if id == "" || !strings.Contains(again, id) {
		t.Fatalf("first printed %q, again %q", first, again)
	}
	nd := n.Node("cn")
	list, err := client.New(nd.URL, nd.Token).ListIncidents(t.Context(), store.IncidentFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d incidents after the command ran twice with one key (%v), want 1", len(list), err)
	}

	var out, errOut bytes.Buffer
	err = runIncident(context.Background(), []string{"comment", id, "hello", "--idempotency-key", "two words", "--url", nd.URL, "--token", nd.Token}, &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--idempotency-key") {
		t.Fatalf("a key with a space: %v", err)
	}
}

// TestIncompleteCallTellsHowToRepeatIt: the CLI's last word on a call that got no
// answer is how to repeat it without a duplicate.
func TestIncompleteCallTellsHowToRepeatIt(t *testing.T) {
	// Port 9 on loopback: nothing listens, so no try is answered.
	var out, errOut bytes.Buffer
	code := Main([]string{"incident", "comment", "cn-2026-0001", "hello", "--url", "http://127.0.0.1:9", "--token", "t"}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	m := regexp.MustCompile(`--idempotency-key ([0-9a-f]{32})\n$`).FindStringSubmatch(errOut.String())
	if m == nil {
		t.Fatalf("stderr does not end with the key to repeat the call with:\n%s", errOut.String())
	}
	if !strings.Contains(errOut.String(), "may have been carried out") {
		t.Errorf("stderr does not say the call may have been carried out:\n%s", errOut.String())
	}
}
