package federation

import (
	"context"
	"errors"
	"time"

	"csirtlink/internal/store"
)

// Link health, as operators see it. Each is a word a duty officer can act on.
const (
	HealthOK      = "ok"      // both directions worked recently
	HealthError   = "error"   // the last send (or pull) failed and nothing has succeeded since
	HealthStalled = "stalled" // an exchange has waited for an answer for over StallAfter
	HealthLagging = "lagging" // envelopes have waited over LagAfter
	HealthQuiet   = "quiet"   // no successful exchange in one direction for over RecentContact
	HealthUnknown = "unknown" // no contact yet
	HealthRevoked = "revoked" // refused and sent nothing
)

// Thresholds of link health. A working link has traffic both ways at least every
// heartbeat (Options.IdlePoll, 30 s by default), so RecentContact allows four missed.
const (
	StallAfter    = 15 * time.Second
	LagAfter      = time.Minute
	RecentContact = 2 * time.Minute
)

// LinkState is what an operator sees of one peer link.
type LinkState struct {
	Peer       string  `json:"peer"`
	Name       string  `json:"name"`
	URL        string  `json:"url,omitempty"`
	Delivery   string  `json:"delivery"`
	PullFrom   bool    `json:"pull_from"`
	Revoked    bool    `json:"revoked"`
	Health     string  `json:"health"`
	Queued     int     `json:"queued"`
	Delivered  int     `json:"delivered"`
	LagSeconds float64 `json:"lag_seconds"`
	// InFlightSince is when the oldest push or pull now under way began; nil when
	// none is. InFlightSeconds is how long it has waited, by this node's clock.
	InFlightSince   *time.Time `json:"in_flight_since,omitempty"`
	InFlightSeconds float64    `json:"in_flight_seconds,omitempty"`
	OldestQueued    *time.Time `json:"oldest_queued,omitempty"`
	LastContactAt   *time.Time `json:"last_contact_at,omitempty"`
	LastDeliveredAt *time.Time `json:"last_delivered_at,omitempty"`
	// LastSentAt is the last successful send (the peer took our envelopes or answered
	// our heartbeat); LastReceivedAt the last time the peer reached us or answered our
	// pull.
	LastSentAt     *time.Time `json:"last_sent_at,omitempty"`
	LastReceivedAt *time.Time `json:"last_received_at,omitempty"`
	// LastError is the last failed send: only a later successful send clears it, not
	// traffic from the peer. LastPullError is the same for our pulls.
	LastError       string     `json:"last_error,omitempty"`
	LastErrorAt     *time.Time `json:"last_error_at,omitempty"`
	LastPullError   string     `json:"last_pull_error,omitempty"`
	LastPullErrorAt *time.Time `json:"last_pull_error_at,omitempty"`
	LastInSeq       uint64     `json:"last_in_seq"`
	NextOutSeq      uint64     `json:"next_out_seq"`
	// Progress of the whole link: envelopes the peer acknowledged per second over the
	// last minute, and how long what is queued would take at that rate.
	Progress
	// Kinds is the same, and the counts, for each kind of envelope on the link.
	Kinds []KindState `json:"kinds"`
}

// Progress is a rate over the last minute and the time to catch up at it. ETASeconds
// is 0 with nothing queued, and absent when something waits and nothing was
// acknowledged in the last minute: no rate to estimate from.
type Progress struct {
	RatePerSecond float64  `json:"rate_per_second"`
	ETASeconds    *float64 `json:"eta_seconds,omitempty"`
}

// KindState is one kind of envelope (its type) on one link: Queued wait for the
// peer's receipt, Sent of them were sent at least once without one yet, Acknowledged
// were receipted, ever.
type KindState struct {
	Type         string `json:"type"`
	Queued       int    `json:"queued"`
	Sent         int    `json:"sent"`
	Acknowledged int    `json:"acknowledged"`
	Progress
}

// rateWindow is how far back the rate of acknowledgements is measured.
const rateWindow = time.Minute

func progress(queued, ackedInWindow int) Progress {
	p := Progress{RatePerSecond: float64(ackedInWindow) / rateWindow.Seconds()}
	switch {
	case queued == 0:
		p.ETASeconds = new(float64)
	case p.RatePerSecond > 0:
		eta := float64(queued) / p.RatePerSecond
		p.ETASeconds = &eta
	}
	return p
}

// Links reports the state of every peer link.
func (f *Federation) Links(ctx context.Context) ([]LinkState, error) {
	var out []LinkState
	now := f.clock.Now()
	for _, p := range f.dir.Peers() {
		l, err := f.st.GetLink(ctx, p.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// A partner added at runtime and not yet active has no link yet.
			l = store.Link{Peer: p.ID}
		case err != nil:
			return nil, err
		}
		s, err := f.st.OutboxStats(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		ls := LinkState{Peer: p.ID, Name: p.Name, URL: p.URL, Delivery: p.Delivery, PullFrom: p.PullFrom, Revoked: p.Revoked,
			Queued: s.Queued, Delivered: s.Delivered, OldestQueued: s.OldestQueued,
			LastContactAt: l.LastContactAt, LastDeliveredAt: l.LastDeliveredAt, LastSentAt: l.LastSentAt, LastReceivedAt: l.LastReceivedAt,
			LastError: l.LastError, LastErrorAt: l.LastErrorAt, LastPullError: l.LastPullError, LastPullErrorAt: l.LastPullErrorAt,
			LastInSeq: l.LastInSeq, NextOutSeq: l.NextSeq}
		kinds, err := f.st.OutboxProgress(ctx, p.ID, now.Add(-rateWindow))
		if err != nil {
			return nil, err
		}
		ls.Kinds = make([]KindState, len(kinds))
		acked := 0
		for i, k := range kinds {
			ls.Kinds[i] = KindState{Type: k.Type, Queued: k.Queued, Sent: k.Sent, Acknowledged: k.Acknowledged,
				Progress: progress(k.Queued, k.AcknowledgedSince)}
			acked += k.AcknowledgedSince
		}
		ls.Progress = progress(s.Queued, acked)
		if s.OldestQueued != nil {
			ls.LagSeconds = max(0, now.Sub(*s.OldestQueued).Seconds())
		}
		if since := f.state(p.ID).inFlightSince(); !since.IsZero() {
			ls.InFlightSince, ls.InFlightSeconds = &since, max(0, now.Sub(since).Seconds())
		}
		ls.Health = health(ls, l, now)
		out = append(out, ls)
	}
	return out, nil
}

// health sums a link up in one word, the worst that is true. "ok" needs a recent
// success in each direction: an idle link still has heartbeats, and a link that only
// works one way is not healthy.
func health(ls LinkState, l store.Link, now time.Time) string {
	recent := func(t *time.Time) bool { return t != nil && now.Sub(*t) <= RecentContact }
	switch {
	case ls.Revoked:
		return HealthRevoked
	case ls.InFlightSince != nil && now.Sub(*ls.InFlightSince) > StallAfter:
		// What happens now comes before how the last attempt ended.
		return HealthStalled
	case l.LastError != "" || l.LastPullError != "":
		// Each is cleared only by a success in its own direction.
		return HealthError
	case l.LastSentAt == nil && l.LastReceivedAt == nil:
		return HealthUnknown
	case ls.Queued > 0 && ls.LagSeconds > LagAfter.Seconds():
		return HealthLagging
	case !recent(l.LastSentAt) || !recent(l.LastReceivedAt):
		return HealthQuiet
	}
	return HealthOK
}
