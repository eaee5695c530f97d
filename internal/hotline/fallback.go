package hotline

import (
	"context"
	"errors"
	"strings"
	"time"

	"csirtlink/internal/egress"
	"csirtlink/internal/notify"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// AckPath is where a person acknowledges a page with a one-time code from an e-mail.
const AckPath = "/hotline/ack"

// Fallback is the engine module that e-mails a partner's published hotline address when
// its node has not returned a receipt for our page in time. The mail carries a one-time
// code; an acknowledgement with it, on our acknowledgement form, counts like any other.
type Fallback struct{ s *Service }

// Name names the module.
func (Fallback) Name() string { return "fallback" }

// UpdateAll sends every due fallback mail, at most once per delivery.
func (m Fallback) UpdateAll(ctx context.Context) error {
	s := m.s
	now := s.clock.Now()
	stale, err := s.st.StaleDeliveries(ctx, s.dir.Self.ID, now.Add(-s.opts.FallbackAfter), 20)
	if err != nil {
		return err
	}
	for _, d := range stale {
		if err := s.fallback(ctx, d, "engine", false); err != nil {
			return err
		}
	}
	return nil
}

// fallback mails the partner's published hotline address about one delivery, at most
// once: the delivery is marked in one transaction before the mail goes, and a failure
// to send is recorded on it. actor is who started it, for the audit log; now lets a
// person start it before fallback_after has passed, and after the partner's node
// answered but nobody acknowledged.
func (s *Service) fallback(ctx context.Context, d store.Delivery, actor string, now bool) error {
	var mail *notify.Mail
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		mail, err = s.prepareFallback(ctx, tx, d, actor, now)
		return err
	})
	if err != nil || mail == nil {
		return err
	}
	var sendErr error
	if s.channels.Mail == nil {
		sendErr = errors.New("no SMTP relay configured")
	} else {
		sendErr = s.channels.Mail.Send(ctx, *mail)
	}
	if sendErr == nil {
		return nil
	}
	s.log.Warn("fallback mail failed", "page", d.PageID, "team", d.Team, "err", sendErr)
	return s.st.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetDelivery(ctx, d.PageID, d.Team)
		if err != nil {
			return err
		}
		cur.FallbackError = sendErr.Error()
		s.touched(tx, d.PageID)
		return tx.PutDelivery(ctx, cur)
	})
}

// FallbackNow mails a partner's published hotline address about a page of ours at
// once, instead of waiting for the engine: for a sender whose urgent page is going
// unanswered, whether or not the partner's node has answered. It goes through the same
// path as the engine's fallback — the egress decision, the one-time code, at most once
// per delivery — and returns the delivery as it then stands.
func (s *Service) FallbackNow(ctx context.Context, a Actor, pageID, team string) (store.Delivery, error) {
	p, err := s.st.GetPage(ctx, pageID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Delivery{}, problem.NotFound("page %q not found", pageID)
	}
	if err != nil {
		return store.Delivery{}, err
	}
	if p.From != s.dir.Self.ID {
		return store.Delivery{}, problem.Forbidden("page %s is not ours; only its sender mails the fallback", pageID)
	}
	if p.ResolvedAt != nil {
		return store.Delivery{}, problem.Conflict("page %s was resolved by %s", pageID, p.From)
	}
	var d *store.Delivery
	for i := range p.Deliveries {
		if p.Deliveries[i].Team == team {
			d = &p.Deliveries[i]
		}
	}
	switch {
	case d == nil:
		return store.Delivery{}, problem.Invalid("team", "page %s did not go to %q", pageID, team)
	case d.AcknowledgedAt != nil:
		return *d, problem.Conflict("page %s was acknowledged by %s at %s", pageID, d.AcknowledgedBy, d.AcknowledgedAt.Format(time.RFC3339))
	case d.FallbackAt != nil:
		return *d, problem.Conflict("the fallback mail for page %s to %s went at %s", pageID, team, d.FallbackAt.Format(time.RFC3339))
	}
	if err := s.fallback(ctx, *d, a.Name, true); err != nil {
		return store.Delivery{}, err
	}
	return s.st.GetDelivery(ctx, pageID, team)
}

// prepareFallback marks a delivery as fallen back (before sending: at most once) and
// returns the mail to send, or nil if none is to be sent. The engine mails only while
// the partner's node has not answered; a person (now) also after it answered, until
// someone acknowledges.
func (s *Service) prepareFallback(ctx context.Context, tx store.Tx, d store.Delivery, actor string, now bool) (*notify.Mail, error) {
	cur, err := tx.GetDelivery(ctx, d.PageID, d.Team)
	due := cur.State == Sent || now && stateRank[cur.State] < stateRank[Acknowledged]
	if err != nil || !due || cur.FallbackAt != nil {
		return nil, err
	}
	p, err := tx.GetPage(ctx, d.PageID)
	if err != nil {
		return nil, err
	}
	at := s.clock.Now()
	cur.FallbackAt = &at
	partner, _ := s.dir.Peer(d.Team)
	item, participants, err := s.sentAudience(ctx, tx, p)
	if err != nil {
		return nil, err
	}
	// The partner's published address is a way out like any other: egress decides whether
	// the mail may go at all (never to a revoked partner) and whether it may carry the
	// page's content or only say that there is a page and how to acknowledge it.
	dec := egress.Decide(egress.Request{Item: item, Context: egress.NewContext(s.dir, participants),
		To: egress.Destination{Kind: egress.FallbackMail, Team: d.Team, Encrypted: partner.PGPKey != ""}})
	var mail *notify.Mail
	switch {
	case !dec.Allowed():
		cur.FallbackError = "refused by the egress rule: " + dec.Reason()
	case partner.HotlineEmail == "":
		cur.FallbackError = "the partner publishes no hotline address"
	default:
		code, err := s.issueCode(ctx, tx, p.ID, d.Team, "", codeFallback, dec.Full())
		if err != nil {
			return nil, err
		}
		msg := notify.Page{ID: p.ID, From: p.From, FromName: s.dir.Self.Name, To: d.Team, Severity: p.Severity, Summary: p.Summary,
			Details: p.Details, TLP: p.TLP, IncidentID: p.IncidentID, Drill: p.Drill, SentAt: p.CreatedAt,
			FromZone: s.dir.Self.Location(), ToZone: partner.Location(), AckCode: code, Egress: dec}
		if s.opts.PublicURL != "" {
			msg.AckURL = strings.TrimRight(s.opts.PublicURL, "/") + AckPath
		}
		subject, body := notify.RenderMail(msg)
		mail = &notify.Mail{To: partner.HotlineEmail, Subject: subject, Body: body, RecipientKey: partner.PGPKey, Egress: dec,
			Headers: map[string]string{"X-Csirtlink-Page": p.ID, "X-Csirtlink-Fallback": "1"}}
	}
	if err := tx.PutDelivery(ctx, cur); err != nil {
		return nil, err
	}
	s.touched(tx, p.ID)
	return mail, appendAudit(ctx, tx, at, actor, "page.fallback", p.ID, strings.TrimSpace(d.Team+" "+cur.FallbackError))
}
