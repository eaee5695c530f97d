package hotline

import (
	"context"
	"errors"
	"strings"

	"csirtlink/internal/egress"
	"csirtlink/internal/notify"
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
		var mail *notify.Mail
		err := s.st.InTx(ctx, func(tx store.Tx) error {
			var err error
			mail, err = s.prepareFallback(ctx, tx, d)
			return err
		})
		if err != nil {
			return err
		}
		if mail == nil {
			continue
		}
		var sendErr error
		if s.channels.Mail == nil {
			sendErr = errors.New("no SMTP relay configured")
		} else {
			sendErr = s.channels.Mail.Send(ctx, *mail)
		}
		if sendErr != nil {
			s.log.Warn("fallback mail failed", "page", d.PageID, "team", d.Team, "err", sendErr)
			err := s.st.InTx(ctx, func(tx store.Tx) error {
				cur, err := tx.GetDelivery(ctx, d.PageID, d.Team)
				if err != nil {
					return err
				}
				cur.FallbackError = sendErr.Error()
				s.touched(tx, d.PageID)
				return tx.PutDelivery(ctx, cur)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// prepareFallback marks a delivery as fallen back (before sending: at most once) and
// returns the mail to send, or nil if none is to be sent.
func (s *Service) prepareFallback(ctx context.Context, tx store.Tx, d store.Delivery) (*notify.Mail, error) {
	cur, err := tx.GetDelivery(ctx, d.PageID, d.Team)
	if err != nil || cur.State != Sent || cur.FallbackAt != nil {
		return nil, err
	}
	p, err := tx.GetPage(ctx, d.PageID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	cur.FallbackAt = &now
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
	return mail, appendAudit(ctx, tx, now, "engine", "page.fallback", p.ID, d.Team+" "+cur.FallbackError)
}
