package wire

import (
	"bytes"
	"testing"
	"time"
)

func init() {
	decoders[TypeCVDCase] = func(b []byte) ([]byte, error) { v, err := DecodeCVDCase(b); return reencode(v, err, EncodeCVDCase) }
	decoders[TypeCVDSubmit] = func(b []byte) ([]byte, error) { v, err := DecodeCVDEntry(b); return reencode(v, err, EncodeCVDEntry) }
	decoders[TypeCVDAppend] = decoders[TypeCVDSubmit]
	moreExamples = append(moreExamples, cvdExamples)
}

func cvdExamples(t testing.TB) map[string][]byte {
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	publish := at.Add(72 * time.Hour)
	e := CVDEntry{ID: "c4ca4238a0b923820dcc509a6f75849b", CaseID: "cn-2026-v0003", Team: "jp", Author: "tanaka", Kind: "status",
		Body: "修正版を公開予定", TLP: "AMBER", CreatedAt: at, Signature: bytes.Repeat([]byte{0x5A}, 64),
		Data: EncodeCVDData(CVDData{Vulnerability: "v1", Product: "p2", Status: "fixed", FixedVersion: "2.4.1", VendorRef: "a1b2c3d4"})}
	appended := e
	appended.Position, appended.Kind, appended.Data = 7, "embargo.agree", EncodeCVDData(CVDData{PublishAt: &publish})
	return map[string][]byte{
		TypeCVDCase: must(EncodeCVDCase(CVDCase{ID: "cn-2026-v0003", Owner: "cn", Title: "Router firmware RCE", Description: "Unauthenticated RCE in the web UI",
			TLP: "AMBER", AdvisoryTLP: "CLEAR", Participants: []string{"cn", "jp", "kr"},
			Vulnerabilities: []CVDVulnerability{{ID: "v1", Title: "Command injection", Description: "ping field", CWE: "CWE-78", CVE: "CVE-2026-12345",
				CVSSv3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CVSSv4: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}},
			Products: []CVDProduct{{ID: "p1", Vendor: "Chip Co", Product: "SoC SDK", Versions: "<3.2", PURL: "pkg:generic/chipco/sdk"},
				{ID: "p2", Vendor: "OEM KK", Product: "RT-500", Versions: "<2.4.1", CPE: "cpe:2.3:o:oem:rt-500_firmware:*:*:*:*:*:*:*:*"}},
			CreatedBy: "wang", CreatedAt: at, UpdatedAt: at})),
		TypeCVDSubmit: must(EncodeCVDEntry(e)),
		TypeCVDAppend: must(EncodeCVDEntry(appended)),
	}
}

func FuzzDecodeCVDCase(f *testing.F)  { fuzzDecoder(f, TypeCVDCase) }
func FuzzDecodeCVDEntry(f *testing.F) { fuzzDecoder(f, TypeCVDSubmit, TypeCVDAppend) }
