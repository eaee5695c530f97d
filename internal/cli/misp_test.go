package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"csirtlink/internal/indicator"
	"csirtlink/internal/misp"
)

// TestMISPCommands: `misp export` of an incident prints a MISP event with only what its
// audience may see; `misp import --as incident` of it on a partner's node gives the
// same incident back (ours → MISP → ours); a hand-written MISP event keeps what we do
// not map byte for byte through import and export; `misp import` shares attributes as
// indicators, and `misp export --indicators` writes them as an event.
func TestMISPCommands(t *testing.T) {
	n := startTestnet(t)
	ctx := context.Background()
	out := run(t, n, "cn", runIncident, "create", "--title", "Botnet C2 & friends", "--category", "malicious-code/infected-system",
		"--severity", "high", "--tlp", "amber", "--participants", "jp", "--description", "C2 in CN, victims in JP.")
	id := regexp.MustCompile(`cn-\d{4}-\d{4}`).FindString(out)
	run(t, n, "cn", runIncident, "comment", "--observable", id, "198.51.100.7")
	run(t, n, "cn", runIncident, "comment", "--observable", "--tlp", "green", id, "c2.example")
	run(t, n, "cn", runIncident, "comment", "--tlp", "amber+strict", "--recipient", "cn", id, "Our sinkhole is at 192.0.2.1")
	run(t, n, "cn", runIncident, "comment", "--tlp", "green", id, "Takedown requested")

	own := run(t, n, "cn", runMISP, "export", "--incident", id)
	if _, err := misp.Decode([]byte(own)); err != nil {
		t.Fatalf("misp export printed no event: %v\n%s", err, own)
	}
	if !strings.Contains(own, "Our sinkhole") || !strings.Contains(own, `"tlp:amber+strict"`) {
		t.Error("the export for our own team lacks the AMBER+STRICT note")
	}
	forJP := run(t, n, "cn", runMISP, "export", "--incident", id, "--team", "jp")
	if strings.Contains(forJP, "Our sinkhole") || !strings.Contains(forJP, "198.51.100.7") {
		t.Errorf("the export for jp:\n%s", forJP)
	}

	file := filepath.Join(t.TempDir(), "event.json")
	os.WriteFile(file, []byte(forJP), 0o600)
	out = run(t, n, "jp", runMISP, "import", file, "--as", "incident", "--json")
	var res struct {
		Incident struct {
			ID, Title, Description, Category, Severity, TLP string
			Timeline                                        []struct{ Kind, Body, TLP string }
		}
		Mapped, Kept, Observables, Notes int
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	in := res.Incident
	if !strings.HasPrefix(in.ID, "jp-") || in.Title != "Botnet C2 & friends" || in.Category != "malicious-code/infected-system" || in.Severity != "high" || in.TLP != "AMBER" ||
		!strings.HasPrefix(in.Description, "C2 in CN, victims in JP.") {
		t.Errorf("imported incident %+v", in)
	}
	if res.Observables != 2 || res.Notes != 1 || res.Kept != 0 {
		t.Errorf("import: %+v", res)
	}
	var bodies []string
	for _, e := range in.Timeline {
		bodies = append(bodies, e.Kind+" "+e.Body+" "+e.TLP)
	}
	for _, want := range []string{"observable 198.51.100.7 AMBER", "observable c2.example GREEN", "comment Takedown requested GREEN"} {
		if !strings.Contains(strings.Join(bodies, "\n"), want) {
			t.Errorf("imported timeline lacks %q:\n%s", want, strings.Join(bodies, "\n"))
		}
	}

	// A MISP event as MISP writes it: what we do not map is kept and served again as it came.
	osint, err := os.ReadFile("../misp/testdata/osint-event.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, osint, 0o600)
	out = run(t, n, "kr", runMISP, "import", file, "--as", "incident")
	krID := regexp.MustCompile(`kr-\d{4}-\d{4}`).FindString(out)
	if !strings.Contains(out, "(TLP:CLEAR): 3 mapped (2 observables, 0 comments), 6 kept as they came") {
		t.Errorf("import of a MISP event printed %q", out)
	}
	again := run(t, n, "kr", runMISP, "export", "--incident", krID, "--team", "outside")
	d, _ := misp.Decode(osint)
	for _, k := range misp.PlanIncident(d).Raw {
		if !strings.Contains(again, string(k.Raw)) {
			t.Errorf("the export does not serve the kept %s byte for byte:\n%s", k.Kind, k.Raw)
		}
	}

	// As shared indicators: what maps is shared, the rest listed with why.
	out = run(t, n, "kr", runMISP, "import", file)
	for _, want := range []string{"4 attributes mapped: 4 added, 0 updated, 0 unchanged, 0 refused; 3 not imported",
		"not imported: link 57f4f7ee-c7f8-4c28-9a63-4d44950d210f", "not imported: url 57f4f7ee-3b4d-4c1e-9a8b-4d44950d210f: deleted",
		"1 MISP sightings not imported"} {
		if !strings.Contains(out, want) {
			t.Errorf("misp import printed %q, lacking %q", out, want)
		}
	}
	mine, err := n.Node("kr").App.Indicators.List(ctx, indicator.Filter{Author: "kr"})
	if err != nil || len(mine) != 4 {
		t.Fatalf("kr's indicators: %v %+v", err, mine)
	}
	var ids []string
	for _, x := range mine {
		ids = append(ids, x.ID)
	}
	ev := run(t, n, "kr", runMISP, "export", "--indicators", strings.Join(ids, ","), "--team", "outside")
	back, err := misp.Decode([]byte(ev))
	if err != nil || len(back.Attributes) != 4 { // CLEAR and GREEN: all go to outsiders
		t.Fatalf("export of indicators: %v\n%s", err, ev)
	}
	for _, x := range mine {
		if !strings.Contains(ev, `"uuid":"`+x.ID+`"`) || !strings.Contains(ev, x.Value) {
			t.Errorf("indicator %s %s not in the event", x.ID, x.Value)
		}
	}

	// Sharing groups name teams: the AMBER+STRICT network goes to kr, a peer in the group.
	sg, _ := os.ReadFile("../misp/testdata/sharing-group-event.json")
	os.WriteFile(file, sg, 0o600)
	out = run(t, n, "cn", runMISP, "import", file, "--json")
	var ir struct {
		Added   int
		Skipped []struct{ Type, Why string }
	}
	json.Unmarshal([]byte(out), &ir)
	if ir.Added != 1 || len(ir.Skipped) != 2 || !strings.Contains(out, "TLP:RED names none of our peers") {
		t.Errorf("sharing group import: %s", out)
	}
	net, err := n.Node("cn").App.Indicators.List(ctx, indicator.Filter{Type: "cidr", Author: "cn"})
	if err != nil || len(net) != 1 || net[0].TLP != "AMBER+STRICT" || strings.Join(net[0].ShareWith, ",") != "kr" || net[0].Category != "malicious-code/c2-server" {
		t.Errorf("sharing group indicator: %v %+v", err, net)
	}

	// A document we refuse: the error names the field, nothing is written.
	os.WriteFile(file, []byte(`{"Event":{"uuid":"57f4f6d9-cd20-458b-84fd-109ec0a83869","info":"x","Attribute":[{"uuid":"nope","type":"md5","value":"x"}]}}`), 0o600)
	nd := n.Node("cn")
	var errOut bytes.Buffer
	err = runMISP(ctx, []string{"import", file, "--as", "incident", "--url", nd.URL, "--token", nd.Token}, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(err.Error(), "Event.Attribute[0].uuid") {
		t.Errorf("a bad event: %v", err)
	}

	// A feed token: printed once, its hash for the configuration on stderr.
	var tokOut, tokErr bytes.Buffer
	if err := runToken(ctx, []string{"create", "--misp-feed"}, &tokOut, &tokErr); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(tokOut.String())
	if len(tok) < 32 || !strings.Contains(tokErr.String(), misp.HashToken(tok)) || strings.Contains(tokErr.String(), `"token_hash": "`+tok) {
		t.Errorf("token create --misp-feed: %q %q", tokOut.String(), tokErr.String())
	}
}
