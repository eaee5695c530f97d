package stix

import (
	"slices"
	"testing"
	"time"

	"csirtlink/internal/observable"
	"csirtlink/internal/tlp"
)

// FuzzReadIndicator: the indicator import reads any object of a bundle with
// ReadIndicator. It never panics, and what it accepts maps back to a STIX indicator
// that reads again to the same observables, label, category, confidence and tags.
func FuzzReadIndicator(f *testing.F) {
	conf := 70
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ind, _ := IndicatorFrom(IndicatorData{ID: "ind-1", Owner: "cn", Label: tlp.Green, Category: "fraud/phishing", Confidence: &conf,
		Tags: []string{"emotet"}, Observables: []observable.Observable{{Type: observable.Domain, Value: "c2.example"}},
		Created: t0, Modified: t0, ValidFrom: t0})
	seed, _ := Marshal(ind)
	f.Add([]byte(seed))
	f.Add([]byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '192.0.2.1'] OR [url:value = 'http://x.example/a']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","confidence":101}`))
	f.Add([]byte(`{"type":"indicator","pattern":"[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']","pattern_type":"stix","labels":[""],"object_marking_refs":["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxObjectBytes {
			return
		}
		d, err := ReadIndicator(data)
		if err != nil {
			return
		}
		if len(d.Observables) == 0 {
			t.Fatal("an indicator read with no observables")
		}
		d.ID, d.Owner = "ind-1", "cn"
		if !d.Label.Valid() {
			d.Label = tlp.Amber
		}
		again, err := IndicatorFrom(d)
		if err != nil {
			t.Fatalf("read %+v, cannot write it again: %v", d, err)
		}
		raw, err := Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ReadIndicator(raw)
		if err != nil {
			t.Fatalf("written %s, cannot read it again: %v", raw, err)
		}
		if !slices.Equal(back.Observables, d.Observables) || back.Label != d.Label || back.Category != d.Category ||
			!slices.Equal(back.Tags, d.Tags) || (back.Confidence == nil) != (d.Confidence == nil) ||
			back.Confidence != nil && *back.Confidence != *d.Confidence {
			t.Fatalf("round trip: %+v\n became %+v", d, back)
		}
	})
}
