package partner

import (
	"context"
	"fmt"
	"os"
	"sync"

	"csirtlink/internal/audit"
	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/identity"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

func (s *Service) registerHandlers() {
	s.fed.Handle(wire.TypeConstituency, s.applyConstituency)
	s.fed.Handle(wire.TypeKeyRotation, s.applyRotation)
	s.fed.Handle(wire.TypeVerifyAsk, s.applyVerify)
	s.fed.OnDelivered(s.rotationDelivered)
}

// rotationBytes are the bytes both keys sign: the statement without its signatures.
func rotationBytes(k wire.KeyRotation) ([]byte, error) {
	k.OldSig, k.NewSig = nil, nil
	b, err := wire.EncodeKeyRotation(k)
	if err != nil {
		return nil, err
	}
	return append([]byte(tagRotation), b...), nil
}

// VerifyRotation checks a rotation statement: signed by the key we know for the team
// (old) and by the new key it announces.
func VerifyRotation(k wire.KeyRotation, known string) error {
	if k.OldKey != known {
		return fmt.Errorf("old_key: not the key on file for %s", k.Team)
	}
	if k.NewKey == k.OldKey {
		return fmt.Errorf("new_key: the same as the old key")
	}
	oldPub, err := identity.ParsePublic(k.OldKey)
	if err != nil {
		return fmt.Errorf("old_key: %w", err)
	}
	newPub, err := identity.ParsePublic(k.NewKey)
	if err != nil {
		return fmt.Errorf("new_key: %w", err)
	}
	msg, err := rotationBytes(k)
	if err != nil {
		return err
	}
	if !identity.Verify(oldPub, msg, k.OldSig) {
		return fmt.Errorf("old_sig: not the old key's signature")
	}
	if !identity.Verify(newPub, msg, k.NewSig) {
		return fmt.Errorf("new_sig: not the new key's signature")
	}
	return nil
}

// rotation is a rotation of our key under way: announced to the peers, not yet
// switched to, until every peer it was sent to has receipted it.
type rotation struct {
	mu      sync.Mutex
	next    identity.Key
	waiting map[string]bool
	path    string
}

// Rotate makes a new node key. Normally the statement, signed by the old key and the
// new one, is sent to every active peer, and we switch to the new key once each has
// receipted it (they then accept both for the grace period). compromised switches at
// once without a statement: the old key may be in other hands, so partners must check
// our new safety number again (docs/partners.md).
func (s *Service) Rotate(ctx context.Context, keyFile, actor string, compromised bool) (string, error) {
	next, err := identity.Generate()
	if err != nil {
		return "", err
	}
	now := s.clock.Now().UTC()
	peers := s.dir.ActivePeers()
	if compromised || len(peers) == 0 {
		return next.Public(), s.switchKey(ctx, next, keyFile, actor, map[bool]string{true: "compromised", false: "rotated"}[compromised])
	}
	st := wire.KeyRotation{Version: wire.PartnerVersion, Team: s.dir.Self.ID, OldKey: s.key.Public(), NewKey: next.Public(), At: now}
	msg, err := rotationBytes(st)
	if err != nil {
		return "", err
	}
	st.OldSig, st.NewSig = s.key.Sign(msg), next.Sign(msg)
	payload, err := wire.EncodeKeyRotation(st)
	if err != nil {
		return "", err
	}
	if keyFile != "" {
		if err := next.Replace(keyFile + ".next"); err != nil {
			return "", err
		}
	}
	r := &rotation{next: next, waiting: map[string]bool{}, path: keyFile}
	for _, p := range peers {
		r.waiting[p] = true
	}
	s.mu.Lock()
	s.rotating = r
	s.mu.Unlock()
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		for _, p := range peers {
			if err := s.fed.Enqueue(ctx, tx, federation.Message{To: p, Type: wire.TypeKeyRotation, ObjectID: st.Team + ":" + st.NewKey,
				Item: tlp.Item{Label: tlp.Clear, Author: st.Team}, Payload: payload}); err != nil {
				return err
			}
		}
		return audit.Append(ctx, tx, now, actor, "key.rotate", st.Team, "announced "+st.NewKey+"; switching once every partner has it")
	})
	if err != nil {
		return "", fmt.Errorf("partner: rotate: %w", err)
	}
	return next.Public(), nil
}

// rotationDelivered switches to the new key once the last peer receipted the statement.
func (s *Service) rotationDelivered(ctx context.Context, tx store.Tx, env *envelope.Envelope, _ *envelope.Receipt) error {
	if env.Type != wire.TypeKeyRotation {
		return nil
	}
	s.mu.Lock()
	r := s.rotating
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	delete(r.waiting, env.Destination)
	done := len(r.waiting) == 0
	r.mu.Unlock()
	if done {
		tx.OnCommit(func() {
			if err := s.switchKey(context.WithoutCancel(ctx), r.next, r.path, "system", "rotated"); err != nil {
				s.log.Error("switch key", "err", err)
			}
		})
	}
	return nil
}

// switchKey makes next our signing key everywhere, and on disk.
func (s *Service) switchKey(ctx context.Context, next identity.Key, keyFile, actor, how string) error {
	s.mu.Lock()
	s.rotating = nil
	s.mu.Unlock()
	if keyFile != "" {
		if err := next.Replace(keyFile); err != nil {
			return err
		}
		os.Remove(keyFile + ".next")
	}
	old := s.key.Rotate(next)
	s.dir.SetSelfKey(next.PublicKey())
	return s.st.InTx(ctx, func(tx store.Tx) error {
		return audit.Append(ctx, tx, s.clock.Now(), actor, "key.switch", s.dir.Self.ID, fmt.Sprintf("%s: %s replaces %s", how, next.Public(), old.Public()))
	})
}

// applyRotation takes a partner's key rotation: signed by the key we hold for it and by
// the new one. The old key stays valid for the grace period.
func (s *Service) applyRotation(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	k, err := wire.DecodeKeyRotation(env.Payload)
	if err != nil {
		return federation.Rejectf("%v", err)
	}
	if k.Team != env.Origin {
		return federation.Rejectf("team: %q sent a rotation for %q", env.Origin, k.Team)
	}
	p, ok := s.dir.Peer(env.Origin)
	if !ok {
		return federation.Rejectf("%q is not a partner", env.Origin)
	}
	if err := VerifyRotation(k, p.PublicKey); err != nil {
		return federation.Rejectf("key rotation: %v", err)
	}
	now := s.clock.Now().UTC()
	grace := now.Add(s.opts.Grace)
	p.PublicKey, p.Source = k.NewKey, team.SourceDirectory
	if err := s.putRow(ctx, tx, p); err != nil {
		return err
	}
	if err := tx.PutPartnerKey(ctx, store.PartnerKey{Team: p.ID, PublicKey: k.OldKey, AddedAt: now, RetiredAt: &now, GraceUntil: &grace, Reason: ReasonRotated}); err != nil {
		return err
	}
	if err := tx.PutPartnerKey(ctx, store.PartnerKey{Team: p.ID, PublicKey: k.NewKey, AddedAt: now, Reason: ReasonRotated}); err != nil {
		return err
	}
	if err := audit.Append(ctx, tx, now, env.Origin, "partner.key.rotate", p.ID, k.NewKey+" replaces "+k.OldKey); err != nil {
		return err
	}
	newPub, _ := identity.ParsePublic(k.NewKey)
	tx.OnCommit(func() {
		if err := s.dir.Rotate(p.ID, newPub, now, grace); err != nil {
			s.log.Error("directory", "peer", p.ID, "err", err)
		}
	})
	return nil
}
