package cvd

import (
	"strings"
	"testing"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/problem"
	"csirtlink/internal/wire"
)

// TestValidCaseRefuses names the field at fault for each kind of bad case.
func TestValidCaseRefuses(t *testing.T) {
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	for field, change := range map[string]func(*Case){
		"participants":               func(c *Case) { c.Participants = []string{"cn", "jp", "jp"} },
		"id":                         func(c *Case) { c.ID = "xx-2026-v0001" },
		"title":                      func(c *Case) { c.Title = "a\x1bb" },
		"advisory_tlp":               func(c *Case) { c.AdvisoryTLP = "WHITE" },
		"vulnerabilities":            func(c *Case) { c.Vulnerabilities = nil },
		"vulnerabilities[0].cve":     func(c *Case) { c.Vulnerabilities[0].CVE = "CVE-26-1" },
		"vulnerabilities[1].cve":     func(c *Case) { c.Vulnerabilities[1].CVE = c.Vulnerabilities[0].CVE },
		"vulnerabilities[0].cwe":     func(c *Case) { c.Vulnerabilities[0].CWE = "78" },
		"vulnerabilities[0].cvss_v3": func(c *Case) { c.Vulnerabilities[0].CVSSv3 = "CVSS:3.1/AV:N" },
		"vulnerabilities[0].cvss_v4": func(c *Case) { c.Vulnerabilities[0].CVSSv4 = c.Vulnerabilities[0].CVSSv3 },
		"products[1].purl":           func(c *Case) { c.Products[1].PURL = "generic/x" },
		"products[0].vendor":         func(c *Case) { c.Products[0].Vendor = "" },
		"created_at":                 func(c *Case) { c.CreatedAt = now.Add(time.Hour) },
	} {
		c := sampleCase()
		change(&c)
		err := validCase(c, "kr", now)
		if p, ok := problem.As(err); !ok || p.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	if err := validCase(sampleCase(), "kr", now); err != nil {
		t.Fatal(err)
	}
	if err := validCase(sampleCase(), "us", now); err == nil {
		t.Fatal("a case for a team that does not take part")
	}
}

func TestValidStatus(t *testing.T) {
	c := sampleCase()
	ok := Status{VendorRef: "a1", Vulnerability: "v1", Product: "p1", Status: NotAffected, Justification: "component_not_present"}
	if err := validStatus(c, ok); err != nil {
		t.Fatal(err)
	}
	for field, st := range map[string]Status{
		"vulnerability": {VendorRef: "a1", Vulnerability: "v9", Product: "p1", Status: Affected},
		"product":       {VendorRef: "a1", Vulnerability: "v1", Product: "p9", Status: Affected},
		"status":        {VendorRef: "a1", Vulnerability: "v1", Product: "p1", Status: "maybe"},
		"justification": {VendorRef: "a1", Vulnerability: "v1", Product: "p1", Status: NotAffected},
		"fixed_version": {VendorRef: "a1", Vulnerability: "v1", Product: "p1", Status: Fixed},
		"vendor_ref":    {VendorRef: "A-1", Vulnerability: "v1", Product: "p1", Status: Affected},
	} {
		if p, ok := problem.As(validStatus(c, st)); !ok || p.Field != field {
			t.Errorf("%s: %v", field, p)
		}
	}
}

// TestMatrixDefaultsToUnassessed: silence is "unassessed", never "not affected".
func TestMatrixDefaultsToUnassessed(t *testing.T) {
	c := sampleCase()
	m := Matrix(c)
	got := []string{m["v1"]["p1"].Status, m["v1"]["p2"].Status, m["v1"]["p3"].Status, m["v1"]["p4"].Status, m["v1"]["p5"].Status, m["v2"]["p1"].Status}
	if strings.Join(got, " ") != "affected fixed not_affected under_investigation unassessed unassessed" {
		t.Fatal(got)
	}
}

// FuzzDecodeCase: a peer's case snapshot, however malformed, is refused or valid;
// never a panic, and what is accepted encodes to what decodes again.
func FuzzDecodeCase(f *testing.F) {
	c := sampleCase()
	b, err := encodeCase(c)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"v":1,"id":"cn-2026-v0001","owner":"cn","participants":["cn","jp"]}`))
	now := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, payload []byte) {
		env := &envelope.Envelope{Origin: "cn", ObjectID: "cn-2026-v0001", Type: wire.TypeCVDCase, Payload: payload}
		c, err := decodeCase(env)
		if err != nil || validCase(c, "jp", now) != nil {
			return
		}
		again, err := encodeCase(c)
		if err != nil {
			t.Fatal(err)
		}
		env.Payload = again
		if _, err := decodeCase(env); err != nil {
			t.Fatalf("accepted %q but not its own encoding: %v", payload, err)
		}
	})
}
