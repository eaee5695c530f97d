package cvd

import (
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// TestFoldRemoval: every node folds a removal by the same rules, whoever sent it: the
// owner alone removes vulnerabilities, products and coordinators (not itself), a
// vendor is removed by its own coordinator once, a case keeps one vulnerability and
// one product, and a removal names exactly one item. What goes with the item goes too.
func TestFoldRemoval(t *testing.T) {
	at := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	base := func() Case {
		return Case{ID: "cn-2026-v0001", Owner: "cn", Participants: []string{"cn", "jp", "kr"},
			Vulnerabilities: []Vulnerability{{ID: "v1"}, {ID: "v2"}}, Products: []Product{{ID: "p1"}, {ID: "p2"}},
			Embargo:  Embargo{Agreed: []string{"cn", "kr"}, Objections: []Objection{{Team: "kr"}}},
			Handoff:  &Handoff{From: "cn", To: "kr"},
			Statuses: []Status{{Team: "jp", VendorRef: "oem", Vulnerability: "v2", Product: "p1"}, {Team: "jp", VendorRef: "oem", Vulnerability: "v1", Product: "p2"}}}
	}
	for _, c := range []struct {
		name string
		team string
		d    wire.CVDData
		bad  string // "" when allowed
		then func(Case) bool
	}{
		{"the owner removes v2", "cn", wire.CVDData{Vulnerability: "v2"}, "", func(k Case) bool {
			return len(k.Vulnerabilities) == 1 && len(k.Statuses) == 1 && k.Statuses[0].Vulnerability == "v1"
		}},
		{"the owner removes p2", "cn", wire.CVDData{Product: "p2"}, "", func(k Case) bool { return len(k.Products) == 1 && len(k.Statuses) == 1 }},
		{"the owner removes kr", "cn", wire.CVDData{Team: "kr"}, "", func(k Case) bool {
			return strings.Join(k.Participants, ",") == "cn,jp" && strings.Join(k.Embargo.Agreed, ",") == "cn" &&
				len(k.Embargo.Objections) == 0 && k.Handoff == nil
		}},
		{"jp removes its vendor", "jp", wire.CVDData{VendorRef: "oem", Vendor: "OEM KK"}, "", func(k Case) bool {
			return len(k.RemovedVendors) == 1 && k.vendorRemoved("jp", "oem") && !k.vendorRemoved("kr", "oem") && len(k.Statuses) == 2
		}},
		{"a participant removes a vulnerability", "jp", wire.CVDData{Vulnerability: "v2"}, "only the owner", nil},
		{"a participant removes a coordinator", "jp", wire.CVDData{Team: "kr"}, "only the owner", nil},
		{"the owner removes itself", "cn", wire.CVDData{Team: "cn"}, "hands the case off", nil},
		{"an unknown vulnerability", "cn", wire.CVDData{Vulnerability: "v9"}, "not in case", nil},
		{"two items", "cn", wire.CVDData{Vulnerability: "v2", Product: "p2"}, "exactly one", nil},
		{"nothing", "cn", wire.CVDData{}, "exactly one", nil},
		{"a removal with a status", "jp", wire.CVDData{VendorRef: "oem", Status: "fixed"}, "exactly one", nil},
		{"a vendor name without a reference", "cn", wire.CVDData{Vendor: "OEM KK", Product: "p1"}, "exactly one", nil},
	} {
		k := base()
		err := foldRemoval(&k, store.CVDEntry{Team: c.team, CreatedAt: at}, c.d)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s: %v, want %q", c.name, err, c.bad)
		case c.then != nil && !c.then(k):
			t.Errorf("%s: folded %+v", c.name, k)
		}
	}
	// The last vulnerability and product stay.
	k := base()
	k.Vulnerabilities, k.Products = k.Vulnerabilities[:1], k.Products[:1]
	for _, d := range []wire.CVDData{{Vulnerability: "v1"}, {Product: "p1"}} {
		if err := foldRemoval(&k, store.CVDEntry{Team: "cn", CreatedAt: at}, d); err == nil || !strings.Contains(err.Error(), "at least one") {
			t.Errorf("%+v: %v", d, err)
		}
	}
	// A vendor already cut off by its coordinator folds once, whatever the relay order.
	k = base()
	for range 2 {
		if err := foldRemoval(&k, store.CVDEntry{Team: "jp", CreatedAt: at}, wire.CVDData{VendorRef: "oem"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(k.RemovedVendors) != 1 {
		t.Errorf("removed vendors %+v", k.RemovedVendors)
	}
	// The timeline names what an entry removed: a shared vendor by its name.
	e := Entry{Kind: KindRemove, Data: wire.EncodeCVDData(wire.CVDData{VendorRef: "oem", Vendor: "OEM KK"})}
	if r := e.Removal(); r == nil || r.What != "vendor" || r.ID != "OEM KK" {
		t.Errorf("removal %+v", r)
	}
	if r := (Entry{Kind: KindComment}).Removal(); r != nil {
		t.Errorf("a comment removed %+v", r)
	}
}

// FuzzFoldRemoval: whatever data a peer's removal carries, the fold never panics and
// never leaves a case without its owner, a vulnerability or a product.
func FuzzFoldRemoval(f *testing.F) {
	for _, d := range []wire.CVDData{{Vulnerability: "v2"}, {Product: "p1"}, {Team: "kr"}, {Team: "cn"}, {VendorRef: "oem", Vendor: "OEM KK"}, {Vulnerability: "v1", Team: "jp"}} {
		f.Add(wire.EncodeCVDData(d), "cn")
		f.Add(wire.EncodeCVDData(d), "jp")
	}
	f.Fuzz(func(t *testing.T, data, team string) {
		d, err := wire.DecodeCVDData(data)
		if err != nil {
			return
		}
		k := Case{ID: "cn-2026-v0001", Owner: "cn", Participants: []string{"cn", "jp", "kr"},
			Vulnerabilities: []Vulnerability{{ID: "v1"}, {ID: "v2"}}, Products: []Product{{ID: "p1"}, {ID: "p2"}}}
		for range 3 { // again on what the last fold left
			if foldRemoval(&k, store.CVDEntry{Team: team}, d) != nil {
				return
			}
			if len(k.Vulnerabilities) == 0 || len(k.Products) == 0 || !slices.Contains(k.Participants, "cn") {
				t.Fatalf("%s by %s left %+v", data, team, k)
			}
			if d.VendorRef == "" && team != "cn" {
				t.Fatalf("%s by %s was folded", data, team)
			}
		}
	})
}
