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

	// The advisory texts, one language at a time: set from a file, shown per language;
	// a wrong field is refused with its name, a wrong language before anything is sent.
	tf := filepath.Join(t.TempDir(), "ja.json")
	if err := os.WriteFile(tf, []byte(`{"title":"ルーターのリモートコード実行","vulnerabilities":{"v1":{"remediation":"2.4.1 に更新してください"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out = run(t, n, "cn", runCVD, "texts", "set", id, "--lang", "ja", "--file", tf)
	if !strings.Contains(out, "· ja (by ") || !strings.Contains(out, "ルーターのリモートコード実行") || !strings.Contains(out, "2.4.1 に更新してください") ||
		!strings.Contains(out, "summary                (the case's own)") {
		t.Fatalf("texts set printed %q", out)
	}
	out = run(t, n, "cn", runCVD, "texts", "show", id)
	if !strings.Contains(out, id+" · en: no texts") || !strings.Contains(out, "ルーターのリモートコード実行") {
		t.Fatalf("texts show printed %q", out)
	}
	nd := n.Node("cn")
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"vulnerabilities":{"v9":{"title":"x"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"texts", "set", id, "--lang", "ja", "--file", bad},
		{"texts", "set", id, "--lang", "fr", "--file", tf},
		{"texts", "set", id, "--file", tf},
		{"texts", "edit", id},
	} {
		var o, e strings.Builder
		err := runCVD(t.Context(), append(args, "--url", nd.URL, "--token", nd.Token), &o, &e)
		if err == nil {
			t.Errorf("%v: no error; printed %q", args, o.String())
		}
		if args[len(args)-1] == bad && !strings.Contains(err.Error(), "vulnerabilities[v9]") {
			t.Errorf("%v: %v, want the field named", args, err)
		}
	}

	// A vendor's label, and removals.
	out = run(t, n, "cn", runCVD, "vendor-tlp", id, "--vendor", vendor[1], "--tlp", "red")
	if !strings.Contains(out, "now at TLP:RED") {
		t.Fatalf("vendor-tlp printed %q", out)
	}
	out = run(t, n, "cn", runCVD, "remove", id, "--participant", "kr", "not", "concerned")
	if !strings.Contains(out, "participants cn, jp") || !strings.Contains(out, "remove participant kr: not concerned") {
		t.Fatalf("remove printed %q", out)
	}
	out = run(t, n, "cn", runCVD, "remove", id, "--vendor", vendor[1])
	if !strings.Contains(out, vendor[1]+"  OEM KK  TLP:RED  (removed)") {
		t.Fatalf("remove vendor printed %q", out)
	}
}
