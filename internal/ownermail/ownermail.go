// Package ownermail sends network owners their reports: per abuse contact, on the
// contact's schedule (at once, or a daily digest at a local time, business days only),
// one e-mail with a summary in the contact's language and an attachment (CSV or JSON)
// of exactly that owner's events, OpenPGP-encrypted when the contact has a key, through
// the node's mail channel and the one egress decision.
//
// What a finished run owes each contact is recorded in the transaction that finishes
// the run (a delivery). When a contact's deliveries are due they are gathered into one
// report, in one transaction, which records the range of the owner's chunks of each run
// the report carries: the report, and any resend of it, carries exactly those. Events
// assigned to the owner after its report was gathered go in a follow-up report of
// their own. A report is claimed (state sending) before the mail is
// sent and marked sent after; a failed send is retried with back-off. A process killed
// between the claim and the record leaves the report sending: the next start marks it
// unknown and never sends it again on its own — an owner never gets one report twice,
// and its events stay stored for an analyst to resend.
package ownermail

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/egress"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/identity"
	"csirtlink/internal/notify"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

// Mailer sends one mail (notify.Mailer).
type Mailer interface {
	Send(ctx context.Context, m notify.Mail) error
}

// Retries of a failed send: RetryMin doubling, at most MaxAttempts attempts in all.
const (
	RetryMin    = time.Minute
	MaxAttempts = 8
)

// Service sends owners their reports.
type Service struct {
	st    store.Store
	feeds *feedrun.Service
	dir   *team.Directory
	mail  Mailer
	clock clock.Clock
	log   *slog.Logger

	started bool
}

// New makes the service and registers its hooks on finished runs and assignments.
// mail may be nil: reports then wait until the node has a mail relay.
func New(st store.Store, feeds *feedrun.Service, dir *team.Directory, mail Mailer, clk clock.Clock, log *slog.Logger) *Service {
	s := &Service{st: st, feeds: feeds, dir: dir, mail: mail, clock: clk, log: log.With("component", "ownermail")}
	feeds.OnFinish(s.recordDeliveries)
	feeds.OnAssign(s.recordAssigned)
	return s
}

// recordAssigned records the delivery of events assigned to an owner (its chunks
// numbered from to to). A contact whose delivery of the run is still pending gets them
// with it, as its report is gathered later. A contact whose report of the run was
// already gathered — and maybe sent — gets a follow-up report of the assigned chunks
// only, on its schedule, so nothing goes twice and nothing is left out.
func (s *Service) recordAssigned(ctx context.Context, tx store.Tx, run store.FeedRun, ownerID string, from, to int64) error {
	o, err := tx.GetOwner(ctx, ownerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ds, err := tx.FeedDeliveriesOf(ctx, run.ID)
	if err != nil {
		return err
	}
	now := s.clock.Now().UTC()
	for _, c := range o.Contacts {
		d := store.FeedDelivery{RunID: run.ID, Kind: store.DeliverOwner, Target: o.ID, Contact: c.Email, State: store.DeliveryPending,
			DueAt: DueAt(c, now), CreatedAt: now, UpdatedAt: now}
		i := slices.IndexFunc(ds, func(x store.FeedDelivery) bool {
			return x.Kind == d.Kind && x.Target == d.Target && x.Contact == d.Contact
		})
		if i < 0 {
			// A contact added since the run finished: a delivery of all the owner's events.
			if err := tx.AddFeedDelivery(ctx, d); err != nil {
				return err
			}
			continue
		}
		if d = ds[i]; d.State == store.DeliveryPending {
			// Rewriting the pending delivery waits for a gathering of it that is under
			// way (the row is locked until it commits) and then finds it reported: the
			// events then go in a follow-up, never in neither report.
			d.UpdatedAt = now
			err := tx.SetFeedDelivery(ctx, d, store.DeliveryPending)
			if err == nil {
				continue // gathered later, with the assigned chunks
			}
			if !errors.Is(err, store.ErrConflict) {
				return err
			}
			if d, err = deliveryOf(ctx, tx, d); err != nil {
				return err
			}
		}
		if d.State != store.DeliveryReported {
			continue
		}
		if err := s.followUp(ctx, tx, run, o, c, d, from, to, now); err != nil {
			return err
		}
	}
	return nil
}

func deliveryOf(ctx context.Context, tx store.Tx, d store.FeedDelivery) (store.FeedDelivery, error) {
	ds, err := tx.FeedDeliveriesOf(ctx, d.RunID)
	if err != nil {
		return d, err
	}
	for _, x := range ds {
		if x.Kind == d.Kind && x.Target == d.Target && x.Contact == d.Contact {
			return x, nil
		}
	}
	return d, fmt.Errorf("ownermail: delivery of run %s to %s vanished", d.RunID, d.Contact)
}

// followUp makes a report of the chunks from..to of a run for one contact whose report
// of the run was gathered before they were assigned.
func (s *Service) followUp(ctx context.Context, tx store.Tx, run store.FeedRun, o store.NetOwner, c store.OwnerContact, d store.FeedDelivery,
	from, to int64, now time.Time) error {
	if prev, err := tx.OwnerReportRuns(ctx, d.ReportID); err != nil {
		return err
	} else if len(prev) == 0 {
		// A report gathered before reports recorded their ranges reads all the owner's
		// chunks of its runs; pin it to those it had, so it does not carry these too.
		// One being sent now may have read them already: the analyst tries again.
		prevReport, err := tx.GetOwnerReport(ctx, d.ReportID)
		if err != nil {
			return err
		}
		if prevReport.State == store.ReportSending {
			return problem.Conflict("report %s of this run to %s is being sent; assign again in a moment", d.ReportID, c.Email)
		}
		ds, err := tx.ReportDeliveries(ctx, d.ReportID)
		if err != nil {
			return err
		}
		runs := make([]string, 0, len(ds))
		for _, x := range ds {
			runs = append(runs, x.RunID)
		}
		if err := recordRanges(ctx, tx, d.ReportID, o.ID, runs, func(id string) int64 {
			if id == run.ID {
				return from - 1
			}
			return math.MaxInt64
		}); err != nil {
			return err
		}
	}
	first, last, events, err := tx.FeedChunkSpan(ctx, run.ID, store.ChunkOwner, o.ID, from, to)
	if err != nil || events == 0 {
		return err
	}
	r := store.OwnerReport{ID: "rep-" + identity.RandomID(10), OwnerID: o.ID, Contact: c.Email, Language: c.Language,
		Format: cmp.Or(c.Format, "csv"), Encrypted: c.PGPKey != "", Events: events, State: store.ReportPending,
		NextAt: DueAt(c, now), CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateOwnerReport(ctx, r); err != nil {
		return err
	}
	return tx.AddOwnerReportRuns(ctx, []store.OwnerReportRun{{ReportID: r.ID, RunID: run.ID, SeqFrom: first, SeqTo: last, Events: events}})
}

// recordRanges records what a report carries: of each run, the span of the owner's
// chunks numbered up to upTo(run). A run without any is recorded empty, so the report
// never falls back to reading the owner's chunks as they are when it is sent.
func recordRanges(ctx context.Context, tx store.Tx, reportID, ownerID string, runs []string, upTo func(runID string) int64) error {
	var parts []store.OwnerReportRun
	for _, runID := range runs {
		first, last, events, err := tx.FeedChunkSpan(ctx, runID, store.ChunkOwner, ownerID, 0, upTo(runID))
		if err != nil {
			return err
		}
		parts = append(parts, store.OwnerReportRun{ReportID: reportID, RunID: runID, SeqFrom: first, SeqTo: last, Events: events})
	}
	return tx.AddOwnerReportRuns(ctx, parts)
}

// recordDeliveries records, with a finished run, a delivery to every contact of every
// owner it routed events to.
func (s *Service) recordDeliveries(ctx context.Context, tx store.Tx, run store.FeedRun) error {
	for _, id := range slices.Sorted(maps.Keys(run.Owners)) {
		if run.Owners[id] == 0 {
			continue
		}
		if err := s.recordOwner(ctx, tx, run, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) recordOwner(ctx context.Context, tx store.Tx, run store.FeedRun, ownerID string) error {
	o, err := tx.GetOwner(ctx, ownerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted since the index was built: its events stay with the run
	}
	if err != nil {
		return err
	}
	now := s.clock.Now().UTC()
	for _, c := range o.Contacts {
		d := store.FeedDelivery{RunID: run.ID, Kind: store.DeliverOwner, Target: o.ID, Contact: c.Email, State: store.DeliveryPending,
			DueAt: DueAt(c, now), CreatedAt: now, UpdatedAt: now}
		if err := tx.AddFeedDelivery(ctx, d); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

// DueAt is when a contact's report of events routed at now is due: at once, or at the
// next digest time (HH:MM in the contact's zone) at or after now, skipping Saturdays and
// Sundays there for business days only.
func DueAt(c store.OwnerContact, now time.Time) time.Time {
	if c.Schedule != "daily" {
		return now
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		loc = time.UTC
	}
	hh, mm := 0, 0
	if h, m, ok := strings.Cut(c.DigestAt, ":"); ok {
		hh, _ = strconv.Atoi(h)
		mm, _ = strconv.Atoi(m)
	}
	local := now.In(loc)
	at := time.Date(local.Year(), local.Month(), local.Day(), hh, mm, 0, 0, loc)
	for at.Before(now) || (c.BusinessDays && (at.Weekday() == time.Saturday || at.Weekday() == time.Sunday)) {
		at = time.Date(at.Year(), at.Month(), at.Day()+1, hh, mm, 0, 0, loc)
	}
	return at.UTC()
}

// Module is the engine module that gathers and sends reports.
type Module struct{ s *Service }

// Module returns the engine module.
func (s *Service) Module() *Module { return &Module{s: s} }

// Name names the module.
func (*Module) Name() string { return "owner-reports" }

// UpdateAll gathers due deliveries into reports and sends the reports that are due.
func (m *Module) UpdateAll(ctx context.Context) error {
	s := m.s
	if !s.started {
		n, err := s.st.AbandonOwnerReports(ctx, s.clock.Now())
		if err != nil {
			return err
		}
		if n > 0 {
			s.log.Warn("owner reports interrupted while sending are marked unknown and not sent again", "count", n)
		}
		s.started = true
	}
	if err := s.gather(ctx); err != nil {
		return err
	}
	if s.mail == nil {
		return nil
	}
	for ctx.Err() == nil {
		due, err := s.st.DueOwnerReports(ctx, s.clock.Now(), reportsPerRound)
		if err != nil {
			return err
		}
		for _, r := range due {
			if err := s.deliver(ctx, r); err != nil {
				return fmt.Errorf("ownermail: report %s: %w", r.ID, err)
			}
		}
		if len(due) < reportsPerRound {
			break
		}
	}
	return nil
}

// reportsPerRound is how many due reports are read at a time; a cycle sends them all.
const reportsPerRound = 50

// gather turns each contact's due deliveries into one report.
func (s *Service) gather(ctx context.Context) error {
	ds, err := s.st.DueFeedDeliveries(ctx, store.DeliverOwner, s.clock.Now(), 5000)
	if err != nil {
		return err
	}
	type key struct{ owner, contact string }
	groups := map[key][]store.FeedDelivery{}
	for _, d := range ds {
		k := key{d.Target, d.Contact}
		groups[k] = append(groups[k], d)
	}
	for k, g := range groups {
		err := s.st.InTx(ctx, func(tx store.Tx) error {
			o, err := tx.GetOwner(ctx, k.owner)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			c, ok := contact(o, k.contact)
			now := s.clock.Now().UTC()
			r := store.OwnerReport{ID: "rep-" + identity.RandomID(10), OwnerID: k.owner, Contact: k.contact, Language: c.Language,
				Format: cmp.Or(c.Format, "csv"), Encrypted: c.PGPKey != "", State: store.ReportPending, NextAt: now, CreatedAt: now, UpdatedAt: now}
			if !ok {
				r.State, r.LastError = store.ReportFailed, "the owner or this contact no longer exists"
			}
			if err := tx.CreateOwnerReport(ctx, r); err != nil {
				return err
			}
			runs := make([]string, 0, len(g))
			for _, d := range g {
				d.State, d.ReportID, d.UpdatedAt = store.DeliveryReported, r.ID, now
				if err := tx.SetFeedDelivery(ctx, d, store.DeliveryPending); err != nil {
					return err
				}
				runs = append(runs, d.RunID)
			}
			if !ok {
				return nil
			}
			// After the deliveries are locked: an assignment committed before is in the
			// ranges, one committing after finds them reported and makes a follow-up.
			return recordRanges(ctx, tx, r.ID, k.owner, runs, func(string) int64 { return math.MaxInt64 })
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func contact(o store.NetOwner, email string) (store.OwnerContact, bool) {
	for _, c := range o.Contacts {
		if c.Email == email {
			return c, true
		}
	}
	return store.OwnerContact{}, false
}

// deliver claims a report, sends it and records how it went.
func (s *Service) deliver(ctx context.Context, r store.OwnerReport) error {
	from := r.State
	r.State, r.Attempts, r.UpdatedAt = store.ReportSending, r.Attempts+1, s.clock.Now().UTC()
	if err := s.st.UpdateOwnerReport(ctx, r, from); errors.Is(err, store.ErrConflict) {
		return nil // another worker took it
	} else if err != nil {
		return err
	}
	ml, events, carried, recorded, err := s.build(ctx, r)
	if err == nil {
		err = s.mail.Send(ctx, ml)
	}
	now := s.clock.Now().UTC()
	r.UpdatedAt = now
	switch {
	case err == nil:
		r.State, r.SentAt, r.Events, r.LastError = store.ReportSent, &now, events, ""
	case notify.IsPermanent(err) || r.Attempts >= MaxAttempts:
		r.State, r.LastError = store.ReportFailed, truncate(err.Error())
		s.log.Warn("owner report failed", "report", r.ID, "owner", r.OwnerID, "err", err)
	default:
		r.State, r.LastError = store.ReportPending, truncate(err.Error())
		r.NextAt = now.Add(RetryMin << min(r.Attempts-1, 10))
		s.log.Warn("owner report not sent; will retry", "report", r.ID, "owner", r.OwnerID, "at", r.NextAt, "err", err)
	}
	wctx := context.WithoutCancel(ctx)
	return s.st.InTx(wctx, func(tx store.Tx) error {
		if err := tx.UpdateOwnerReport(wctx, r, store.ReportSending); err != nil {
			return err
		}
		if r.State != store.ReportSent || recorded {
			return nil
		}
		// A report gathered before reports recorded their ranges records, once sent,
		// what it carried, for a resend to carry the same.
		return tx.AddOwnerReportRuns(wctx, carried)
	})
}

func truncate(s string) string {
	if len(s) > 1000 {
		return s[:1000]
	}
	return s
}

// source is one run's part of a report, for the summary.
type source struct {
	events       int64
	feed, report string
	origin       string
	first, last  time.Time
	byClass      map[string]int64
	decision     egress.Decision
	label        tlp.Label
}

// build renders a report: the events of each of its runs for the owner, each run's
// label decided by egress for a report to our owners; a run it refuses stays out.
func (s *Service) build(ctx context.Context, r store.OwnerReport) (ml notify.Mail, events int64, carried []store.OwnerReportRun, recorded bool, err error) {
	o, err := s.st.GetOwner(ctx, r.OwnerID)
	if err != nil {
		return ml, 0, nil, false, &notify.FieldError{Field: "owner", Reason: err.Error()}
	}
	c, ok := contact(o, r.Contact)
	if !ok {
		return ml, 0, nil, false, &notify.FieldError{Field: "contact", Reason: "the contact no longer exists"}
	}
	// What the report carries: the ranges recorded when it was gathered (or, for a
	// resend or a follow-up, made). A report gathered before reports recorded them
	// carries all of the owner's events of each run it delivers.
	parts, err := s.st.OwnerReportRuns(ctx, r.ID)
	if err != nil {
		return ml, 0, nil, false, err
	}
	recorded = len(parts) > 0
	if !recorded {
		ds, err := s.st.ReportDeliveries(ctx, r.ID)
		if err != nil {
			return ml, 0, nil, false, err
		}
		for _, d := range ds {
			parts = append(parts, store.OwnerReportRun{ReportID: r.ID, RunID: d.RunID, SeqFrom: 0, SeqTo: math.MaxInt64})
		}
	}
	self := s.dir.Self.ID
	ectx := egress.NewContext(s.dir, []string{self})
	var att bytes.Buffer
	w := newWriter(&att, r.Format)
	var total int64
	var sources []*source
	var mailDec egress.Decision
	label := tlp.Clear
	classes := map[string]int64{}
	for _, part := range parts {
		run, err := s.st.GetFeedRun(ctx, part.RunID)
		if err != nil {
			return ml, 0, nil, false, err
		}
		src := &source{feed: run.Feed, report: run.Report, origin: run.Origin, byClass: classes, label: tlp.Label(run.TLP)}
		author := cmp.Or(run.Origin, self)
		src.decision = egress.Decide(egress.Request{Item: tlp.Item{Label: src.label, Author: author}, Context: ectx,
			To: egress.Destination{Kind: egress.OwnerReport, Team: self, Encrypted: c.PGPKey != ""}})
		if !src.decision.Full() {
			s.log.Warn("run kept out of an owner report", "run", run.ID, "owner", r.OwnerID, "reason", src.decision.Reason())
			continue
		}
		got := store.OwnerReportRun{ReportID: r.ID, RunID: run.ID, SeqFrom: math.MaxInt64}
		// Only this owner's chunks are read (kind owner, target the report's owner),
		// whatever the ranges say: a report never carries another owner's events.
		err = s.feeds.EventsIn(ctx, run.ID, store.ChunkOwner, r.OwnerID, part.SeqFrom, part.SeqTo, func(seq int64, rec feedrun.Record) error {
			got.SeqFrom, got.SeqTo = min(got.SeqFrom, seq), max(got.SeqTo, seq)
			got.Events++
			if src.first.IsZero() || rec.Time.Before(src.first) {
				src.first = rec.Time
			}
			if rec.Time.After(src.last) {
				src.last = rec.Time
			}
			if rec.LastSeen != nil && rec.LastSeen.After(src.last) {
				src.last = *rec.LastSeen
			}
			src.events++
			classes[rec.Classification]++
			return w.write(rec, run.Origin)
		})
		if err != nil {
			return ml, 0, nil, false, err
		}
		if src.events == 0 {
			continue
		}
		carried = append(carried, got)
		total += src.events
		sources = append(sources, src)
		if tlp.Stricter(label, src.label) != label || !mailDec.Full() {
			label, mailDec = tlp.Stricter(label, src.label), src.decision
		}
	}
	if err := w.close(); err != nil {
		return ml, 0, nil, false, err
	}
	if total == 0 {
		return ml, 0, nil, false, &notify.FieldError{Field: "events", Reason: "no event may go to this owner"}
	}
	cat := catalogFor(c.Language)
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		loc = time.UTC
	}
	name := fmt.Sprintf("%s-%s.%s", r.OwnerID, r.ID, r.Format)
	ctype := "text/csv; charset=utf-8"
	if r.Format == "json" {
		ctype = "application/json"
	}
	data := att.Bytes()
	if len(data) > gzipOver {
		// Relays commonly refuse messages over 10 to 25 MB, and base64 adds a third:
		// a large report travels compressed (raw rows compress about tenfold).
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Name = name
		if _, err := zw.Write(data); err != nil {
			return ml, 0, nil, false, err
		}
		if err := zw.Close(); err != nil {
			return ml, 0, nil, false, err
		}
		name, ctype, data = name+".gz", "application/gzip", gz.Bytes()
	}
	subject, body := render(cat, o.Name, label, total, sources, classes, loc, name, r.Format)
	ml = notify.Mail{To: c.Email, Subject: subject, Body: body, RecipientKey: c.PGPKey,
		Headers:     map[string]string{"X-Csirtlink-Report": r.ID, "Auto-Submitted": "auto-generated"},
		Attachments: []notify.Attachment{{Name: name, ContentType: ctype, Data: data}},
		Egress:      mailDec}
	return ml, total, carried, recorded, nil
}

func render(cat catalog, owner string, label tlp.Label, total int64, sources []*source, classes map[string]int64, loc *time.Location,
	file, format string) (subject, body string) {
	subject = fmt.Sprintf(cat.subject, label, owner, total)
	first, last := sources[0].first, sources[0].last
	for _, s := range sources {
		if s.first.Before(first) {
			first = s.first
		}
		if s.last.After(last) {
			last = s.last
		}
	}
	const layout = "2006-01-02 15:04 MST"
	var b strings.Builder
	fmt.Fprintf(&b, cat.greeting+"\n\n", owner)
	fmt.Fprintf(&b, cat.intro+"\n\n", total, first.In(loc).Format(layout), last.In(loc).Format(layout))
	b.WriteString(cat.bySource + "\n")
	for _, s := range sources {
		feed := cmp.Or(s.feed, cat.unnamedFeed)
		if s.origin != "" {
			fmt.Fprintf(&b, cat.fromPartner+"\n", s.events, s.origin, feed)
		} else {
			fmt.Fprintf(&b, cat.sourceLine+"\n", s.events, feed, cmp.Or(s.report, "-"))
		}
	}
	b.WriteString("\n" + cat.byClass + "\n")
	for _, k := range slices.Sorted(maps.Keys(classes)) {
		fmt.Fprintf(&b, cat.classLine+"\n", classes[k], k)
	}
	fmt.Fprintf(&b, "\n"+cat.attachment+"\n\n", file, strings.ToUpper(format))
	fmt.Fprintf(&b, cat.tlpHeading+" %s\n\n", label, cat.tlpRules[label])
	b.WriteString(cat.footer + "\n")
	return subject, b.String()
}

// gzipOver is the attachment size above which it is sent gzip-compressed.
const gzipOver = 1 << 20

// Columns of a CSV attachment.
var csvColumns = []string{"time", "ip", "port", "asn", "country", "hostname", "domain", "url", "protocol", "classification",
	"identifier", "report", "feed", "tlp", "from_team", "raw", "count", "last_seen"}

type writer struct {
	format string
	b      *bytes.Buffer
	cw     *csv.Writer
	n      int
}

func newWriter(b *bytes.Buffer, format string) *writer {
	w := &writer{format: format, b: b}
	if format == "json" {
		b.WriteString("[")
	} else {
		w.cw = csv.NewWriter(b)
		_ = w.cw.Write(csvColumns)
	}
	return w
}

func (w *writer) write(r feedrun.Record, origin string) error {
	w.n++
	if w.cw == nil {
		if w.n > 1 {
			w.b.WriteString(",")
		}
		w.b.WriteString("\n")
		type jsonEvent struct {
			feedrun.Record
			FromTeam string `json:"from_team,omitempty"`
		}
		enc := json.NewEncoder(w.b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(jsonEvent{Record: r, FromTeam: origin}); err != nil {
			return err
		}
		w.b.Truncate(w.b.Len() - 1) // Encode's line break
		return nil
	}
	num := func(n uint64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatUint(n, 10)
	}
	return w.cw.Write([]string{r.Time.UTC().Format(time.RFC3339), r.IP, num(uint64(r.Port)), num(uint64(r.ASN)), r.Country, r.Hostname,
		r.Domain, r.URL, r.Protocol, r.Classification, r.Identifier, r.Report, r.Feed, r.TLP, origin, r.Raw,
		strconv.FormatInt(r.Repeats(), 10), lastSeen(r)})
}

// lastSeen is when an aggregated event was last seen; a single event's own time.
func lastSeen(r feedrun.Record) string {
	if r.LastSeen != nil {
		return r.LastSeen.UTC().Format(time.RFC3339)
	}
	return r.Time.UTC().Format(time.RFC3339)
}

func (w *writer) close() error {
	if w.cw == nil {
		w.b.WriteString("\n]\n")
		return nil
	}
	w.cw.Flush()
	return w.cw.Error()
}

// Reports lists an owner's reports, newest first.
func (s *Service) Reports(ctx context.Context, ownerID string, limit int) ([]store.OwnerReport, error) {
	return s.st.OwnerReports(ctx, ownerID, limit)
}
