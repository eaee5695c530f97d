// Package exchangetest holds the incident the STIX and IODEF mapping tests export: one
// of every observable type, under every label, a comment and a status change.
package exchangetest

import (
	"time"

	"csirtlink/internal/observable"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// Incident returns a fresh copy: entries 0-9 are observables, 10 a comment, 11 a status.
func Incident() store.Incident {
	t0 := time.Date(2026, 11, 20, 8, 30, 0, 123456000, time.UTC)
	return store.Incident{
		ID: "cn-2026-0001", Coordinator: "cn", Title: "Botnet C2 <in> three networks", Description: "C2 in CN, victims in JP & KR.",
		Category: "malicious-code/infected-system", Severity: "high", TLP: "AMBER", Status: "in_progress",
		CreatedAt: t0, UpdatedAt: t0.Add(time.Hour),
		Participants: []store.Participant{{Team: "cn"}, {Team: "jp"}, {Team: "kr"}},
		Timeline: []store.Entry{
			Observable("01", observable.IPv4, "198.51.100.7", "AMBER", t0),
			Observable("02", observable.IPv6, "2001:db8::7", "GREEN", t0),
			Observable("03", observable.CIDR, "203.0.113.0/24", "CLEAR", t0),
			Observable("04", observable.CIDR, "2001:db8:1::/48", "AMBER", t0),
			Observable("05", observable.Domain, "xn--bcher-kva.example", "AMBER+STRICT", t0),
			Observable("06", observable.URL, "http://c2.example/gate.php?id=1&x=<y>", "RED", t0),
			Observable("07", observable.Email, "phish@bad.example", "AMBER", t0),
			Observable("08", observable.MD5, "d41d8cd98f00b204e9800998ecf8427e", "AMBER", t0),
			Observable("09", observable.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "AMBER", t0),
			Observable("10", observable.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "AMBER", t0),
			{ID: "11", Team: "kr", Author: "minji", Kind: "comment", Body: "Sinkholed; 1,200 bots seen.\nMore tomorrow.", TLP: "GREEN", CreatedAt: t0.Add(2 * time.Minute)},
			{ID: "12", Team: "cn", Author: "wei", Kind: "status", Data: `{"status":"in_progress"}`, TLP: "AMBER", CreatedAt: t0.Add(3 * time.Minute)},
		},
	}
}

// Observable is an observable entry by jp's hanako, a minute after t0.
func Observable(id string, typ observable.Type, v, label string, t0 time.Time) store.Entry {
	return store.Entry{ID: id, IncidentID: "cn-2026-0001", Team: "jp", Author: "hanako", Kind: "observable", Body: v, TLP: label,
		Data: wire.EncodeData(wire.ObservableData{Type: string(typ), Value: v}), CreatedAt: t0.Add(time.Minute)}
}
