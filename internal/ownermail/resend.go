package ownermail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"csirtlink/internal/audit"
	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Resend makes a new report that sends one of an owner's reports again: the same
// events (the chunks the report carried, of that owner only), to the report's contact
// or to another contact of the same owner. It is due at once. A report still pending
// or being sent cannot be resent; one sent, failed or left unknown can. Audited.
func (s *Service) Resend(ctx context.Context, actor, ownerID, reportID, email string) (store.OwnerReport, error) {
	var out store.OwnerReport
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		orig, err := tx.GetOwnerReport(ctx, reportID)
		// Another owner's report is not found here: a resend can never take one
		// owner's events to another.
		if errors.Is(err, store.ErrNotFound) || (err == nil && orig.OwnerID != ownerID) {
			return problem.NotFound("owner %q has no report %q", ownerID, reportID)
		}
		if err != nil {
			return err
		}
		switch orig.State {
		case store.ReportSent, store.ReportFailed, store.ReportUnknown:
		default:
			return problem.Conflict("report %s is %s; it is sent when due and can be resent after", reportID, orig.State)
		}
		o, err := tx.GetOwner(ctx, ownerID)
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("owner %q not found", ownerID)
		}
		if err != nil {
			return err
		}
		email = cmp.Or(strings.TrimSpace(email), orig.Contact)
		c, ok := contact(o, email)
		if !ok {
			return problem.Invalid("contact", "%q is not a contact of owner %s", email, ownerID)
		}
		parts, err := s.carried(ctx, tx, orig)
		if err != nil {
			return err
		}
		if len(parts) == 0 {
			return problem.Conflict("report %s carried no events to send again", reportID)
		}
		now := s.clock.Now().UTC()
		out = store.OwnerReport{ID: "rep-" + identity.RandomID(10), OwnerID: ownerID, Contact: c.Email, Language: c.Language,
			Format: cmp.Or(c.Format, "csv"), Encrypted: c.PGPKey != "", State: store.ReportPending, NextAt: now, CreatedAt: now, UpdatedAt: now,
			ResendOf: orig.ID}
		var events int64
		for i := range parts {
			parts[i].ReportID = out.ID
			events += parts[i].Events
		}
		out.Events = events
		if err := tx.CreateOwnerReport(ctx, out); err != nil {
			return err
		}
		if err := tx.AddOwnerReportRuns(ctx, parts); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "owner.report.resend", out.ID,
			fmt.Sprintf("report %s of owner %s again to %s: %d events of %d runs", orig.ID, ownerID, c.Email, events, len(parts)))
	})
	return out, err
}

// carried is what a report carried, sent or not: the ranges it recorded when it was
// gathered (runs of it without events left out). Only a report gathered before reports
// recorded their ranges and never sent has none: it gets the owner's chunks of each run
// it delivers, as they are now.
func (s *Service) carried(ctx context.Context, tx store.Tx, r store.OwnerReport) ([]store.OwnerReportRun, error) {
	parts, err := tx.OwnerReportRuns(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if len(parts) > 0 {
		return slices.DeleteFunc(parts, func(p store.OwnerReportRun) bool { return p.Events == 0 }), nil
	}
	ds, err := tx.ReportDeliveries(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		chunks, err := tx.FeedChunks(ctx, d.RunID, store.ChunkOwner, r.OwnerID)
		if err != nil {
			return nil, err
		}
		p := store.OwnerReportRun{RunID: d.RunID, SeqFrom: math.MaxInt64}
		for _, c := range chunks {
			p.SeqFrom, p.SeqTo = min(p.SeqFrom, c.Seq), max(p.SeqTo, c.Seq)
			p.Events += int64(c.Events)
		}
		if p.Events > 0 {
			parts = append(parts, p)
		}
	}
	return parts, nil
}

// Report returns one of an owner's reports with what it carried.
func (s *Service) Report(ctx context.Context, ownerID, reportID string) (store.OwnerReport, []store.OwnerReportRun, error) {
	r, err := s.st.GetOwnerReport(ctx, reportID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.OwnerID != ownerID) {
		return r, nil, problem.NotFound("owner %q has no report %q", ownerID, reportID)
	}
	if err != nil {
		return r, nil, err
	}
	runs, err := s.st.OwnerReportRuns(ctx, reportID)
	return r, runs, err
}
