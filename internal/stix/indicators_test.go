package stix_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/exchange"
	"csirtlink/internal/indicator"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
	"csirtlink/internal/tlp"
)

type object struct {
	Type             string   `json:"type"`
	ID               string   `json:"id"`
	Revoked          bool     `json:"revoked"`
	Markings         []string `json:"object_marking_refs"`
	SightingOfRef    string   `json:"sighting_of_ref"`
	Count            int      `json:"count"`
	FirstSeen        string   `json:"first_seen"`
	LastSeen         string   `json:"last_seen"`
	WhereSightedRefs []string `json:"where_sighted_refs"`
	CreatedByRef     string   `json:"created_by_ref"`
}

func objectsOf(t *testing.T, body []byte) ([]object, []json.RawMessage) {
	t.Helper()
	b, err := stix.ParseBundle(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	var objs []object
	var raws []json.RawMessage
	for _, o := range b.Objects {
		var x object
		if err := json.Unmarshal(o.Raw, &x); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, x)
		raws = append(raws, o.Raw)
	}
	return objs, raws
}

// TestIndicatorsBundle: shared indicators and their sightings go out as a STIX bundle
// decided per object for the audience, every object valid against the OASIS schemas;
// the bundle imported on another node gives the same indicators (ours → STIX → ours is
// the identity for what we map), sightings of indicators we hold are recorded once,
// and what is not mapped is counted and listed.
func TestIndicatorsBundle(t *testing.T) {
	validate := stix.SchemaValidator(t)
	ctx := context.Background()
	n, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cn, jp := n.Node("cn"), n.Node("jp")
	wei := indicator.Actor{Name: "wei"}
	t0 := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	until := t0.Add(30 * 24 * time.Hour)
	conf := 80
	mk := func(in indicator.Input) store.Indicator {
		t.Helper()
		if in.Category == "" {
			in.Category = "malicious-code/c2-server"
		}
		from := t0
		in.ValidFrom = &from
		x, err := cn.App.Indicators.Create(ctx, wei, in)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	green := mk(indicator.Input{Type: "domain", Value: "green-c2.example", TLP: "GREEN", Tags: []string{"emotet", "botnet"},
		Description: "C2 of the <emotet> wave", Confidence: &conf, ValidUntil: &until})
	clear := mk(indicator.Input{Type: "ipv4", Value: "192.0.2.9", TLP: "CLEAR", Category: "fraud/phishing"})
	amber := mk(indicator.Input{Type: "sha256", Value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", TLP: "AMBER", ShareWith: []string{"jp"}})
	strict := mk(indicator.Input{Type: "url", Value: "http://strict.example/gate", TLP: "AMBER+STRICT", ShareWith: []string{"jp"}})
	revoked := mk(indicator.Input{Type: "email", Value: "phish@revoked.example", TLP: "GREEN"})
	if _, err := cn.App.Indicators.Revoke(ctx, wei, revoked.ID); err != nil {
		t.Fatal(err)
	}
	first, last := t0.Add(10*time.Minute), t0.Add(40*time.Minute)
	seen, err := cn.App.Indicators.Report(ctx, wei, green.ID, indicator.SightingInput{Kind: "seen", Count: 5, FirstSeen: &first, LastSeen: &last, TLP: "GREEN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cn.App.Indicators.Report(ctx, wei, green.ID, indicator.SightingInput{Kind: "seen", Count: 2}); err != nil { // AMBER+STRICT
		t.Fatal(err)
	}
	if _, err := cn.App.Indicators.Report(ctx, wei, clear.ID, indicator.SightingInput{Kind: "false-positive", TLP: "GREEN"}); err != nil {
		t.Fatal(err)
	}
	ex := cn.App.Exchange

	// Our own team: everything we hold.
	own, err := ex.ParseAudience("", "")
	if err != nil {
		t.Fatal(err)
	}
	all, err := ex.ExportSTIXIndicators(ctx, "wei", nil, true, own)
	if err != nil {
		t.Fatal(err)
	}
	objs, raws := objectsOf(t, all.Body)
	count := map[string]int{}
	for i, o := range objs {
		count[o.Type]++
		validate(o.Type, raws[i])
	}
	validate("bundle", stix.EncodeBundle(stix.NewBundleID(), stix.BundleSchemaLists(raws)))
	if count["indicator"] != 5 || count["sighting"] != 2 || count["identity"] != 1 || count["marking-definition"] != 4 || all.Withheld != 0 {
		t.Errorf("own export: %v, withheld %d; want 5 indicators, 2 sightings (no false positive), cn's identity, 4 markings", count, all.Withheld)
	}
	for _, o := range objs {
		switch {
		case o.ID == stix.IndicatorID(revoked.ID) && !o.Revoked:
			t.Errorf("the revoked indicator is not revoked: %+v", o)
		case o.Type == "indicator" && o.ID != stix.IndicatorID(revoked.ID) && o.Revoked:
			t.Errorf("%s revoked", o.ID)
		case o.ID == stix.DerivedID("sighting", seen.ID):
			if o.SightingOfRef != stix.IndicatorID(green.ID) || o.Count != 5 || !slices.Equal(o.WhereSightedRefs, []string{stix.TeamIdentityID("cn")}) ||
				o.FirstSeen != first.Format(stix.TimestampLayout) || o.LastSeen != last.Format(stix.TimestampLayout) || !slices.Equal(o.Markings, stix.Markings(tlp.Green)) {
				t.Errorf("sighting: %+v", o)
			}
		}
	}

	// Outsiders up to GREEN: egress decides each indicator and each sighting.
	out, _ := ex.ParseAudience("outside", "GREEN")
	soc, err := ex.ExportSTIXIndicators(ctx, "wei", nil, true, out)
	if err != nil {
		t.Fatal(err)
	}
	objs, raws = objectsOf(t, soc.Body)
	var ids []string
	for i, o := range objs {
		validate(o.Type, raws[i])
		ids = append(ids, o.ID)
		if l, _ := stix.StrictestMarking(o.Markings); l.Rank() > tlp.Green.Rank() {
			t.Errorf("%s marked %s went to outsiders up to GREEN", o.ID, l)
		}
	}
	for _, id := range []string{stix.IndicatorID(amber.ID), stix.IndicatorID(strict.ID)} {
		if slices.Contains(ids, id) {
			t.Errorf("%s went to outsiders", id)
		}
	}
	if soc.Indicators != 3 || soc.Sightings != 1 || soc.Withheld != 3 {
		t.Errorf("outside export: %d indicators, %d sightings, %d withheld; want 3, 1, 3 (AMBER, AMBER+STRICT, the AMBER+STRICT sighting)", soc.Indicators, soc.Sightings, soc.Withheld)
	}
	if _, err := ex.ExportSTIXIndicators(ctx, "wei", []string{"no-such"}, false, out); err == nil {
		t.Error("an unknown id exported")
	}

	// Into jp, with what we do not map beside it.
	extra := []string{
		`{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc","created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","name":"Poison Ivy","is_family":true}`,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.2']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}`,
	}
	doc := strings.Replace(string(soc.Body), `"objects":[`, `"objects":[`+strings.Join(extra, ",")+",", 1)
	res, err := jp.App.Exchange.ImportSTIXIndicators(ctx, indicator.Actor{Name: "kenji"}, []byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Imported || res.Added != 2 || res.NotMapped != 4 || res.Sightings != 0 {
		t.Errorf("import: %+v; want 2 added, 4 not mapped (malware, FOLLOWEDBY, the revoked one, cn's own sighting)", res)
	}
	whys := map[string]string{}
	for _, s := range res.Skipped {
		whys[s.ID] = s.Why
	}
	if !strings.Contains(whys["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"], "FOLLOWEDBY") || whys[stix.IndicatorID(revoked.ID)] != "revoked" ||
		!strings.Contains(whys[stix.DerivedID("sighting", seen.ID)], "federation") || whys["malware--31b940d4-6f7f-459a-80ea-9c1f17b58abc"] == "" {
		t.Errorf("skipped: %v", whys)
	}
	for _, want := range []store.Indicator{green, clear} {
		got, err := jp.App.Store.IndicatorsByValue(ctx, []string{want.Value}, 10)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(got, func(x store.Indicator) bool { return x.Author == "jp" })
		if i < 0 {
			t.Fatalf("%s not imported as jp's: %+v", want.Value, got)
		}
		g := got[i]
		wantTags := append(slices.Clone(want.Tags), exchange.STIXProvenanceTag)
		if g.Type != want.Type || g.Value != want.Value || g.Category != want.Category || g.Confidence != want.Confidence || g.TLP != want.TLP ||
			g.Description != want.Description || !g.ValidFrom.Equal(want.ValidFrom) || !equalTime(g.ValidUntil, want.ValidUntil) || !slices.Equal(g.Tags, wantTags) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", want.Value, g, want)
		}
	}
	again, err := jp.App.Exchange.ImportSTIXIndicators(ctx, indicator.Actor{Name: "kenji"}, []byte(doc), "")
	if err != nil || again.Added != 0 || again.Unchanged != 2 {
		t.Errorf("second import: %+v %v; want the 2 unchanged", again, err)
	}

	// A SOC's sighting of our indicator, in a bundle of its own: recorded once as ours,
	// saying where it came from.
	socID := "identity--1b4f5a9e-6b2c-4c3d-8e7f-0a1b2c3d4e5f"
	greenRaw := ""
	for i, o := range objs {
		if o.ID == stix.IndicatorID(green.ID) {
			greenRaw = string(raws[i])
		}
	}
	sighting := `{"type":"sighting","spec_version":"2.1","id":"sighting--ee20065d-2555-424f-ad9e-0f8428623c75","created":"2026-11-20T10:00:00.000Z","modified":"2026-11-20T10:00:00.000Z","sighting_of_ref":"` +
		stix.IndicatorID(green.ID) + `","count":7,"where_sighted_refs":["` + socID + `"],"object_marking_refs":["` + stix.MarkingID(tlp.Green) + `"]}`
	socBundle := `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` +
		`{"type":"identity","spec_version":"2.1","id":"` + socID + `","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"Example SOC"},` +
		greenRaw + "," + sighting + `]}`
	for range 2 {
		r, err := ex.ImportSTIXIndicators(ctx, wei, []byte(socBundle), "")
		if err != nil || r.Sightings != 1 || r.NotMapped != 0 {
			t.Fatalf("SOC sighting: %+v %v", r, err)
		}
	}
	v, err := cn.App.Indicators.Get(ctx, green.ID)
	if err != nil {
		t.Fatal(err)
	}
	n7 := 0
	for _, x := range v.Sightings {
		if x.Count == 7 {
			n7++
			if !strings.Contains(x.Note, "Example SOC") || !strings.Contains(x.Note, "sighting--ee20065d") || x.TLP != "GREEN" {
				t.Errorf("recorded sighting: %+v", x)
			}
		}
	}
	if n7 != 1 {
		t.Errorf("the SOC's sighting recorded %d times, want once: %+v", n7, v.Sightings)
	}
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
