package hotline

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

var now = time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)

func goodPage() (store.Page, []string) {
	return store.Page{ID: "cn-2026-p0042", From: "cn", Severity: "critical", Summary: "DDoS on a bank from a booter in jp",
		Details: "Peak 40 Gbps.\r\nSources attached.", IncidentID: "cn-2026-0007", TLP: "RED", CreatedBy: "Wang Li (wang)",
		CreatedAt: now.Add(-time.Minute)}, []string{"jp", "kr"}
}

func wantField(t *testing.T, name string, err error, field string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Field != field {
		t.Errorf("%s: got %v, want a problem with field %q", name, err, field)
	}
}

// Every rule of a page, as a page from cn must obey it on arrival at jp.
func TestValidPage(t *testing.T) {
	p, to := goodPage()
	for _, holder := range []string{"cn", "jp", "kr"} {
		if err := validPage(p, to, holder, now); err != nil {
			t.Fatalf("a good page held by %s: %v", holder, err)
		}
	}
	many := make([]string, 58000)
	for i := range many {
		many[i] = "jp"
	}
	for name, c := range map[string]struct {
		edit   func(*store.Page, *[]string)
		holder string
		field  string
	}{
		"to no one":                       {func(p *store.Page, to *[]string) { *to = nil }, "jp", "to"},
		"to 58,000 teams":                 {func(p *store.Page, to *[]string) { *to = many }, "jp", "to"},
		"to a team twice":                 {func(p *store.Page, to *[]string) { *to = []string{"jp", "jp"} }, "jp", "to"},
		"to a bad team id":                {func(p *store.Page, to *[]string) { *to = []string{"jp", "KR;"} }, "jp", "to"},
		"to its sender":                   {func(p *store.Page, to *[]string) { *to = []string{"jp", "cn"} }, "jp", "to"},
		"not to the holder":               {func(p *store.Page, to *[]string) { *to = []string{"kr"} }, "jp", "to"},
		"CLEAR, not to the holder":        {func(p *store.Page, to *[]string) { p.TLP, *to = "CLEAR", []string{"kr"} }, "jp", "to"},
		"from a bad team id":              {func(p *store.Page, to *[]string) { p.From = "C N" }, "jp", "from"},
		"an id of another team":           {func(p *store.Page, to *[]string) { p.ID = "cn-x-2026-p0042" }, "jp", "id"},
		"an id of another shape":          {func(p *store.Page, to *[]string) { p.ID = "cn-2026-0042" }, "jp", "id"},
		"an unknown severity":             {func(p *store.Page, to *[]string) { p.Severity = "urgent" }, "jp", "severity"},
		"no summary":                      {func(p *store.Page, to *[]string) { p.Summary = " " }, "jp", "summary"},
		"a long summary":                  {func(p *store.Page, to *[]string) { p.Summary = strings.Repeat("長", maxSummary+1) }, "jp", "summary"},
		"a summary over two lines":        {func(p *store.Page, to *[]string) { p.Summary = "a\nb" }, "jp", "summary"},
		"a summary with an override":      {func(p *store.Page, to *[]string) { p.Summary = "call \u202E1234" }, "jp", "summary"},
		"details with escapes":            {func(p *store.Page, to *[]string) { p.Details = "\x1b[2J" }, "jp", "details"},
		"long details":                    {func(p *store.Page, to *[]string) { p.Details = strings.Repeat("x", maxDetails+1) }, "jp", "details"},
		"a TLP not canonical":             {func(p *store.Page, to *[]string) { p.TLP = "red" }, "jp", "tlp"},
		"an unknown TLP":                  {func(p *store.Page, to *[]string) { p.TLP = "WHITE" }, "jp", "tlp"},
		"an incident id of another shape": {func(p *store.Page, to *[]string) { p.IncidentID = "../cn-2026-0007" }, "jp", "incident_id"},
		"a comm check of another team":    {func(p *store.Page, to *[]string) { p.CommCheckID = "kr-2026-c0001" }, "jp", "commcheck_id"},
		"no author":                       {func(p *store.Page, to *[]string) { p.CreatedBy = "" }, "jp", "created_by"},
		"an author with a NUL":            {func(p *store.Page, to *[]string) { p.CreatedBy = "wang\x00" }, "jp", "created_by"},
		"dated 9999":                      {func(p *store.Page, to *[]string) { p.CreatedAt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }, "jp", "created_at"},
		"undated":                         {func(p *store.Page, to *[]string) { p.CreatedAt = time.Time{} }, "jp", "created_at"},
	} {
		p, to := goodPage()
		c.edit(&p, &to)
		wantField(t, name, validPage(p, to, c.holder, now), c.field)
	}
}

func TestValidState(t *testing.T) {
	sig := bytes.Repeat([]byte{1}, 64)
	good := map[string]stateChange{
		"notified":     {PageID: "cn-2026-p0042", Team: "jp", State: Notified, At: now, Channel: "email"},
		"acknowledged": {PageID: "cn-2026-p0042", Team: "jp", State: Acknowledged, At: now, By: "Tanaka (tanaka)", Via: ViaConsole, Statement: sig},
		"resolved":     {PageID: "cn-2026-p0042", Team: "cn", State: Resolved, At: now, By: "Wang Li (wang)"},
	}
	for name, c := range good {
		if err := validState(c, now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, c := range map[string]struct {
		c     stateChange
		edit  func(*stateChange)
		field string
	}{
		"a bad team":                  {good["notified"], func(c *stateChange) { c.Team = "JP" }, "team"},
		"an unknown state":            {good["notified"], func(c *stateChange) { c.State = "delivered" }, "state"},
		"a channel of another shape":  {good["notified"], func(c *stateChange) { c.Channel = "e-mail <x@y>" }, "channel"},
		"a route of another shape":    {good["acknowledged"], func(c *stateChange) { c.Via = "Console!" }, "via"},
		"acknowledged in 9999":        {good["acknowledged"], func(c *stateChange) { c.At = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }, "at"},
		"acknowledged by no one":      {good["acknowledged"], func(c *stateChange) { c.By = "" }, "by"},
		"by a name with an override":  {good["acknowledged"], func(c *stateChange) { c.By = "\u202Enimda" }, "by"},
		"by a long name":              {good["resolved"], func(c *stateChange) { c.By = strings.Repeat("x", maxName+1) }, "by"},
		"acknowledged without proof":  {good["acknowledged"], func(c *stateChange) { c.Statement = nil }, "statement"},
		"a statement of another size": {good["acknowledged"], func(c *stateChange) { c.Statement = sig[:10] }, "statement"},
		"a statement on a notice":     {good["notified"], func(c *stateChange) { c.Statement = sig }, "statement"},
	} {
		s := c.c
		c.edit(&s)
		wantField(t, name, validState(s, now), c.field)
	}
}

// A person's name as partners see it is cleaned of what their nodes would refuse, so
// that an odd display name cannot stop a page or an acknowledgement from going out.
func TestActorLabelPassesTheRules(t *testing.T) {
	a := Actor{Name: "wang", DisplayName: "Wang\u202E Li\x1b[1m" + strings.Repeat("長", 300)}
	if err := problem.CheckLine("by", a.label(), maxName, true); err != nil {
		t.Fatalf("%q: %v", a.label(), err)
	}
	if !strings.HasPrefix(a.label(), "Wang Li[1m長") {
		t.Errorf("label %q", a.label())
	}
}

// The mapping to the wire and back keeps every field the protocol carries.
func TestHotlineWireMappingRoundTrips(t *testing.T) {
	p, to := goodPage()
	b, err := encodePage(p, to)
	if err != nil {
		t.Fatal(err)
	}
	gp, gto, err := decodePage(&envelope.Envelope{Payload: b})
	if err != nil || !reflect.DeepEqual(gp, p) || !reflect.DeepEqual(gto, to) {
		t.Errorf("page: %v\n got %+v %v\nwant %+v %v", err, gp, gto, p, to)
	}
	c := stateChange{PageID: "cn-2026-p0042", Team: "jp", State: Acknowledged, At: now, Channel: "email", By: "t", Via: ViaConsole, Statement: []byte{1}}
	b, err = encodeState(c)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := decodeState(&envelope.Envelope{Payload: b})
	if err != nil || !reflect.DeepEqual(gc, c) {
		t.Errorf("state: %v\n got %+v\nwant %+v", err, gc, c)
	}
	sum := OnCallSummary{Team: "jp", At: now, HotlineEmail: "h@jp.example", Rotations: []SummaryRotation{{ID: "r", Name: "R",
		Timezone: "Asia/Tokyo", Current: SummaryShift{User: "A", Start: now, End: now.Add(time.Hour)},
		Next: SummaryShift{User: "B", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)}}}}
	b, err = encodeSummary(sum)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := decodeSummary(&envelope.Envelope{Payload: b})
	if err != nil || !reflect.DeepEqual(gs, sum) {
		t.Errorf("summary: %v\n got %+v\nwant %+v", err, gs, sum)
	}
}
