package cvd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/csaf"
	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/team"
)

func testDirectory(t testing.TB) *team.Directory {
	t.Helper()
	key := func() string {
		k, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		return k.Public()
	}
	dir, err := team.NewDirectory(team.Team{ID: "cn", Name: "CNCERT/CC", Timezone: "Asia/Shanghai", Languages: []string{"zh-Hans", "en"},
		URL: "https://cn.example", HotlineEmail: "hotline@cn.example", PublicKey: key()}, []team.Peer{
		{Team: team.Team{ID: "jp", Name: "JPCERT/CC", Timezone: "Asia/Tokyo", Languages: []string{"ja"}, URL: "https://jp.example", PublicKey: key()}},
		{Team: team.Team{ID: "kr", Name: "KrCERT/CC", Timezone: "Asia/Seoul", Languages: []string{"ko"}, URL: "https://kr.example", PublicKey: key()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// sampleCase has every status a vendor can give, two vendors' products, both CVSS
// versions, a CWE, identifiers, and a vulnerability without a CVE.
func sampleCase() Case {
	at := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	c := Case{ID: "cn-2026-v0001", Owner: "cn", Title: "Router firmware: remote code execution", Description: "A flaw in the web UI.",
		TLP: "AMBER", AdvisoryTLP: "CLEAR", Participants: []string{"cn", "jp", "kr"}, CreatedBy: "wang", CreatedAt: at, UpdatedAt: at,
		Vulnerabilities: []Vulnerability{
			{ID: "v1", Title: "OS command injection in ping", CWE: "CWE-78", CVE: "CVE-2026-12345",
				CVSSv3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CVSSv4: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
			{ID: "v2", Title: "Hard-coded credentials", CWE: "CWE-798", CVSSv3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N"},
		},
		Products: []Product{
			{ID: "p1", Vendor: "芯片 Co", Product: "SoC SDK", Versions: "<3.2", PURL: "pkg:generic/chipco/soc-sdk"},
			{ID: "p2", Vendor: "OEM KK", Product: "RT-500", Versions: "<2.4.1", CPE: "cpe:2.3:o:oem:rt-500_firmware:*:*:*:*:*:*:*:*"},
			{ID: "p3", Vendor: "OEM KK", Product: "RT-300", Versions: "all"},
			{ID: "p4", Vendor: "KT ISP", Product: "HomeBox", Versions: "1.x"},
			{ID: "p5", Vendor: "KT ISP", Product: "HomeBox Lite", Versions: "1.x"},
		},
		Embargo: Embargo{PublishAt: &at, Agreed: []string{"cn", "jp", "kr"}},
		Statuses: []Status{
			{Team: "cn", VendorRef: "a1", Vulnerability: "v1", Product: "p1", Status: Affected, Statement: "SDK patch in Q1.", At: at},
			{Team: "jp", VendorRef: "b2", Vulnerability: "v1", Product: "p2", Status: Fixed, FixedVersion: "2.4.1", At: at},
			{Team: "jp", VendorRef: "b2", Vulnerability: "v1", Product: "p3", Status: NotAffected, Justification: "vulnerable_code_not_present", At: at},
			{Team: "kr", VendorRef: "c3", Vulnerability: "v1", Product: "p4", Status: UnderInvestigation, At: at},
			{Team: "kr", VendorRef: "c3", Vulnerability: "v2", Product: "p4", Status: Fixed, FixedVersion: "1.9", At: at},
		},
	}
	score(&c)
	return c
}

// validator is the CSAF validator library's runner, or a failure under CI when Node.js
// or the library is missing (npm ci --prefix internal/csaf/testdata installs it).
func validator(t *testing.T) string {
	t.Helper()
	script, _ := filepath.Abs("../csaf/testdata/validate.mjs")
	_, errNode := exec.LookPath("node")
	_, errLib := os.Stat("../csaf/testdata/node_modules/@secvisogram/csaf-validator-lib/package.json")
	if err := errors.Join(errNode, errLib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the CSAF validator is missing and CI is set: npm ci --prefix internal/csaf/testdata (%v)", err)
		}
		t.Skipf("the CSAF validator is missing: npm ci --prefix internal/csaf/testdata (%v)", err)
	}
	return script
}

// validate runs every document through the validator's schema and mandatory tests.
func validate(t *testing.T, docs map[string]csaf.Document) {
	t.Helper()
	script := validator(t)
	dir := t.TempDir()
	args := []string{script}
	for name, d := range docs {
		b, err := json.MarshalIndent(d, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.CommandContext(t.Context(), "node", args...).Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(docs) {
		t.Fatalf("validator: %v\n%s", err, out)
	}
	for _, l := range lines {
		var r struct {
			File   string
			Valid  bool
			Tests  int
			Errors json.RawMessage
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("validator output %q: %v", l, err)
		}
		if !r.Valid || r.Tests < 30 {
			b, _ := os.ReadFile(r.File)
			t.Errorf("%s: not valid CSAF 2.0 (%d tests): %s\n%s", filepath.Base(r.File), r.Tests, r.Errors, b)
		}
	}
	if err != nil {
		t.Fatalf("validator: %v", err)
	}
}

// TestAdvisoriesPassTheValidator: every advisory the case makes — both profiles, four
// languages — passes the CSAF 2.0 schema and the mandatory tests.
func TestAdvisoriesPassTheValidator(t *testing.T) {
	s := &Service{dir: testDirectory(t)}
	c := sampleCase()
	docs := map[string]csaf.Document{}
	for _, lang := range Languages {
		for _, cat := range []string{csaf.SecurityAdvisory, csaf.VEX} {
			docs[fmt.Sprintf("%s-%s.json", lang, cat)] = s.Advisory(c, lang, cat)
		}
	}
	// And a case where no vendor has said anything yet.
	bare := sampleCase()
	bare.Statuses = nil
	docs["bare.json"] = s.Advisory(bare, "ja", csaf.SecurityAdvisory)
	// And one in the team's own Japanese words.
	docs["ja-texts.json"] = s.Advisory(translated(), "ja", csaf.SecurityAdvisory)
	validate(t, docs)
}

// translated is the sample case with jp's Japanese texts.
func translated() Case {
	c := sampleCase()
	c.Advisories = map[string]Texts{"ja": {Title: "ルーターファームウェアのリモートコード実行", Summary: "Web 管理画面の脆弱性です。",
		Vulnerabilities: map[string]VulnerabilityTexts{"v1": {Title: "ping 機能の OS コマンドインジェクション", Remediation: "JVN を参照してください。"}}}}
	return c
}

// TestAdvisoryUsesTheLanguagesTexts: the ja advisory takes jp's texts, falls back to the
// case's where a field is empty, and adds the remediation text to the generated one;
// the en advisory keeps the case's words.
func TestAdvisoryUsesTheLanguagesTexts(t *testing.T) {
	s := &Service{dir: testDirectory(t)}
	c := translated()
	ja := s.Advisory(c, "ja", csaf.SecurityAdvisory)
	v1, v2 := ja.Vulnerabilities[0], ja.Vulnerabilities[1]
	switch {
	case ja.Document.Lang != "ja" || ja.Document.Title != "ルーターファームウェアのリモートコード実行":
		t.Errorf("document %s %q", ja.Document.Lang, ja.Document.Title)
	case !strings.HasPrefix(ja.Document.Notes[0].Text, "Web 管理画面の脆弱性です。\n\n"):
		t.Errorf("summary %q", ja.Document.Notes[0].Text)
	case v1.Title != "ping 機能の OS コマンドインジェクション" || v1.Notes[0].Text != v1.Title:
		t.Errorf("v1 %q %q", v1.Title, v1.Notes[0].Text)
	case v2.Title != "Hard-coded credentials":
		t.Errorf("v2 did not fall back: %q", v2.Title)
	}
	for _, r := range v1.Remediations {
		if !strings.HasSuffix(r.Details, "\n\nJVN を参照してください。") {
			t.Errorf("remediation %q", r.Details)
		}
	}
	if len(v1.Remediations) == 0 {
		t.Error("no remediations")
	}
	if en := s.Advisory(c, "en", csaf.SecurityAdvisory); en.Document.Title != c.Title || en.Vulnerabilities[0].Title != c.Vulnerabilities[0].Title {
		t.Errorf("en %q %q", en.Document.Title, en.Vulnerabilities[0].Title)
	}
}

// TestCheckTexts: each refusal names the field as the API's body does.
func TestCheckTexts(t *testing.T) {
	c := sampleCase()
	for field, in := range map[string]Texts{
		"title":                           {Title: "a\nb"},
		"summary":                         {Summary: strings.Repeat("x", maxDescription+1)},
		"vulnerabilities[v9]":             {Vulnerabilities: map[string]VulnerabilityTexts{"v9": {Title: "x"}}},
		"vulnerabilities[v2].title":       {Vulnerabilities: map[string]VulnerabilityTexts{"v2": {Title: strings.Repeat("長", maxTitle+1)}}},
		"vulnerabilities[v1].description": {Vulnerabilities: map[string]VulnerabilityTexts{"v1": {Description: "\xff"}}},
		"vulnerabilities[v1].remediation": {Vulnerabilities: map[string]VulnerabilityTexts{"v1": {Remediation: strings.Repeat("x", maxBody+1)}}},
	} {
		var p *problem.Error
		if err := CheckTexts(c, in); !errors.As(err, &p) || p.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	if err := CheckTexts(c, translated().Advisories["ja"]); err != nil {
		t.Errorf("good texts refused: %v", err)
	}
}

// TestLinkedAdvisories: each advisory refers to the others — cn's in zh, jp's in ja,
// kr's in ko, the owner's in en — at the paths each node publishes them under.
func TestLinkedAdvisories(t *testing.T) {
	s := &Service{dir: testDirectory(t)}
	c := sampleCase()
	doc := s.Advisory(c, "zh", csaf.SecurityAdvisory)
	var urls []string
	for _, r := range doc.Document.References {
		urls = append(urls, r.URL)
	}
	want := []string{
		"https://cn.example/.well-known/csaf/white/2026/cn-2026-v0001-en.json",
		"https://jp.example/.well-known/csaf/white/2026/cn-2026-v0001-ja.json",
		"https://kr.example/.well-known/csaf/white/2026/cn-2026-v0001-ko.json",
	}
	if strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Fatalf("references %v, want %v", urls, want)
	}
	if got := s.MyLanguages(c); strings.Join(got, ",") != "zh,en" {
		t.Fatalf("the owner cn publishes %v", got)
	}
	if doc.Document.Lang != "zh" || doc.Document.Tracking.ID != "CN-2026-V0001-ZH" {
		t.Fatalf("lang %s, id %s", doc.Document.Lang, doc.Document.Tracking.ID)
	}
}

// TestAdvisoryCarriesCVSS4: the 4.0 vector is scored here and travels, with its score,
// as a note (CSAF 2.0 has no cvss_v4 object); the validator test above passes it.
func TestAdvisoryCarriesCVSS4(t *testing.T) {
	s := &Service{dir: testDirectory(t)}
	c := sampleCase()
	if v := c.Vulnerabilities[0]; v.ScoreV4 != 9.3 || v.SeverityV4 != "CRITICAL" || c.Vulnerabilities[1].SeverityV4 != "" {
		t.Fatalf("scores %+v", c.Vulnerabilities)
	}
	doc := s.Advisory(c, "en", csaf.SecurityAdvisory)
	var found bool
	for _, n := range doc.Vulnerabilities[0].Notes {
		found = found || n.Title == "CVSS v4.0" && n.Text == c.Vulnerabilities[0].CVSSv4+" (9.3 CRITICAL)"
	}
	if !found {
		t.Fatalf("no CVSS v4.0 note with its score: %+v", doc.Vulnerabilities[0].Notes)
	}
}
