package hotline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/egress"
	"csirtlink/internal/engine"
	"csirtlink/internal/identity"
	"csirtlink/internal/notify"
	"csirtlink/internal/oncall"
	"csirtlink/internal/store"
)

// Channels a person can be reached on. The console is always one: a page waiting for
// acknowledgement is on every open console of the team.
const (
	ChannelConsole = "console"
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Mailer sends e-mail (notify.Mailer).
type Mailer interface {
	Send(ctx context.Context, m notify.Mail) error
}

// WebhookSender posts signed webhooks (notify.Webhook), if the egress decision allows.
type WebhookSender interface {
	Send(ctx context.Context, d egress.Decision, url, secret, event string, payload any) error
}

// Channels are the node's ways out; a nil one is not configured.
type Channels struct {
	Mail    Mailer
	Webhook WebhookSender
}

// startEscalation freezes our default policy onto a page that just arrived and makes
// its first level due now. Editing the policy later never changes a page in flight.
func (s *Service) startEscalation(ctx context.Context, tx store.Tx, pageID string, now time.Time) error {
	plan, err := s.currentPlan(ctx, tx, now)
	if err != nil {
		return err
	}
	return tx.PutEscalation(ctx, store.Escalation{PageID: pageID, Policy: string(plan), NextAt: &now, StartedAt: now})
}

// currentPlan snapshots the default policy. Without one, every duty officer is paged
// once, so that a team that has not set up its rota still hears the hotline.
func (s *Service) currentPlan(ctx context.Context, tx store.Tx, now time.Time) ([]byte, error) {
	cfg, err := s.loadOnCall(ctx, tx, now)
	if err != nil {
		return nil, err
	}
	if p, ok := cfg.policies[cfg.defaultPolicy]; ok {
		return oncall.Snapshot(p, cfg.rotations, cfg.overrides)
	}
	users, err := tx.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	p := oncall.Policy{ID: "fallback", Name: "All duty officers (no default policy set)", Levels: []oncall.Level{{DelayMinutes: 5}}}
	for _, u := range users {
		if u.Role == auth.DutyOfficer {
			p.Levels[0].Targets = append(p.Levels[0].Targets, oncall.Target{Type: oncall.TargetUser, ID: u.Name})
		}
	}
	if len(p.Levels[0].Targets) == 0 {
		for _, u := range users {
			if u.Role == auth.Admin {
				p.Levels[0].Targets = append(p.Levels[0].Targets, oncall.Target{Type: oncall.TargetUser, ID: u.Name})
			}
		}
	}
	if len(p.Levels[0].Targets) == 0 {
		s.log.Error("page arrived but nobody can be paged: no default policy, no duty officer, no admin")
		p.Levels[0].Targets = []oncall.Target{{Type: oncall.TargetUser, ID: "nobody"}}
	}
	return oncall.Snapshot(p, nil, nil)
}

func (s *Service) stopEscalation(ctx context.Context, tx store.Tx, pageID string, now time.Time, reason string) error {
	e, err := tx.GetEscalation(ctx, pageID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if e.StoppedAt != nil {
		return nil
	}
	e.NextAt, e.StoppedAt, e.StopReason = nil, &now, reason
	return tx.PutEscalation(ctx, e)
}

// Escalator is the engine module that fires due escalation levels: it creates a
// notification for each person of the level on each of their channels, and schedules
// the next level. Levels are scheduled from when the previous one was due, not from
// when it ran, so a node that was down catches up level by level and skips none.
type Escalator struct{ s *Service }

// Name names the module.
func (Escalator) Name() string { return "escalator" }

// UpdateAll fires every due level, a batch per transaction: one commit (one fsync)
// for many pages keeps up when thousands of timers fall due together.
func (m Escalator) UpdateAll(ctx context.Context) error {
	s := m.s
	for range 5 {
		now := s.clock.Now()
		due, err := s.st.DueEscalations(ctx, now, 200)
		if err != nil || len(due) == 0 {
			return err
		}
		err = s.st.InTx(ctx, func(tx store.Tx) error {
			for _, e := range due {
				if err := s.fireLevel(ctx, tx, e.PageID, now); err != nil {
					return fmt.Errorf("escalate %s: %w", e.PageID, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(due) < 200 {
			return nil
		}
	}
	// More is due: give the other modules their turn, then come straight back.
	s.wake()
	return nil
}

func (s *Service) fireLevel(ctx context.Context, tx store.Tx, pageID string, now time.Time) error {
	e, err := tx.GetEscalation(ctx, pageID)
	if err != nil || e.NextAt == nil || e.NextAt.After(now) {
		return err
	}
	d, err := tx.GetDelivery(ctx, pageID, s.dir.Self.ID)
	if err != nil {
		return err
	}
	if stateRank[d.State] >= stateRank[Acknowledged] {
		return s.stopEscalation(ctx, tx, pageID, now, "already "+d.State)
	}
	plan, err := oncall.LoadSnapshot([]byte(e.Policy))
	if err != nil {
		return s.stopEscalation(ctx, tx, pageID, now, "unusable policy: "+err.Error())
	}
	levels := plan.Policy.Levels
	if e.Level >= len(levels) {
		// The last level's wait has passed with no acknowledgement.
		return s.stopEscalation(ctx, tx, pageID, now, "every level notified; no acknowledgement")
	}
	due := *e.NextAt
	users, err := plan.Resolve(e.Level, due)
	if err != nil {
		s.log.Error("resolve escalation level", "page", pageID, "level", e.Level, "err", err)
	}
	for _, u := range users {
		if err := s.queueNotifications(ctx, tx, pageID, u, e.Round, e.Level, now); err != nil {
			return err
		}
	}
	next := due.Add(time.Duration(levels[e.Level].DelayMinutes) * time.Minute)
	e.Level++
	if e.Level == len(levels) && e.Round < plan.Policy.Repeat {
		e.Level, e.Round = 0, e.Round+1
	}
	// After the last level of the last round, Level stays past the end: its wait still
	// runs, and the escalation ends when it has passed.
	e.NextAt = &next
	if err := tx.PutEscalation(ctx, e); err != nil {
		return err
	}
	s.touched(tx, pageID)
	return nil
}

// queueNotifications records one pending attempt per channel of a person. The dedupe
// key makes this idempotent: running the same level again after a crash adds nothing.
func (s *Service) queueNotifications(ctx context.Context, tx store.Tx, pageID, user string, round, level int, now time.Time) error {
	contacts, err := tx.Contacts(ctx, user)
	if err != nil {
		return err
	}
	targets := []store.Contact{{Channel: ChannelConsole, Address: user}}
	targets = append(targets, contacts...)
	for _, c := range targets {
		n := store.Notification{ID: identity.RandomID(12), PageID: pageID, User: user, Channel: c.Channel, Address: c.Address,
			Round: round, Level: level, State: "pending", CreatedAt: now,
			DedupeKey: fmt.Sprintf("%s|%s|%s|%s|%d|%d", pageID, user, c.Channel, c.ID, round, level)}
		if _, err := tx.AddNotification(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// Notifier is the engine module that makes pending notification attempts. Each is
// claimed in the database before it is made, so a crash between the claim and the
// result leaves it "unknown" and it is never made twice.
type Notifier struct{ s *Service }

// Name names the module.
func (Notifier) Name() string { return "notifier" }

// claimTimeout is how long an attempt may stay claimed before it counts as interrupted.
const claimTimeout = 2 * time.Minute

// notifyConcurrency is how many attempts are made at once: a slow mail relay or webhook
// must not hold up everyone else's pages.
const notifyConcurrency = 8

// UpdateAll makes every pending attempt: claims a batch in one transaction, makes the
// attempts concurrently, and records the results in one transaction.
func (m Notifier) UpdateAll(ctx context.Context) error {
	s := m.s
	now := s.clock.Now()
	if n, err := s.st.AbandonNotifications(ctx, now.Add(-claimTimeout)); err != nil {
		return err
	} else if n > 0 {
		s.log.Warn("notification attempts interrupted by a stop; not repeated", "count", n)
	}
	for range 4 {
		pending, err := s.st.PendingNotifications(ctx, 50)
		if err != nil || len(pending) == 0 {
			return err
		}
		var attempts []*attempt
		err = s.st.InTx(ctx, func(tx store.Tx) error {
			attempts = attempts[:0]
			for _, n := range pending {
				a, err := s.claim(ctx, tx, n)
				if err != nil {
					return err
				}
				if a != nil {
					attempts = append(attempts, a)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		errs := make([]error, len(attempts))
		sem := make(chan struct{}, notifyConcurrency)
		var wg sync.WaitGroup
		for i, a := range attempts {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				errs[i] = s.deliverAttempt(ctx, a)
			}()
		}
		wg.Wait()
		err = s.st.InTx(ctx, func(tx store.Tx) error {
			for i, a := range attempts {
				if err := s.finish(ctx, tx, a, errs[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// More may be pending: let the escalator fire what fell due meanwhile, then come back.
	s.wake()
	return nil
}

// attempt is a claimed notification with what it needs to be sent.
type attempt struct {
	n       store.Notification
	page    store.Page
	contact store.Contact
	code    string
	egress  egress.Decision // what may go on this channel, from egress.Decide
}

// claim decides whether an attempt is made; if so it marks it sending and returns it.
func (s *Service) claim(ctx context.Context, tx store.Tx, n store.Notification) (*attempt, error) {
	now := s.clock.Now()
	skip := func(why string) (*attempt, error) {
		n.State, n.FinishedAt, n.Error = "skipped", &now, why
		return nil, tx.PutNotification(ctx, n)
	}
	// n comes from a list read before this transaction: another engine (a replica that
	// held the lease before us) may have claimed it since. Read it again, locked.
	cur, err := tx.GetNotification(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	if cur.State != "pending" {
		return nil, nil
	}
	p, err := tx.GetPage(ctx, n.PageID)
	if err != nil {
		return nil, err
	}
	d, err := tx.GetDelivery(ctx, n.PageID, s.dir.Self.ID)
	if err != nil {
		return nil, err
	}
	if stateRank[d.State] >= stateRank[Acknowledged] {
		return skip("page already " + d.State)
	}
	if k, err := tx.CountNotifications(ctx, n.User, n.Channel, n.PageID, now.Add(-s.opts.DedupeWindow), 1); err != nil {
		return nil, err
	} else if k > 0 {
		return skip(fmt.Sprintf("already notified on %s within %s", n.Channel, s.opts.DedupeWindow))
	}
	if k, err := tx.CountNotifications(ctx, n.User, n.Channel, "", now.Add(-10*time.Minute), s.opts.RateLimit); err != nil {
		return nil, err
	} else if k >= s.opts.RateLimit {
		return skip(fmt.Sprintf("rate limit: %d notifications on %s in 10 minutes", k, n.Channel))
	}
	a := &attempt{n: n, page: p}
	if n.Channel != ChannelConsole {
		contacts, err := tx.Contacts(ctx, n.User)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(contacts, func(c store.Contact) bool { return c.Channel == n.Channel && c.Address == n.Address })
		if i < 0 {
			return skip("contact removed")
		}
		a.contact = contacts[i]
	}
	switch {
	case n.Channel == ChannelEmail && s.channels.Mail == nil:
		return skip("no SMTP relay configured")
	case n.Channel == ChannelWebhook && s.channels.Webhook == nil:
		return skip("webhooks not configured")
	}
	if n.Channel != ChannelConsole {
		kind := egress.PersonMail
		if n.Channel == ChannelWebhook {
			kind = egress.Webhook
		}
		item, participants := s.receivedItem(p)
		a.egress = egress.Decide(egress.Request{Item: item, Context: egress.NewContext(s.dir, participants),
			To: egress.Destination{Kind: kind, Team: s.dir.Self.ID, Encrypted: kind == egress.PersonMail && a.contact.PGPKey != ""}})
		if !a.egress.Allowed() {
			return skip("refused by the egress rule: " + a.egress.Reason())
		}
	}
	if n.Channel == ChannelEmail {
		if a.code, err = s.issueCode(ctx, tx, p.ID, s.dir.Self.ID, n.User, codeNotify, a.egress.Full()); err != nil {
			return nil, err
		}
	}
	n.State, n.AttemptedAt = "sending", &now
	a.n = n
	return a, tx.PutNotification(ctx, n)
}

// deliverAttempt makes the attempt; no database transaction is open meanwhile.
func (s *Service) deliverAttempt(ctx context.Context, a *attempt) error {
	msg := s.render(a)
	switch a.n.Channel {
	case ChannelConsole:
		return nil
	case ChannelEmail:
		subject, body := notify.RenderMail(msg)
		return s.channels.Mail.Send(ctx, notify.Mail{To: a.contact.Address, Subject: subject, Body: body,
			RecipientKey: a.contact.PGPKey, Headers: map[string]string{"X-Csirtlink-Page": a.page.ID}, Egress: a.egress})
	case ChannelWebhook:
		event := "page"
		if a.page.Drill {
			event = "commcheck"
		}
		return s.channels.Webhook.Send(ctx, a.egress, a.contact.Address, a.contact.Secret, event, notify.WebhookPayload(msg))
	}
	return fmt.Errorf("unknown channel %q", a.n.Channel)
}

func (s *Service) render(a *attempt) notify.Page {
	from, _ := s.dir.Team(a.page.From)
	msg := notify.Page{ID: a.page.ID, From: a.page.From, FromName: from.Name, To: s.dir.Self.ID, Severity: a.page.Severity,
		Summary: a.page.Summary, Details: a.page.Details, TLP: a.page.TLP, IncidentID: a.page.IncidentID, Drill: a.page.Drill,
		SentAt: a.page.CreatedAt, FromZone: from.Location(), ToZone: s.dir.Self.Location(), Level: a.n.Level, Round: a.n.Round,
		AckCode: a.code, Egress: a.egress}
	if a.code != "" && s.opts.PublicURL != "" {
		msg.AckURL = strings.TrimRight(s.opts.PublicURL, "/") + AckPath
	}
	return msg
}

// finish records an attempt's result; the first person reached on a real channel makes
// the delivery "notified", and the sender is told.
func (s *Service) finish(ctx context.Context, tx store.Tx, a *attempt, sendErr error) error {
	now := s.clock.Now()
	n := a.n
	n.FinishedAt = &now
	if sendErr != nil {
		n.State, n.Error = "failed", sendErr.Error()
		s.log.Warn("notification failed", "page", n.PageID, "user", n.User, "channel", n.Channel, "err", sendErr)
	} else {
		n.State = "sent"
	}
	if err := tx.PutNotification(ctx, n); err != nil {
		return err
	}
	s.touched(tx, n.PageID)
	if sendErr != nil || n.Channel == ChannelConsole {
		return nil
	}
	d, err := tx.GetDelivery(ctx, n.PageID, s.dir.Self.ID)
	if err != nil || d.NotifiedAt != nil {
		return err
	}
	d.NotifiedAt, d.NotifiedChannel = &now, n.Channel
	if stateRank[d.State] < stateRank[Notified] {
		d.State = Notified
	}
	if err := tx.PutDelivery(ctx, d); err != nil {
		return err
	}
	return s.tellSender(ctx, tx, a.page, stateChange{PageID: n.PageID, Team: s.dir.Self.ID, State: Notified, At: now, Channel: n.Channel})
}

// Modules returns the hotline's engine modules.
func (s *Service) Modules() []engine.Module {
	return []engine.Module{Escalator{s}, Notifier{s}, Fallback{s}, CommCheckScheduler{s}, OnCallPublisher{s}}
}
