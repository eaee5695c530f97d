package cvd

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/csaf"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/team"
)

// BenchmarkCase121Vendors reads and shows a case as big as VINCE's slow one (VINCE
// #140: 121 vendors, ~10 s a page): 121 products, each with its vendor's status for
// two vulnerabilities, on SQLite — the case with its timeline (242 entries) and
// vendors, the status matrix, and its CSAF advisory.
func BenchmarkCase121Vendors(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	key, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	dir, err := team.NewDirectory(team.Team{ID: "cn", Name: "CNCERT/CC", Timezone: "Asia/Shanghai", PublicKey: key.Public()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	s := New(db, federation.New(dir, key, db, clk, log, federation.Options{}), key, clk, log)
	n := NewCase{Title: "Router SDK flaw in 121 vendors' products", Vulnerabilities: []Vulnerability{
		{Title: "Command injection", CVE: "CVE-2026-12345", CWE: "CWE-78", CVSSv3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{Title: "Hard-coded account", CWE: "CWE-798", CVSSv3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N"}}}
	for i := range 121 {
		n.Products = append(n.Products, Product{Vendor: fmt.Sprintf("Vendor %03d", i), Product: "Router", Versions: "< 2.0"})
	}
	a := Actor{Name: "wang"}
	c, err := s.Create(ctx, a, n)
	if err != nil {
		b.Fatal(err)
	}
	for i, p := range c.Products {
		v, err := s.AddVendor(ctx, a, c.ID, NewVendor{Name: p.Vendor, Products: []string{p.ID}})
		if err != nil {
			b.Fatal(err)
		}
		for _, vuln := range []string{"v1", "v2"} {
			st := StatusInput{Vendor: v.ID, Vulnerability: vuln, Product: p.ID, Status: Affected}
			if i%3 == 1 {
				st.Status, st.FixedVersion = Fixed, "2.0"
			}
			if _, err := s.SetStatus(ctx, a, c.ID, st); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		c, err := s.Get(ctx, c.ID)
		if err != nil || len(c.Timeline) != 242 || len(c.Vendors) != 121 {
			b.Fatalf("%d entries, %d vendors, %v", len(c.Timeline), len(c.Vendors), err)
		}
		_ = Matrix(c)
		_ = s.Advisory(c, "ja", csaf.SecurityAdvisory)
	}
}
