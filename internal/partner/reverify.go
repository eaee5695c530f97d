package partner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Re-verification: every partner is asked, through federation, to confirm its entry
// every Reverify period. The ask becomes a low-severity task for the partner's admins
// (Tasks); their confirmation comes back and sets verified_at here.

const (
	settingAsked = "verify-asked" // when we last asked each partner
	settingAsks  = "verify-asks"  // partners asking us, and since when
	askEvery     = 24 * time.Hour // an unanswered ask is repeated daily
)

func (s *Service) timeMap(ctx context.Context, tx store.Tx, name string) (map[string]time.Time, error) {
	m := map[string]time.Time{}
	b, err := tx.GetSetting(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	return m, json.Unmarshal(b, &m)
}

func (s *Service) putTimeMap(ctx context.Context, tx store.Tx, name string, m map[string]time.Time) error {
	b, _ := json.Marshal(m)
	return tx.PutSetting(ctx, name, b, s.clock.Now())
}

// Reverifier is the engine module that asks unverified partners to confirm.
func (s *Service) Reverifier() *Reverifier { return &Reverifier{s: s} }

// Reverifier asks each active partner not verified within the period, once a day.
type Reverifier struct{ s *Service }

// Name is the module's name.
func (r *Reverifier) Name() string { return "directory.reverify" }

// UpdateAll sends the asks that are due.
func (r *Reverifier) UpdateAll(ctx context.Context) error {
	s := r.s
	if s.opts.NoAsks {
		return nil
	}
	now := s.clock.Now().UTC()
	defer s.mailDueCodes(ctx, "directory.reverify")
	return s.st.InTx(ctx, func(tx store.Tx) error {
		asked, err := s.timeMap(ctx, tx, settingAsked)
		if err != nil {
			return err
		}
		sent := false
		for _, p := range s.dir.Peers() {
			if !p.IsActive() || !s.Unverified(p) || now.Sub(asked[p.ID]) < askEvery {
				continue
			}
			if err := s.sendVerify(ctx, tx, p.ID, "ask", now); err != nil {
				return err
			}
			asked[p.ID], sent = now, true
		}
		if !sent {
			return nil
		}
		return s.putTimeMap(ctx, tx, settingAsked, asked)
	})
}

func (s *Service) sendVerify(ctx context.Context, tx store.Tx, to, kind string, now time.Time) error {
	own, err := s.Own(ctx)
	if err != nil {
		return err
	}
	payload, err := wire.EncodeVerifyAsk(wire.VerifyAsk{Team: s.dir.Self.ID, Kind: kind, Serial: own.Serial, At: now})
	if err != nil {
		return err
	}
	err = s.fed.Enqueue(ctx, tx, federation.Message{To: to, Type: wire.TypeVerifyAsk, ObjectID: fmt.Sprintf("%s:%s:%d", s.dir.Self.ID, kind, now.UnixMicro()),
		Item: tlp.Item{Label: tlp.Green, Author: s.dir.Self.ID}, Payload: payload})
	if errors.Is(err, federation.ErrNotAllowed) {
		return nil
	}
	return err
}

// Task is a partner asking us to confirm the entry it holds for us.
type Task struct {
	Team  string    `json:"team"`
	Since time.Time `json:"since"`
}

// Tasks lists the partners waiting for our confirmation.
func (s *Service) Tasks(ctx context.Context) ([]Task, error) {
	m, err := s.timeMap(ctx, s.st, settingAsks)
	if err != nil {
		return nil, err
	}
	out := []Task{}
	for id, at := range m {
		out = append(out, Task{Team: id, Since: at})
	}
	slices.SortFunc(out, func(a, b Task) int { return a.Since.Compare(b.Since) })
	return out, nil
}

// Confirm tells every partner that asked (and every active partner) that our entry —
// our introduction and constituency as they hold it — is right.
func (s *Service) Confirm(ctx context.Context, actor string) error {
	now := s.clock.Now().UTC()
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		for _, id := range s.dir.ActivePeers() {
			if err := s.sendVerify(ctx, tx, id, "confirm", now); err != nil {
				return err
			}
		}
		if err := s.putTimeMap(ctx, tx, settingAsks, map[string]time.Time{}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actor, "directory.confirm", s.dir.Self.ID, "our entry confirmed to every partner")
	})
	if err != nil {
		return fmt.Errorf("partner: confirm: %w", err)
	}
	return nil
}

// applyVerify takes a partner's ask (a task for us) or its confirmation (its entry
// here is verified now).
func (s *Service) applyVerify(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	v, err := wire.DecodeVerifyAsk(env.Payload)
	if err != nil {
		return federation.Rejectf("%v", err)
	}
	if v.Team != env.Origin {
		return federation.Rejectf("team: %q sent for %q", env.Origin, v.Team)
	}
	now := s.clock.Now().UTC()
	switch v.Kind {
	case "ask":
		m, err := s.timeMap(ctx, tx, settingAsks)
		if err != nil {
			return err
		}
		if _, ok := m[v.Team]; !ok {
			m[v.Team] = now
		}
		if err := s.putTimeMap(ctx, tx, settingAsks, m); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, v.Team, "directory.verify.asked", v.Team, "asks us to confirm our entry")
	case "confirm":
		p, ok := s.dir.Peer(v.Team)
		if !ok {
			return federation.Rejectf("%q is not a partner", v.Team)
		}
		p.VerifiedAt, p.Source = &now, team.SourceDirectory
		if err := s.putRow(ctx, tx, p); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, now, v.Team, "directory.verify.confirmed", v.Team, fmt.Sprintf("constituency serial %d", v.Serial)); err != nil {
			return err
		}
		tx.OnCommit(func() {
			if err := s.dir.Put(p); err != nil {
				s.log.Error("directory", "peer", p.ID, "err", err)
			}
		})
		return nil
	case wire.VerifyHotline:
		return s.applyHotlineCode(ctx, tx, v)
	default:
		return federation.Rejectf("kind: %q is not ask, confirm or hotline", v.Kind)
	}
}
