package hotline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"csirtlink/internal/envelope"
	"csirtlink/internal/federation"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Partners' on-call: each node tells every community peer who is on call in each of
// its rotations, by display name only (no contact details), in a TLP:GREEN
// "oncall.summary" envelope. The receiver keeps the latest summary per team.

const typeOnCallSummary = wire.TypeOnCallSummary

// Limits on a summary, checked by the receiver and kept by the sender.
const (
	maxSummaryRotations = 50
	maxSummaryString    = 200
	// SummaryRefresh is the longest a node goes without sending its summary again.
	SummaryRefresh = 15 * time.Minute
	// SummaryStale is the age after which a partner's summary is shown as stale.
	SummaryStale = time.Hour
	// summaryCheck is how often the publisher looks for changes nobody told it of
	// (a person's display name, an override starting).
	summaryCheck = time.Minute
	// summarySkew is how far in the future a partner's summary may be dated.
	summarySkew = 5 * time.Minute
)

// OnCallSummary is what a team tells its partners about who is on call.
type OnCallSummary struct {
	Team         string            `json:"team"`
	At           time.Time         `json:"at"`
	Rotations    []SummaryRotation `json:"rotations"`
	HotlineEmail string            `json:"hotline_email,omitempty"`
}

// SummaryRotation is one rotation in a summary.
type SummaryRotation struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Timezone string       `json:"timezone"`
	Current  SummaryShift `json:"current"`
	Next     SummaryShift `json:"next"`
}

// SummaryShift is one shift in a summary: the person's display name and its times (UTC).
type SummaryShift struct {
	User  string    `json:"user"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// clip cuts s to the summary's string limit (also the limit of a person's name on a
// page).
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxSummaryString {
		return s
	}
	return string([]rune(s)[:maxSummaryString])
}

// onCallSummary is our summary at now, and the earliest hand-off after now (zero if
// there is no rotation).
func (s *Service) onCallSummary(ctx context.Context, now time.Time) (OnCallSummary, time.Time, error) {
	sum := OnCallSummary{Team: s.dir.Self.ID, At: now.UTC().Truncate(time.Microsecond), Rotations: []SummaryRotation{},
		HotlineEmail: clip(s.dir.Self.HotlineEmail)}
	now = sum.At
	rs, err := s.WhoIsOnCall(ctx, now)
	if err != nil {
		return sum, time.Time{}, err
	}
	names := map[string]string{}
	display := func(user string) (string, error) {
		if n, ok := names[user]; ok {
			return n, nil
		}
		n := user
		u, err := s.st.UserByName(ctx, user)
		if err == nil && u.DisplayName != "" {
			n = u.DisplayName
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		names[user] = clip(problem.Printable(n))
		return names[user], nil
	}
	var handoff time.Time
	for _, r := range rs {
		if len(sum.Rotations) == maxSummaryRotations {
			break
		}
		sr := SummaryRotation{ID: clip(r.Rotation), Name: clip(problem.Printable(r.Name)), Timezone: clip(r.Timezone),
			Current: SummaryShift{Start: r.Current.Start.UTC(), End: r.Current.End.UTC()},
			Next:    SummaryShift{Start: r.Next.Start.UTC(), End: r.Next.End.UTC()}}
		if sr.Current.User, err = display(r.Current.User); err != nil {
			return sum, time.Time{}, err
		}
		if sr.Next.User, err = display(r.Next.User); err != nil {
			return sum, time.Time{}, err
		}
		sum.Rotations = append(sum.Rotations, sr)
		if handoff.IsZero() || r.Current.End.Before(handoff) {
			handoff = r.Current.End
		}
	}
	return sum, handoff, nil
}

// digest identifies a summary's content, whenever it was made.
func (sum OnCallSummary) digest() string {
	sum.At = time.Time{}
	b, _ := json.Marshal(sum)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// publisher is what the publisher remembers between cycles, in memory only: after a
// restart the summary is sent again.
type publisher struct {
	mu sync.Mutex
	pubState
}

type pubState struct {
	digest    string    // of the last summary sent; "" before the first
	sentAt    time.Time // when it was sent
	handoff   time.Time // the earliest hand-off after the last look
	checkedAt time.Time // the last look
	dirty     bool      // the on-call configuration changed since
}

// onCallChanged is called after a change to rotations or overrides commits.
func (s *Service) onCallChanged() {
	s.pub.mu.Lock()
	s.pub.dirty = true
	s.pub.mu.Unlock()
	s.wake()
}

// OnCallPublisher is the engine module that sends our on-call summary to every
// community peer: when it changed since the last one sent, when a shift hands off, and
// at least every SummaryRefresh. A team with no rotation sends nothing until it has one.
type OnCallPublisher struct{ s *Service }

// Name names the module.
func (OnCallPublisher) Name() string { return "oncall-publisher" }

// UpdateAll sends the summary if it is due.
func (m OnCallPublisher) UpdateAll(ctx context.Context) error {
	s := m.s
	now := s.clock.Now()
	s.pub.mu.Lock()
	p := s.pub.pubState
	look := p.dirty || p.checkedAt.IsZero() || !now.Before(p.checkedAt.Add(summaryCheck)) ||
		(!p.handoff.IsZero() && !now.Before(p.handoff)) || (p.digest != "" && !now.Before(p.sentAt.Add(SummaryRefresh)))
	s.pub.dirty = false
	s.pub.mu.Unlock()
	if !look {
		return nil
	}
	sum, handoff, err := s.onCallSummary(ctx, now)
	if err != nil {
		s.onCallFailed()
		return err
	}
	digest := sum.digest()
	send := p.digest != digest || !now.Before(p.sentAt.Add(SummaryRefresh))
	if p.digest == "" && len(sum.Rotations) == 0 {
		send = false // nothing to tell yet
	}
	if send {
		if err := s.sendSummary(ctx, sum); err != nil {
			s.onCallFailed()
			return err
		}
	}
	s.pub.mu.Lock()
	s.pub.checkedAt, s.pub.handoff = now, handoff
	if send {
		s.pub.digest, s.pub.sentAt = digest, now
	}
	s.pub.mu.Unlock()
	return nil
}

// onCallFailed makes the publisher look again on the next cycle.
func (s *Service) onCallFailed() {
	s.pub.mu.Lock()
	s.pub.dirty = true
	s.pub.mu.Unlock()
}

// sendSummary queues the summary for every active peer the TLP rule lets it go to,
// after the check every receiver makes of it.
func (s *Service) sendSummary(ctx context.Context, sum OnCallSummary) error {
	if err := ValidateSummary(sum, s.dir.Self.ID, s.clock.Now()); err != nil {
		return fmt.Errorf("on-call summary: %w", err)
	}
	payload, err := encodeSummary(sum)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx store.Tx) error {
		for _, p := range s.dir.Peers() {
			if !p.IsActive() {
				continue
			}
			err := s.fed.Enqueue(ctx, tx, federation.Message{To: p.ID, Type: typeOnCallSummary, ObjectID: s.dir.Self.ID,
				Payload: payload, Item: tlp.Item{Label: tlp.Green, Author: s.dir.Self.ID}})
			if errors.Is(err, federation.ErrNotAllowed) {
				continue // not in the community
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// sane reports whether t is a plausible instant for an on-call summary.
func sane(t time.Time) bool {
	return t.Year() >= 2000 && t.Year() < 2200
}

// checkString holds a summary's strings to what a person's name or a title is held to
// (CheckLine): UTF-8, a bounded length, no control or bidirectional formatting
// characters.
func checkString(what, v string) error {
	return problem.CheckLine(what, v, maxSummaryString, false)
}

func checkShift(what string, sh SummaryShift) error {
	if err := checkString(what+" user", sh.User); err != nil {
		return err
	}
	if !sane(sh.Start) || !sane(sh.End) || !sh.Start.Before(sh.End) {
		return fmt.Errorf("%s: bad times %s → %s", what, sh.Start.Format(time.RFC3339), sh.End.Format(time.RFC3339))
	}
	return nil
}

// ValidateSummary checks a summary made by team origin, at now: the publisher runs it
// on ours before sending, applySummary on each one a partner sends.
func ValidateSummary(sum OnCallSummary, origin string, now time.Time) error {
	switch {
	case sum.Team != origin:
		return fmt.Errorf("summary for team %q sent by %s", sum.Team, origin)
	case !sane(sum.At) || sum.At.After(now.Add(summarySkew)):
		return fmt.Errorf("summary dated %s", sum.At.Format(time.RFC3339))
	case len(sum.Rotations) > maxSummaryRotations:
		return fmt.Errorf("%d rotations, more than %d", len(sum.Rotations), maxSummaryRotations)
	}
	if err := checkString("hotline_email", sum.HotlineEmail); err != nil {
		return err
	}
	for i, r := range sum.Rotations {
		what := fmt.Sprintf("rotations[%d]", i)
		for _, f := range []struct{ name, v string }{{"id", r.ID}, {"name", r.Name}, {"timezone", r.Timezone}} {
			if err := checkString(what+" "+f.name, f.v); err != nil {
				return err
			}
		}
		if err := checkShift(what+" current", r.Current); err != nil {
			return err
		}
		if err := checkShift(what+" next", r.Next); err != nil {
			return err
		}
	}
	return nil
}

// applySummary keeps a partner's on-call summary, unless we hold a newer one.
func (s *Service) applySummary(ctx context.Context, tx store.Tx, env *envelope.Envelope) error {
	sum, err := decodeSummary(env)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	if err := ValidateSummary(sum, env.Origin, now); err != nil {
		return refuse("on-call summary from "+env.Origin, err)
	}
	sum.At = sum.At.UTC()
	data, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	_, err = tx.PutPeerOnCall(ctx, store.PeerOnCall{Team: sum.Team, Data: data, At: sum.At, ReceivedAt: now.UTC()})
	return err
}

// PartnerOnCall is who is on call at one partner team, as its node last told us.
type PartnerOnCall struct {
	Team         string            `json:"team"`
	Name         string            `json:"name"`
	Timezone     string            `json:"timezone"`
	At           time.Time         `json:"at"`
	ReceivedAt   time.Time         `json:"received_at"`
	Stale        bool              `json:"stale"`
	HotlineEmail string            `json:"hotline_email,omitempty"`
	Rotations    []SummaryRotation `json:"rotations"`
}

// PartnersOnCall lists, for each peer that sent one, its latest on-call summary; a
// summary older than SummaryStale is marked stale.
func (s *Service) PartnersOnCall(ctx context.Context) ([]PartnerOnCall, error) {
	ps, err := s.st.PeerOnCalls(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	out := []PartnerOnCall{}
	for _, p := range ps {
		tm, ok := s.dir.Team(p.Team)
		if !ok || p.Team == s.dir.Self.ID {
			continue
		}
		var sum OnCallSummary
		if err := json.Unmarshal(p.Data, &sum); err != nil {
			return nil, fmt.Errorf("on-call summary of %s: %w", p.Team, err)
		}
		if sum.Rotations == nil {
			sum.Rotations = []SummaryRotation{}
		}
		out = append(out, PartnerOnCall{Team: p.Team, Name: tm.Name, Timezone: tm.Timezone, At: p.At, ReceivedAt: p.ReceivedAt,
			Stale: now.Sub(p.At) > SummaryStale, HotlineEmail: sum.HotlineEmail, Rotations: sum.Rotations})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Team < out[j].Team })
	return out, nil
}
