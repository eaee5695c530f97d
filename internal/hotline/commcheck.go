package hotline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"csirtlink/internal/store"
)

// RunCommCheck pages partners (or "all") with a low-severity drill page that still needs
// a person's acknowledgement, and records it as a comm check.
func (s *Service) RunCommCheck(ctx context.Context, a Actor, to []string) (store.CommCheck, error) {
	if len(to) == 0 {
		to = []string{"all"}
	}
	var cc store.CommCheck
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		now := s.clock.Now().Truncate(time.Microsecond)
		num, err := tx.NextCounter(ctx, fmt.Sprintf("commcheck-%d", now.Year()))
		if err != nil {
			return err
		}
		id := fmt.Sprintf("%s-%d-c%04d", s.dir.Self.ID, now.Year(), num)
		p, err := s.sendTx(ctx, tx, a, NewPage{To: to, Severity: "low", TLP: "CLEAR",
			Summary: fmt.Sprintf("Comm check %s from %s: please acknowledge", id, s.dir.Self.Name),
			Details: "This is a drill of the technical hotline. No action is needed beyond acknowledging this page; the time to acknowledge is recorded."}, id)
		if err != nil {
			return err
		}
		cc = store.CommCheck{ID: id, PageID: p.ID, CreatedBy: a.label(), CreatedAt: now}
		for _, d := range p.Deliveries {
			cc.Teams = append(cc.Teams, d.Team)
		}
		return tx.CreateCommCheck(ctx, cc)
	})
	return cc, err
}

// PartnerResult is one partner's answer to one comm check.
type PartnerResult struct {
	Team            string     `json:"team"`
	State           string     `json:"state"`
	Answered        bool       `json:"answered"`
	AcknowledgedAt  *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy  string     `json:"acknowledged_by,omitempty"`
	Via             string     `json:"via,omitempty"`
	NotifiedChannel string     `json:"notified_channel,omitempty"`
	Seconds         *float64   `json:"seconds_to_ack,omitempty"`
}

// CommCheckResult is one comm check and how each partner answered.
type CommCheckResult struct {
	store.CommCheck
	Results []PartnerResult `json:"results"`
}

// PartnerSummary sums up a partner's answers over the checks in a report.
type PartnerSummary struct {
	Team          string   `json:"team"`
	Checks        int      `json:"checks"`
	Answered      int      `json:"answered"`
	MedianSeconds *float64 `json:"median_seconds,omitempty"`
	WorstSeconds  *float64 `json:"worst_seconds,omitempty"`
}

// Report is the comm-check history and a summary per partner.
type Report struct {
	Checks   []CommCheckResult `json:"checks"`
	Partners []PartnerSummary  `json:"partners"`
}

// CommCheckReport reports the last limit comm checks, newest first.
func (s *Service) CommCheckReport(ctx context.Context, limit int) (Report, error) {
	ccs, err := s.st.CommChecks(ctx, limit)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Checks: []CommCheckResult{}, Partners: []PartnerSummary{}}
	times := map[string][]float64{}
	sums := map[string]*PartnerSummary{}
	for _, cc := range ccs {
		p, err := s.st.GetPage(ctx, cc.PageID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return Report{}, err
		}
		r := CommCheckResult{CommCheck: cc, Results: []PartnerResult{}}
		for _, d := range p.Deliveries {
			pr := PartnerResult{Team: d.Team, State: d.State, AcknowledgedAt: d.AcknowledgedAt, AcknowledgedBy: d.AcknowledgedBy,
				Via: d.AckVia, NotifiedChannel: d.NotifiedChannel}
			sum := sums[d.Team]
			if sum == nil {
				sum = &PartnerSummary{Team: d.Team}
				sums[d.Team] = sum
			}
			sum.Checks++
			if d.AcknowledgedAt != nil {
				// The acknowledgement is stamped by the partner's clock; a small skew
				// between the nodes must not show as a negative time.
				secs := max(d.AcknowledgedAt.Sub(d.SentAt).Seconds(), 0)
				pr.Answered, pr.Seconds = true, &secs
				sum.Answered++
				times[d.Team] = append(times[d.Team], secs)
			}
			r.Results = append(r.Results, pr)
		}
		rep.Checks = append(rep.Checks, r)
	}
	for team, sum := range sums {
		if ts := times[team]; len(ts) > 0 {
			slices.Sort(ts)
			med := median(ts)
			worst := ts[len(ts)-1]
			sum.MedianSeconds, sum.WorstSeconds = &med, &worst
		}
		rep.Partners = append(rep.Partners, *sum)
	}
	sort.Slice(rep.Partners, func(i, j int) bool { return rep.Partners[i].Team < rep.Partners[j].Team })
	return rep, nil
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// CommCheckScheduler is the engine module that runs a comm check with every peer when
// the configured interval has passed since the last one.
type CommCheckScheduler struct{ s *Service }

// Name names the module.
func (CommCheckScheduler) Name() string { return "commcheck-scheduler" }

// UpdateAll runs a comm check if one is due.
func (m CommCheckScheduler) UpdateAll(ctx context.Context) error {
	s := m.s
	if s.opts.CommCheckEvery <= 0 {
		return nil
	}
	last, err := s.st.CommChecks(ctx, 1)
	if err != nil {
		return err
	}
	if len(last) > 0 && s.clock.Now().Sub(last[0].CreatedAt) < s.opts.CommCheckEvery {
		return nil
	}
	_, err = s.RunCommCheck(ctx, Actor{Name: "scheduler"}, nil)
	return err
}
