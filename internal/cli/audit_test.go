package cli

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"csirtlink/internal/auth"
	"csirtlink/internal/incident"
)

// TestAuditVerify: `csirtlink audit verify` passes on an intact node, and exits
// non-zero naming what broke when the newest records were dropped or one was altered.
func TestAuditVerify(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "jp")
	var out, errOut bytes.Buffer
	if err := Run(ctx, []string{"init", "--dir", dir, "--team", "jp", "--name", "JPCERT/CC", "--timezone", "Asia/Tokyo",
		"--listen", "127.0.0.1:0", "--hotline-email", "hotline@jp.example"}, &out, &errOut); err != nil {
		t.Fatalf("init: %v\n%s", err, errOut.String())
	}
	cfg := filepath.Join(dir, "csirtlink.json")
	verify := func() (int, string, string) {
		var out, errOut bytes.Buffer
		code := Main([]string{"audit", "verify", "--config", cfg}, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	node, err := openForAdmin(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	actor := incident.Actor{UserID: "admin", Name: "admin", Role: auth.Admin}
	for _, title := range []string{"Botnet C2", "DDoS on a bank", "Phishing kit"} {
		if _, err := node.Incidents.Create(ctx, actor, incident.NewIncident{Title: title, Category: "fraud/phishing", Severity: "high", TLP: "CLEAR"}); err != nil {
			t.Fatal(err)
		}
	}
	if code, stdout, stderr := verify(); code != 0 || !strings.Contains(stdout, "no checkpoints yet") {
		t.Fatalf("verify before any checkpoint: exit %d\n%s%s", code, stdout, stderr)
	}
	if !node.Engine.Cycle(ctx) {
		t.Fatal("the engine did not run its modules")
	}
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := verify()
	if code != 0 || !strings.Contains(stdout, "audit log intact: 3 records") || !strings.Contains(stdout, "1 signed checkpoints reached; the newest: record 3") {
		t.Fatalf("verify of an intact node: exit %d\n%s%s", code, stdout, stderr)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "csirtlink.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `DELETE FROM audit WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := verify(); code == 0 || !strings.Contains(stderr, "records 3 to 3 were dropped") {
		t.Fatalf("verify after the newest record was dropped: exit %d\n%s", code, stderr)
	}
	if _, err := db.ExecContext(ctx, `UPDATE audit SET detail = 'nothing to see' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := verify(); code == 0 || !strings.Contains(stderr, "record 2 was altered") {
		t.Fatalf("verify after record 2 was altered: exit %d\n%s", code, stderr)
	}
}
