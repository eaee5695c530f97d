package sqlstore

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/pgtest"
	"csirtlink/internal/store"
)

// fillEveryTable writes at least one record into every table of a node through the store.
func fillEveryTable(t *testing.T, db *DB) {
	t.Helper()
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateUser(ctx, store.User{ID: "u1", Name: "alice", DisplayName: "Alice 愛麗絲", Role: "admin", CreatedAt: at}))
	must(db.CreateToken(ctx, store.Token{ID: "t1", UserID: "u1", Hash: "h1", Label: "ci", CreatedAt: at, ExpiresAt: &at}))
	_, err := db.NextCounter(ctx, "incident-2026")
	must(err)
	in := store.Incident{ID: "cn-2026-0001", Coordinator: "cn", Title: "Botnet", Description: "C2 in JP", Category: "botnet",
		Severity: "high", TLP: "AMBER", Status: "open", CreatedBy: "alice", CreatedAt: at, UpdatedAt: at, LastPosition: 1,
		Participants: []store.Participant{{Team: "cn", Status: "acknowledged", AcknowledgedAt: &at, UpdatedAt: at}, {Team: "jp", Status: "invited", UpdatedAt: at}}}
	must(db.CreateIncident(ctx, in))
	must(db.PutEntry(ctx, store.Entry{ID: "e1", IncidentID: in.ID, Position: 1, Team: "cn", Author: "alice", Kind: "comment",
		Body: "takedown requested", TLP: "AMBER", Recipients: []string{"jp"}, CreatedAt: at, Signature: []byte{0, 0xff, 1}}))
	must(db.EnsureLink(ctx, "jp"))
	must(db.Enqueue(ctx, store.OutboxItem{Peer: "jp", Seq: 1, Type: "incident.upsert", ObjectID: in.ID, Envelope: []byte{0, 1, 0xfe}, CreatedAt: at}))
	must(db.PutInbox(ctx, store.InboxItem{Origin: "jp", Seq: 1, Digest: []byte{9}, Type: "entry.submit", ObjectID: in.ID, Status: "applied",
		ReceivedAt: at, Envelope: []byte("{}"), Receipt: []byte{0}}))
	_, err = db.PutAggregate(ctx, store.Aggregate{Team: "jp", Period: "2026Q1", At: at, Data: []byte(`{"v":1}`), ReceivedAt: at})
	must(err)
	must(db.AddRefusal(ctx, store.Refusal{ID: "r1", At: at, Peer: "kr", Remote: "203.0.113.9", Reason: "tampered", Detail: "bad signature"}))
	must(db.PutAudit(ctx, store.AuditRecord{Seq: 1, At: at, Actor: "alice", Action: "incident.create", Object: in.ID, PrevHash: "", Hash: "h1"}))
	p := store.Page{ID: "jp-2026-p0001", From: "jp", Severity: "critical", Summary: "DDoS", TLP: "AMBER", CreatedBy: "ken", CreatedAt: at,
		Deliveries: []store.Delivery{{Team: "cn", State: "delivered", SentAt: at, DeliveredAt: &at, Receipt: []byte{1, 0}}}}
	must(db.CreatePage(ctx, p))
	must(db.PutEscalation(ctx, store.Escalation{PageID: p.ID, Policy: "{}", NextAt: &at, StartedAt: at}))
	_, err = db.AddNotification(ctx, store.Notification{ID: "n1", PageID: p.ID, User: "alice", Channel: "console", Address: "alice",
		DedupeKey: "k1", State: "pending", CreatedAt: at})
	must(err)
	must(db.PutContact(ctx, store.Contact{ID: "c1", User: "alice", Channel: "email", Address: "alice@cn.example", CreatedAt: at}))
	must(db.PutAckCode(ctx, store.AckCode{CodeHash: "ch1", PageID: p.ID, Team: "cn", User: "alice", Purpose: "notify", ExpiresAt: at}))
	must(db.PutRotation(ctx, "r1", []byte(`{"id":"r1"}`), at))
	must(db.PutOverride(ctx, "o1", "r1", []byte(`{"id":"o1"}`), at))
	must(db.PutPolicy(ctx, "default", []byte(`{"id":"default"}`), true, at))
	must(db.CreateCommCheck(ctx, store.CommCheck{ID: "cc1", PageID: p.ID, Teams: []string{"jp"}, CreatedBy: "alice", CreatedAt: at}))
	_, err = db.TryLease(ctx, "engine", "old-node", at, time.Hour)
	must(err)
	must(db.CreateSession(ctx, store.Session{Hash: "s1", UserID: "u1", Created: at, LastSeen: at, Expires: at}))
	must(db.PutTOTP(ctx, store.TOTP{UserID: "u1", Secret: "JBSWY3DPEHPK3PXP", Enabled: true, CreatedAt: at}))
	must(db.PutPrefs(ctx, store.Preferences{UserID: "u1", Language: "zh-Hans", Timezone: "Asia/Shanghai"}))
	must(db.PutPartner(ctx, store.Partner{ID: "tw", Status: "pending", Doc: []byte(`{"id":"tw"}`), CreatedAt: at, UpdatedAt: at}))
	must(db.PutPartnerKey(ctx, store.PartnerKey{Team: "tw", PublicKey: "k1", AddedAt: at, RetiredAt: &at, GraceUntil: &at, Reason: "rotated"}))
	must(db.PutSetting(ctx, "constituency", []byte(`{"version":1}`), at))
	_, err = db.PutPeerOnCall(ctx, store.PeerOnCall{Team: "jp", Data: []byte(`{}`), At: at, ReceivedAt: at})
	must(err)
	must(db.FinishIdempotency(ctx, store.IdempotencyRecord{UserID: "u1", Key: "k1", Method: "POST", Path: "/api/v1/incidents",
		RequestHash: "rh", State: "done", Status: 201, ContentType: "application/json", Body: []byte(`{}`), CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}))
	// Bulk feeds (migration 0013).
	must(db.CreateOwner(ctx, store.NetOwner{ID: "isp", Name: "ISP 株式会社", Networks: []string{"198.51.100.0/24"},
		Contacts: []store.OwnerContact{{Email: "abuse@isp.example", Language: "ja", Format: "csv", Schedule: "immediate"}}, CreatedAt: at, UpdatedAt: at}))
	must(db.CreateFeedRun(ctx, store.FeedRun{ID: "run1", Format: "shadowserver", TLP: "AMBER", CreatedBy: "alice", State: store.RunRunning, StartedAt: at, UpdatedAt: at}))
	must(db.AddFeedChunk(ctx, store.FeedChunk{RunID: "run1", Seq: 1, Kind: store.ChunkOwner, Target: "isp", Events: 1, Data: []byte{0, 1, 2}}, at))
	// Routing workers on JetStream (migration 0017).
	_, err = db.RecordFeedBatch(ctx, store.FeedBatch{RunID: "run1", Seq: 1, Events: 1, RoutedOwners: 1, Owners: map[string]int64{"isp": 1},
		RoutedBy: "worker-1", RoutedAt: at})
	must(err)
	must(db.SealFeedRun(ctx, store.FeedSeal{RunID: "run1", Batches: 1, Errors: []store.FeedRowError{{Line: 2, Field: "ip", Message: "bad"}}, SealedAt: at}))
	// Shared indicators and sightings (migration 0009).
	must(db.PutIndicator(ctx, store.Indicator{ID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", Author: "cn", Version: 1, State: store.IndicatorActive,
		Type: "ipv4", Value: "198.51.100.7", Category: "malicious-code/c2-server", Confidence: 80, TLP: "AMBER", ShareWith: []string{"jp"},
		Audience: []string{"jp"}, Tags: []string{"c2"}, ValidFrom: at, ValidUntil: &at, CreatedBy: "alice", CreatedAt: at, Modified: at, ReceivedAt: at}))
	must(db.PutHolder(ctx, "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "jp", 1, at))
	must(db.PutUnsent(ctx, "3f2504e0-4f89-41d3-9a0c-0305e82c3301", 1, at))
	must(db.PutFeedServed(ctx, "soc", []string{"3f2504e0-4f89-41d3-9a0c-0305e82c3301"}, at))
	_, err = db.PutSighting(ctx, store.Sighting{ID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", IndicatorID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
		Team: "jp", Kind: store.SightingSeen, Count: 3000, FirstSeen: &at, LastSeen: &at, TLP: "AMBER+STRICT", Recipients: []string{"cn"}, At: at, ReceivedAt: at})
	must(err)
	must(db.CreateFeedRun(ctx, store.FeedRun{ID: "in-jp-run9", Format: "shadowserver", TLP: "AMBER", CreatedBy: "jp", State: store.RunRunning,
		StartedAt: at, UpdatedAt: at, Origin: "jp", SourceRun: "run9"}))
	must(db.AddFeedDelivery(ctx, store.FeedDelivery{RunID: "run1", Kind: store.DeliverOwner, Target: "isp", Contact: "abuse@isp.example",
		State: store.DeliveryReported, DueAt: at, ReportID: "rep1", Events: 1, CreatedAt: at, UpdatedAt: at}))
	must(db.CreateOwnerReport(ctx, store.OwnerReport{ID: "rep1", OwnerID: "isp", Contact: "abuse@isp.example", Language: "ja", Format: "csv",
		Encrypted: true, Events: 1, State: store.ReportSent, Attempts: 1, NextAt: at, CreatedAt: at, UpdatedAt: at, SentAt: &at}))
	// What an owner report carried, and a resend of it (migration 0019).
	must(db.AddOwnerReportRuns(ctx, []store.OwnerReportRun{{ReportID: "rep1", RunID: "run1", SeqFrom: 1, SeqTo: 3, Events: 1}}))
	must(db.CreateOwnerReport(ctx, store.OwnerReport{ID: "rep2", OwnerID: "isp", Contact: "abuse@isp.example", Language: "ja", Format: "csv",
		State: store.ReportPending, NextAt: at, CreatedAt: at, UpdatedAt: at, ResendOf: "rep1"}))
	must(db.AddOwnerReportRuns(ctx, []store.OwnerReportRun{{ReportID: "rep2", RunID: "run1", SeqFrom: 1, SeqTo: 3, Events: 1}}))
	// Vulnerability coordination (migration 0010).
	must(db.PutCVDCase(ctx, store.CVDCase{ID: "cn-2026-v0001", Owner: "cn", Title: "Router RCE", State: []byte(`{"id":"cn-2026-v0001"}`),
		Private: []byte(`{"reporter":{"name":"R"}}`), LastPosition: 1, CreatedAt: at, UpdatedAt: at}))
	must(db.PutCVDEntry(ctx, store.CVDEntry{ID: "ce1", CaseID: "cn-2026-v0001", Position: 1, Team: "cn", Author: "alice", Kind: "comment",
		Body: "vendor contacted", TLP: "AMBER", CreatedAt: at, Signature: []byte{1, 0xff}}))
	must(db.PutCVDVendor(ctx, store.CVDVendor{ID: "vd1", CaseID: "cn-2026-v0001", Name: "芯片 Co", Contact: "PSIRT", Email: "psirt@chip.example",
		Products: []string{"p1"}, CreatedBy: "alice", CreatedAt: at}))
	// TAXII 2.1 server and client (migration 0015).
	must(db.EnsureTAXIICollection(ctx, store.TAXIICollection{ID: "col1", Title: "共有 indicators", Description: "d"}))
	_, err = db.AddTAXIIObjects(ctx, "col1", []store.TAXIIObject{{ID: "indicator--3f2504e0-4f89-41d3-9a0c-0305e82c3301", Version: at,
		SpecVersion: "2.1", Type: "indicator", TLP: "GREEN", Source: "local", Raw: []byte(`{"type":"indicator","name":"ü"}`)}}, at)
	must(err)
	must(db.PutTAXIIConsumer(ctx, store.TAXIIConsumer{Name: "soc", PasswordHash: "$argon2id$x", TokenHash: "h2", Ceiling: "GREEN", CanWrite: true,
		CreatedAt: at, DisabledAt: &at, LastSeenAt: &at}))
	must(db.PutTAXIIStatus(ctx, "st1", "soc", at, []byte(`{"id":"st1"}`)))
	must(db.PutTAXIISource(ctx, store.TAXIISource{ID: "src1", URL: "https://taxii.example/api/", Collection: "c", Username: "u", Secret: "s",
		TLP: "AMBER", Interval: time.Hour, NextAdded: "2026-03-01T09:00:00.000000Z", LastPullAt: &at, LastOKAt: &at, LastCount: 2, Total: 5,
		LastError: "e", CreatedAt: at}))
	// STIX objects an import kept unmapped (migration 0016).
	_, err = db.AddSTIXKept(ctx, []store.STIXKeptObject{{ID: "k1", STIXID: "malware--3f2504e0-4f89-41d3-9a0c-0305e82c3301", Type: "malware",
		Version: at, TLP: "AMBER", Digest: "d1", ImportedBy: "alice", ImportedAt: at, Source: "bundle--3f2504e0-4f89-41d3-9a0c-0305e82c3302",
		Why: "type malware is not mapped", Raw: []byte(`{"type":"malware","name":"蠕虫"}`)}})
	must(err)
	// Vendor mail (migration 0020).
	must(db.AddCVDVendorMessage(ctx, store.CVDVendorMessage{ID: "vm1", CaseID: "cn-2026-v0001", VendorID: "vd1", Direction: "in",
		Address: "psirt@chip.example", Subject: "Re: case", Body: "Patched in 3.2.", Author: "芯片 Co", CreatedAt: at}))
}

// TestCopySQLiteToPostgres moves a node with a record in every table from SQLite to
// PostgreSQL, and checks the counts, the records themselves, and that a second copy
// into the now non-empty target is refused.
func TestCopySQLiteToPostgres(t *testing.T) {
	ctx := t.Context()
	src := openSQLite(t, filepath.Join(t.TempDir(), "node.db"))
	defer src.Close()
	fillEveryTable(t, src)
	dsn := pgtest.DSN(t)
	dst := openPostgres(t, dsn)

	counts, err := src.CopyTo(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	order, err := src.tableOrder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != len(order) {
		t.Fatalf("%d tables reported, %d in the database", len(counts), len(order))
	}
	done := map[string]bool{}
	for _, c := range counts {
		switch {
		case c.Skipped != "":
			if notCopied[c.Table] == "" {
				t.Errorf("table %s skipped: %s", c.Table, c.Skipped)
			}
		case c.Source == 0:
			// Every table holds a record here, so that a table the copy mishandles shows:
			// a new table needs a record in fillEveryTable.
			t.Errorf("table %s: no rows in the source; give it one in fillEveryTable", c.Table)
		case c.Source != c.Target:
			t.Errorf("table %s: %d rows copied into %d", c.Table, c.Source, c.Target)
		}
		done[c.Table] = true
	}
	// Each table comes after the tables it references.
	pos := map[string]int{}
	for i, c := range counts {
		pos[c.Table] = i
	}
	for _, pair := range [][2]string{{"users", "tokens"}, {"incidents", "entries"}, {"pages", "deliveries"}, {"users", "console_sessions"}} {
		if pos[pair[0]] > pos[pair[1]] {
			t.Errorf("%s copied after %s, which references it", pair[0], pair[1])
		}
	}

	// The records read back the same through the store.
	same := func(what string, get func(db *DB) (any, error)) {
		t.Helper()
		a, err := get(src)
		if err != nil {
			t.Fatal(err)
		}
		b, err := get(dst)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s differs after the copy:\n sqlite   %+v\n postgres %+v", what, a, b)
		}
	}
	same("incident", func(db *DB) (any, error) { return db.GetIncident(ctx, "cn-2026-0001") })
	same("timeline", func(db *DB) (any, error) { return db.Timeline(ctx, "cn-2026-0001") })
	same("page", func(db *DB) (any, error) { return db.GetPage(ctx, "jp-2026-p0001") })
	same("outbox", func(db *DB) (any, error) { return db.Sent(ctx, "jp") })
	same("inbox", func(db *DB) (any, error) { return db.GetInbox(ctx, "jp", 1) })
	same("audit", func(db *DB) (any, error) { return db.ListAudit(ctx, 0, 10) })
	same("link", func(db *DB) (any, error) { return db.GetLink(ctx, "jp") })
	same("policies", func(db *DB) (any, error) {
		docs, def, err := db.Policies(ctx)
		return []any{docs, def}, err
	})
	same("sessions", func(db *DB) (any, error) {
		s, u, err := db.SessionByHash(ctx, "s1", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
		return []any{s, u}, err
	})
	same("counter", func(db *DB) (any, error) { return db.NextCounter(ctx, "incident-2026") })
	// The old node's engine lease stays behind: the new database's engine starts at once.
	if ok, err := dst.TryLease(ctx, "engine", "new-node", time.Date(2026, 3, 1, 9, 1, 0, 0, time.UTC), time.Minute); err != nil || !ok {
		t.Errorf("the new node could not take the engine lease: %v, %v", ok, err)
	}

	_, err = src.CopyTo(ctx, dst)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a second copy into the same database: %v; want a refusal, the target not being empty", err)
	}
	if _, err := dst.CopyTo(ctx, src); err == nil {
		t.Fatal("a copy into SQLite was accepted")
	}
}
