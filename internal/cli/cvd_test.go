package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCVDCommands(t *testing.T) {
	n := startTestnet(t)
	f := filepath.Join(t.TempDir(), "case.json")
	if err := os.WriteFile(f, []byte(`{"title":"Router RCE","participants":["jp","kr"],
		"vulnerabilities":[{"title":"Command injection","cve":"CVE-2026-12345","cvss_v3":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
		"products":[{"vendor":"OEM KK","product":"RT-500","versions":"<2.4.1"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := run(t, n, "cn", runCVD, "create", f)
	id := regexp.MustCompile(`cn-\d{4}-v\d{4}`).FindString(out)
	if id == "" || !strings.Contains(out, "embargo: draft") || !strings.Contains(out, "unassessed") || !strings.Contains(out, "9.8") {
		t.Fatalf("create printed %q", out)
	}
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	out = run(t, n, "cn", runCVD, "embargo", id, "--at", at, "--tz", "Asia/Tokyo")
	if !strings.Contains(out, "jp") || !strings.Contains(out, "Asia/Seoul") {
		t.Fatalf("embargo printed %q", out)
	}
	run(t, n, "cn", runCVD, "agree", id)
	out = run(t, n, "cn", runCVD, "vendor", id, "--name", "OEM KK", "--product", "p1")
	vendor := regexp.MustCompile(`vendor ([0-9a-f]+)`).FindStringSubmatch(out)
	if vendor == nil {
		t.Fatalf("vendor printed %q", out)
	}
	out = run(t, n, "cn", runCVD, "status", id, "--vendor", vendor[1], "--vuln", "v1", "--product", "p1", "--status", "fixed", "--fixed-version", "2.4.1", "Update", "now")
	if !strings.Contains(out, "fixed") || !strings.Contains(out, "status Update now") {
		t.Fatalf("status printed %q", out)
	}
	if out := run(t, n, "cn", runCVD, "list"); !strings.Contains(out, id) || !strings.Contains(out, "draft") {
		t.Fatalf("list printed %q", out)
	}
}
