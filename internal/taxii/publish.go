package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/indicator"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
)

// Publisher keeps the shared-indicators collection in step with the indicators this
// node holds: each version of an indicator becomes a version of its STIX indicator,
// and a revocation (or a withdrawal, which takes the object from us) a new version with
// revoked set. Which consumer sees which is decided when they read (Server.decide).
type Publisher struct {
	st interface {
		store.TAXII
		store.Indicators
	}
}

// NewPublisher makes a publisher over the node's store.
func NewPublisher(st interface {
	store.TAXII
	store.Indicators
}) *Publisher {
	return &Publisher{st: st}
}

// Publish adds the current version of indicator id to the collection, if it is not
// there yet.
func (p *Publisher) Publish(ctx context.Context, id string, now time.Time) error {
	ind, err := p.st.GetIndicator(ctx, id)
	if err != nil {
		return fmt.Errorf("taxii: publish %s: %w", id, err)
	}
	return p.publish(ctx, ind, now)
}

// publishBatch is the most indicators read and added to the collection in one
// transaction.
const publishBatch = 1000

// PublishMany is Publish for many indicators (a bulk chunk's) in a transaction per
// publishBatch of them rather than one each.
func (p *Publisher) PublishMany(ctx context.Context, ids []string, now time.Time) error {
	for lo := 0; lo < len(ids); lo += publishBatch {
		inds, err := p.st.GetIndicators(ctx, ids[lo:min(lo+publishBatch, len(ids))])
		if err != nil {
			return fmt.Errorf("taxii: publish: %w", err)
		}
		if err := p.publishAll(ctx, inds, now); err != nil {
			return err
		}
	}
	return nil
}

// Sync publishes every indicator held (those already published are skipped by the
// store): run at start, so that the collection catches up with changes made while
// the node was down. It pages through them, publishBatch at a time, so that a node
// holding millions starts in the memory of one page.
func (p *Publisher) Sync(ctx context.Context, now time.Time) (int, error) {
	n, after := 0, ""
	for {
		page, err := p.st.IndicatorsAfter(ctx, after, publishBatch)
		if err != nil {
			return n, fmt.Errorf("taxii: sync: %w", err)
		}
		if err := p.publishAll(ctx, page, now); err != nil {
			return n, err
		}
		n += len(page)
		if len(page) < publishBatch {
			return n, nil
		}
		after = page[len(page)-1].ID
	}
}

func (p *Publisher) publish(ctx context.Context, ind store.Indicator, now time.Time) error {
	return p.publishAll(ctx, []store.Indicator{ind}, now)
}

// publishAll adds the current versions of inds to the collection in one transaction.
func (p *Publisher) publishAll(ctx context.Context, inds []store.Indicator, now time.Time) error {
	objs := make([]store.TAXIIObject, 0, len(inds))
	for _, ind := range inds {
		var obj store.TAXIIObject
		var err error
		if ind.State == store.IndicatorActive {
			obj, err = MapIndicator(ind)
		} else {
			obj, err = p.revoked(ctx, ind)
		}
		if err != nil {
			return fmt.Errorf("taxii: publish %s: %w", ind.ID, err)
		}
		if obj.ID == "" {
			continue
		}
		obj.Source = "local"
		objs = append(objs, obj)
	}
	if len(objs) == 0 {
		return nil
	}
	if _, err := p.st.AddTAXIIObjects(ctx, IndicatorsCollection, objs, now); err != nil {
		return fmt.Errorf("taxii: publish %d indicators: %w", len(objs), err)
	}
	return nil
}

// MapIndicator is the STIX indicator of one of our active indicators, as a collection
// object (indicator.STIXData maps it).
func MapIndicator(ind store.Indicator) (store.TAXIIObject, error) {
	d, err := indicator.STIXData(ind)
	if err != nil {
		return store.TAXIIObject{}, fmt.Errorf("taxii: %w", err)
	}
	si, err := stix.IndicatorFrom(d)
	if err != nil {
		return store.TAXIIObject{}, fmt.Errorf("taxii: %w", err)
	}
	raw, err := stix.Marshal(si)
	if err != nil {
		return store.TAXIIObject{}, err
	}
	return store.TAXIIObject{ID: si.ID, Version: si.Modified.Time, SpecVersion: stix.SpecVersion, Type: si.Type, TLP: ind.TLP, Raw: raw}, nil
}

// revoked is the revocation of a tombstone: the last version served, with revoked set
// and modified at the revocation. Nothing was served of an indicator never published,
// so nothing is revoked.
func (p *Publisher) revoked(ctx context.Context, ind store.Indicator) (store.TAXIIObject, error) {
	id := stix.IndicatorID(ind.ID)
	last, err := p.st.TAXIIObjects(ctx, store.TAXIIQuery{Collection: IndicatorsCollection, IDs: []string{id},
		Labels: tlpStrings(), Version: store.TAXIIVersion{Last: true}, Limit: 1})
	if err != nil || len(last) == 0 {
		return store.TAXIIObject{}, err
	}
	prev := last[0]
	var c stix.Common
	if err := json.Unmarshal(prev.Raw, &c); err != nil {
		return store.TAXIIObject{}, fmt.Errorf("taxii: revoke %s: %w", id, err)
	}
	if c.Revoked {
		return store.TAXIIObject{}, nil
	}
	at := ind.Modified
	if ind.RevokedAt != nil {
		at = *ind.RevokedAt
	}
	c.Revoke(at)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(prev.Raw, &m); err != nil {
		return store.TAXIIObject{}, fmt.Errorf("taxii: revoke %s: %w", id, err)
	}
	m["revoked"] = json.RawMessage("true")
	m["modified"], _ = json.Marshal(c.Modified)
	raw, err := stix.Marshal(m)
	if err != nil {
		return store.TAXIIObject{}, err
	}
	return store.TAXIIObject{ID: id, Version: c.Modified.Time, SpecVersion: prev.SpecVersion, Type: prev.Type, TLP: prev.TLP, Raw: raw}, nil
}

func tlpStrings() []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = string(l)
	}
	return out
}

// SyncModule runs Publisher.Sync once when the engine starts: an engine module, so
// that one replica does it, and a command that opens the node for an admin task does
// not.
type SyncModule struct {
	p     *Publisher
	clock clock.Clock
	done  bool
}

// NewSyncModule makes the module.
func NewSyncModule(p *Publisher, clk clock.Clock) *SyncModule { return &SyncModule{p: p, clock: clk} }

// Name names the module.
func (m *SyncModule) Name() string { return "taxii-sync" }

// UpdateAll syncs the collection the first time it runs.
func (m *SyncModule) UpdateAll(ctx context.Context) error {
	if m.done {
		return nil
	}
	if _, err := m.p.Sync(ctx, m.clock.Now()); err != nil {
		return err
	}
	m.done = true
	return nil
}
