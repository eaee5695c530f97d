package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"csirtlink/internal/indicator"
	"csirtlink/internal/stix"
)

// TestSTIXIndicatorCommands: `stix export --indicators` and `--all` print a bundle of
// shared indicators with only what the audience may see (through the API route), and
// `stix import --as indicators` of it on another node shares them there.
func TestSTIXIndicatorCommands(t *testing.T) {
	n := startTestnet(t)
	ctx := context.Background()
	wei := indicator.Actor{Name: "wei"}
	green, err := n.Node("cn").App.Indicators.Create(ctx, wei, indicator.Input{Type: "domain", Value: "green-c2.example", Category: "malicious-code/c2-server", TLP: "GREEN"})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := n.Node("cn").App.Indicators.Create(ctx, wei, indicator.Input{Type: "ipv4", Value: "192.0.2.77", Category: "malicious-code/c2-server", TLP: "AMBER+STRICT", ShareWith: []string{"jp"}})
	if err != nil {
		t.Fatal(err)
	}
	out := run(t, n, "cn", runSTIX, "export", "--indicators", green.ID+","+strict.ID, "--team", "outside")
	if !strings.Contains(out, stix.IndicatorID(green.ID)) || strings.Contains(out, stix.IndicatorID(strict.ID)) || strings.Contains(out, "192.0.2.77") {
		t.Errorf("export for outsiders:\n%s", out)
	}
	all := run(t, n, "cn", runSTIX, "export", "--all")
	if !strings.Contains(all, stix.IndicatorID(green.ID)) || !strings.Contains(all, stix.IndicatorID(strict.ID)) {
		t.Errorf("export --all for our team:\n%s", all)
	}
	var stderr bytes.Buffer
	if err := runSTIX(ctx, []string{"export", "--all", "--incident", "cn-2026-0001", "--url", n.Node("cn").URL}, &bytes.Buffer{}, &stderr); err == nil {
		t.Error("export with --all and --incident ran")
	}

	file := filepath.Join(t.TempDir(), "bundle.json")
	os.WriteFile(file, []byte(out), 0o600)
	got := run(t, n, "kr", runSTIX, "import", file, "--as", "indicators")
	if !strings.Contains(got, "3 objects mapped: 1 indicator observables (1 added, 0 updated, 0 unchanged, 0 refused), 0 sightings recorded; 0 not mapped") ||
		!strings.Contains(got, "0 objects kept as they came (0 of them mapped in part), 0 not held before") {
		t.Errorf("import printed %q", got)
	}
	mine, err := n.Node("kr").App.Indicators.List(ctx, indicator.Filter{Author: "kr"})
	if err != nil || len(mine) != 1 || mine[0].Value != "green-c2.example" || mine[0].TLP != "GREEN" {
		t.Errorf("kr's indicators: %v %+v", err, mine)
	}
	if err := runSTIX(ctx, []string{"import", file, "--as", "reports", "--url", n.Node("kr").URL}, &bytes.Buffer{}, &stderr); err == nil {
		t.Error("import --as reports ran")
	}
}
