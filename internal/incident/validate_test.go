package incident

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

var now = time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)

func goodIncident() store.Incident {
	ack := now.Add(-time.Hour)
	return store.Incident{ID: "cn-2026-0007", Coordinator: "cn", Title: "Botnet C2 across borders", Description: "C2 in jp",
		Category: "malicious-code/infected-system", Severity: "high", TLP: "AMBER", Status: Open, CreatedBy: "wang",
		CreatedAt: now.Add(-time.Hour), UpdatedAt: now,
		Participants: []store.Participant{{Team: "cn", Status: Acknowledged, AcknowledgedAt: &ack, UpdatedAt: ack},
			{Team: "jp", Status: Invited, UpdatedAt: ack}, {Team: "kr", Status: Invited, UpdatedAt: ack}}}
}

// wantField checks that err is a problem with field.
func wantField(t *testing.T, name string, err error, field string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Field != field {
		t.Errorf("%s: got %v, want a problem with field %q", name, err, field)
	}
}

// Every rule of an incident, as a coordinator's snapshot must obey it on arrival at jp.
func TestValidIncident(t *testing.T) {
	if err := validIncident(goodIncident(), "jp", now); err != nil {
		t.Fatalf("a good incident: %v", err)
	}
	many := make([]store.Participant, 58000)
	for i := range many {
		many[i] = store.Participant{Team: "cn", Status: Invited}
	}
	for name, c := range map[string]struct {
		edit  func(*store.Incident)
		field string
	}{
		"58,000 participants":      {func(in *store.Incident) { in.Participants = many }, "participants"},
		"65 participants":          {func(in *store.Incident) { in.Participants = many[:maxParticipants+1] }, "participants"},
		"no participants":          {func(in *store.Incident) { in.Participants = nil }, "participants"},
		"a participant not a team": {func(in *store.Incident) { in.Participants[2].Team = "KR<script>" }, "participants"},
		"a participant twice":      {func(in *store.Incident) { in.Participants[2].Team = "jp" }, "participants"},
		"a participant status":     {func(in *store.Incident) { in.Participants[1].Status = "owner" }, "participants"},
		"a participant from 9999":  {func(in *store.Incident) { in.Participants[1].UpdatedAt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }, "updated_at"},
		"acknowledged in 9999": {func(in *store.Incident) {
			at := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
			in.Participants[0].AcknowledgedAt = &at
		}, "acknowledged_at"},
		"without its coordinator":    {func(in *store.Incident) { in.Participants[0].Team = "tw" }, "participants"},
		"not for us":                 {func(in *store.Incident) { in.Participants[1].Team = "tw" }, "participants"},
		"another team's id":          {func(in *store.Incident) { in.ID = "cn-x-2026-0007" }, "id"},
		"an id of another shape":     {func(in *store.Incident) { in.ID = "cn-2026-7" }, "id"},
		"a coordinator not a team":   {func(in *store.Incident) { in.Coordinator, in.ID = "C N", "C N-2026-0007" }, "coordinator"},
		"a long title":               {func(in *store.Incident) { in.Title = strings.Repeat("長", maxTitle+1) }, "title"},
		"a title over two lines":     {func(in *store.Incident) { in.Title = "Botnet\nC2" }, "title"},
		"a title with an override":   {func(in *store.Incident) { in.Title = "Botnet \u202Egnp.exe" }, "title"},
		"a description with escapes": {func(in *store.Incident) { in.Description = "\x1b]0;owned\x07" }, "description"},
		"a long description":         {func(in *store.Incident) { in.Description = strings.Repeat("x", maxDescription+1) }, "description"},
		"an unknown category":        {func(in *store.Incident) { in.Category = "availability/earthquake" }, "category"},
		"an unknown severity":        {func(in *store.Incident) { in.Severity = "apocalyptic" }, "severity"},
		"a TLP not canonical":        {func(in *store.Incident) { in.TLP = "tlp:amber" }, "tlp"},
		"an unknown TLP":             {func(in *store.Incident) { in.TLP = "WHITE" }, "tlp"},
		"an unknown status":          {func(in *store.Incident) { in.Status = "solved" }, "status"},
		"no author":                  {func(in *store.Incident) { in.CreatedBy = "" }, "created_by"},
		"created in 9999":            {func(in *store.Incident) { in.CreatedAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) }, "created_at"},
		"updated an hour ahead":      {func(in *store.Incident) { in.UpdatedAt = now.Add(time.Hour) }, "updated_at"},
		"created before 2000":        {func(in *store.Incident) { in.CreatedAt = time.Time{} }, "created_at"},
	} {
		in := goodIncident()
		c.edit(&in)
		wantField(t, name, validIncident(in, "jp", now), c.field)
	}
}

func entry(kind, body, label string, recipients []string, data string) store.Entry {
	return store.Entry{ID: "8f14e45fceea167a5a36dedd4bea2543", IncidentID: "cn-2026-0007", Team: "jp", Author: "tanaka",
		Kind: kind, Body: body, TLP: label, Recipients: recipients, Data: data, CreatedAt: now.Add(-time.Minute)}
}

func TestValidEntry(t *testing.T) {
	in := goodIncident()
	obs := wire.EncodeData(wire.ObservableData{Type: "ipv4", Value: "198.51.100.7"})
	good := map[string]store.Entry{
		"comment":              entry(KindComment, "Takedown requested", "AMBER", nil, ""),
		"observable":           entry(KindObservable, "198.51.100.7", "GREEN", nil, obs),
		"participation":        entry(KindParticipation, "", "AMBER", nil, `{"status":"working"}`),
		"RED naming cn":        entry(KindComment, "for cn", "RED", []string{"cn", "jp"}, ""),
		"AMBER+STRICT, all":    entry(KindComment, "x", "AMBER+STRICT", []string{"cn", "jp", "kr"}, ""),
		"a comment over lines": entry(KindComment, "line 1\r\nline 2\ttabbed", "CLEAR", nil, ""),
	}
	status := entry(KindStatus, "C2 down", "AMBER", nil, `{"status":"mitigated"}`)
	status.Team = "cn"
	good["status"] = status
	invite := entry(KindInvitation, "", "RED", []string{"cn", "jp", "kr", "tw"}, `{"team":"tw"}`)
	invite.Team = "cn"
	good["an invitation naming the team that joins"] = invite
	for name, e := range good {
		for _, holder := range []string{"jp", "cn"} {
			if err := validEntry(e, in, holder, now); err != nil {
				t.Errorf("%s, held by %s: %v", name, holder, err)
			}
		}
	}

	year9999 := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, c := range map[string]struct {
		e      store.Entry
		edit   func(*store.Entry)
		holder string
		field  string
	}{
		"RED not naming the holder":          {good["RED naming cn"], nil, "kr", "recipients"},
		"AMBER+STRICT not naming the holder": {entry(KindComment, "x", "AMBER+STRICT", []string{"cn", "jp"}, ""), nil, "kr", "recipients"},
		"RED not naming the coordinator":     {entry(KindComment, "x", "RED", []string{"jp", "kr"}, ""), nil, "kr", "recipients"},
		"RED naming no one":                  {entry(KindComment, "x", "RED", nil, ""), nil, "jp", "recipients"},
		"AMBER+STRICT unresolved":            {entry(KindComment, "x", "AMBER+STRICT", nil, ""), nil, "jp", "recipients"},
		"recipients on AMBER":                {entry(KindComment, "x", "AMBER", []string{"cn"}, ""), nil, "jp", "recipients"},
		"a recipient not taking part":        {entry(KindComment, "x", "RED", []string{"cn", "tw"}, ""), nil, "cn", "recipients"},
		"a recipient twice":                  {entry(KindComment, "x", "RED", []string{"cn", "cn"}, ""), nil, "cn", "recipients"},
		"a recipient not a team":             {entry(KindComment, "x", "RED", []string{"cn", "CN "}, ""), nil, "cn", "recipients"},
		"a TLP not canonical":                {entry(KindComment, "x", "amber", nil, ""), nil, "jp", "tlp"},
		"a TLP with its prefix":              {entry(KindComment, "x", "TLP:AMBER", nil, ""), nil, "jp", "tlp"},
		"a comment with an override":         {entry(KindComment, "see \u202Eexe.txt", "AMBER", nil, ""), nil, "jp", "body"},
		"a comment with a NUL":               {entry(KindComment, "a\x00b", "AMBER", nil, ""), nil, "jp", "body"},
		"an empty comment":                   {entry(KindComment, "  ", "AMBER", nil, ""), nil, "jp", "body"},
		"a long comment":                     {entry(KindComment, strings.Repeat("x", maxBody+1), "AMBER", nil, ""), nil, "jp", "body"},
		"a comment with data":                {entry(KindComment, "x", "AMBER", nil, `{"status":"open"}`), nil, "jp", "data"},
		"an invalid observable":              {entry(KindObservable, "999.1.1.1", "AMBER", nil, `{"type":"ipv4","value":"999.1.1.1"}`), nil, "jp", "body"},
		"an observable not canonical":        {entry(KindObservable, "198.51.100.007", "AMBER", nil, `{"type":"ipv4","value":"198.51.100.007"}`), nil, "jp", "body"},
		"an observable of another value":     {entry(KindObservable, "198.51.100.7", "AMBER", nil, `{"type":"ipv4","value":"198.51.100.8"}`), nil, "jp", "data"},
		"an observable typed wrong":          {entry(KindObservable, "198.51.100.7", "AMBER", nil, `{"type":"domain","value":"198.51.100.7"}`), nil, "jp", "body"},
		"an observable with no data":         {entry(KindObservable, "198.51.100.7", "AMBER", nil, ""), nil, "jp", "data"},
		"an observable with more data":       {entry(KindObservable, "198.51.100.7", "AMBER", nil, `{"type":"ipv4","value":"198.51.100.7","x":1}`), nil, "jp", "data"},
		"an observable with a bidi query":    {entry(KindObservable, "http://a.example/?q=\u202e", "AMBER", nil, `{"type":"url","value":"http://a.example/?q=\u202e"}`), nil, "jp", "body"},
		"participation back to invited":      {entry(KindParticipation, "", "AMBER", nil, `{"status":"invited"}`), nil, "jp", "data"},
		"participation of another shape":     {entry(KindParticipation, "", "AMBER", nil, `{"status":"working" }`), nil, "jp", "data"},
		"participation with a body":          {entry(KindParticipation, "hi", "AMBER", nil, `{"status":"working"}`), nil, "jp", "body"},
		"a status by a participant":          {entry(KindStatus, "", "AMBER", nil, `{"status":"closed"}`), nil, "jp", "team"},
		"an unknown status":                  {status, func(e *store.Entry) { e.Data = `{"status":"solved"}` }, "jp", "data"},
		"an invitation by a participant":     {entry(KindInvitation, "", "AMBER", nil, `{"team":"tw"}`), nil, "cn", "team"},
		"an invitation of no team":           {invite, func(e *store.Entry) { e.Data = `{"team":"TW!"}` }, "jp", "data"},
		"an unknown kind":                    {entry("rumour", "x", "AMBER", nil, ""), nil, "jp", "kind"},
		"dated 9999":                         {good["comment"], func(e *store.Entry) { e.CreatedAt = year9999 }, "jp", "created_at"},
		"dated an hour ahead":                {good["comment"], func(e *store.Entry) { e.CreatedAt = now.Add(time.Hour) }, "jp", "created_at"},
		"dated in nanoseconds":               {good["comment"], func(e *store.Entry) { e.CreatedAt = now.Add(-time.Nanosecond) }, "jp", "created_at"},
		"by a team not taking part":          {good["comment"], func(e *store.Entry) { e.Team = "tw" }, "jp", "team"},
		"by no one":                          {good["comment"], func(e *store.Entry) { e.Author = "" }, "jp", "author"},
		"by a name with escapes":             {good["comment"], func(e *store.Entry) { e.Author = "t\x1b[8m" }, "jp", "author"},
		"an id of another shape":             {good["comment"], func(e *store.Entry) { e.ID = "../../etc/passwd" }, "jp", "id"},
	} {
		e := c.e
		e.Recipients = append([]string(nil), e.Recipients...)
		if c.edit != nil {
			c.edit(&e)
		}
		wantField(t, name, validEntry(e, in, c.holder, now), c.field)
	}
}

// The mapping to the wire and back keeps every field the protocol carries.
func TestWireMappingRoundTrips(t *testing.T) {
	in := goodIncident()
	b, err := encodeIncident(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeIncident(&envelope.Envelope{Payload: b, ObjectID: in.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("incident:\n got %+v\nwant %+v", got, in)
	}
	e := entry(KindComment, "x", "RED", []string{"cn", "jp"}, "")
	e.Position, e.Signature = 4, []byte{1, 2, 3}
	b, err = encodeEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	ge, err := decodeEntry(&envelope.Envelope{Payload: b, ObjectID: e.IncidentID})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ge, e) {
		t.Errorf("entry:\n got %+v\nwant %+v", ge, e)
	}
	if _, err := decodeEntry(&envelope.Envelope{Payload: b, ObjectID: "cn-2026-0008"}); err == nil {
		t.Error("an entry for another incident than its envelope's was decoded")
	}
}
