package exchange

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/egress"
	"csirtlink/internal/problem"
	"csirtlink/internal/stix"
	"csirtlink/internal/store"
	"csirtlink/internal/taxii"
	"csirtlink/internal/tlp"
)

// keptStore is what keeping unmapped STIX objects needs of the store (and of a
// transaction of it): the kept objects and the TAXII collection that serves them.
type keptStore interface {
	store.STIXKept
	store.TAXII
}

// keep is an object a STIX import of shared indicators keeps as it came, and why.
type keep struct {
	obj stix.Object
	why string
}

// indicatorProps are the properties of an indicator the import maps into ours (who
// made it and when are the importing team's, its markings its label): an indicator
// with any other is mapped and also kept, so that nothing of it is lost.
var indicatorProps = []string{"type", "spec_version", "id", "created", "modified", "created_by_ref", "object_marking_refs",
	"name", "description", "indicator_types", "pattern", "pattern_type", "valid_from", "valid_until", "confidence",
	"labels", "x_csirtlink_category", "external_references"}

// lostProps are the properties of an indicator's raw JSON the mapping would lose:
// those outside indicatorProps, and external references other than our own.
func lostProps(raw json.RawMessage) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return []string{"(unreadable)"}
	}
	var lost []string
	for k := range m {
		if !slices.Contains(indicatorProps, k) {
			lost = append(lost, k)
		}
	}
	var refs []stix.ExternalReference
	json.Unmarshal(m["external_references"], &refs)
	if slices.ContainsFunc(refs, func(r stix.ExternalReference) bool { return r.SourceName != "csirtlink" }) {
		lost = append(lost, "external_references")
	}
	slices.Sort(lost)
	return lost
}

// keptLabel is the label a kept object goes out under: its strictest TLP marking (on
// the object or any part of it). Absent, it is the import's label; a marking we
// cannot read beside it makes the label at least as strict as the import's, since
// what it says is unknown. Never more permissive than what the object says.
func keptLabel(o stix.Object, fallback tlp.Label) tlp.Label {
	refs := markingRefs(o)
	l, ok := stix.StrictestMarking(refs)
	if !ok {
		return fallback
	}
	if slices.ContainsFunc(refs, func(r string) bool { _, known := stix.LabelOf(r); return !known }) {
		return tlp.Stricter(l, fallback)
	}
	return l
}

// keepObjects stores the objects as they came, with their provenance, and adds each
// (that a TAXII collection can hold: STIX 2.1 with a valid version) to the
// shared-indicators collection, where egress decides per object who reads it: all in
// one transaction. It answers how many it stored that were not held already.
func (s *Service) keepObjects(ctx context.Context, actor, bundle string, objs []keep, fallback tlp.Label) (int, error) {
	if len(objs) == 0 {
		return 0, nil
	}
	now := s.clock.Now()
	rows := make([]store.STIXKeptObject, 0, len(objs))
	for _, k := range objs {
		e := taxii.EntryOf(k.obj.Raw)
		sum := sha256.Sum256(k.obj.Raw)
		rows = append(rows, store.STIXKeptObject{ID: newKeptID(), STIXID: k.obj.ID, Type: k.obj.Type, Version: e.Version,
			TLP: string(keptLabel(k.obj, fallback)), Digest: hex.EncodeToString(sum[:]), ImportedBy: actor, ImportedAt: now,
			Source: bundle, Why: k.why, Raw: k.obj.Raw})
	}
	var added []store.STIXKeptObject
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		ks, ok := tx.(keptStore)
		if !ok {
			return fmt.Errorf("stix import: the store cannot keep STIX objects")
		}
		var err error
		if added, err = ks.AddSTIXKept(ctx, rows); err != nil {
			return err
		}
		var served []store.TAXIIObject
		for _, o := range added {
			e := taxii.EntryOf(o.Raw)
			if e.Err != nil {
				continue
			}
			served = append(served, store.TAXIIObject{ID: e.ID, Version: e.Version, SpecVersion: e.SpecVersion, Type: e.Type,
				TLP: o.TLP, Source: "stix-import:" + o.ID, Raw: o.Raw})
		}
		if len(served) > 0 {
			if _, err := ks.AddTAXIIObjects(ctx, taxii.IndicatorsCollection, served, now); err != nil {
				return err
			}
		}
		return audit.Append(ctx, tx, now, actor, "indicator.import.stix.kept", "",
			fmt.Sprintf("%s: %d objects kept as they came (%d held already)", bundle, len(added), len(rows)-len(added)))
	})
	if err != nil {
		return 0, fmt.Errorf("stix import: keep: %w", err)
	}
	return len(added), nil
}

func newKeptID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keptFor are the kept objects egress lets go to the audience (at most limit), and how
// many it held back.
func (s *Service) keptFor(ctx context.Context, to egress.Destination, limit int) ([]json.RawMessage, int, error) {
	ks, ok := s.st.(keptStore)
	if !ok {
		return nil, 0, nil
	}
	list, err := ks.STIXKeptObjects(ctx, store.STIXKeptQuery{Limit: limit})
	if err != nil {
		return nil, 0, fmt.Errorf("stix export: %w", err)
	}
	var out []json.RawMessage
	withheld := 0
	// Our team imported them, so it is their holder here (the author, for the TLP rule):
	// it has them whatever their label; a peer or an outside audience gets what the
	// rule and its ceiling allow.
	ctxt := egress.NewContext(s.dir, nil)
	for _, o := range list {
		it := tlp.Item{Label: tlp.Label(o.TLP), Author: s.dir.Self.ID}
		d := egress.Decide(egress.Request{Item: it, Context: ctxt, To: to, Now: s.clock.Now()})
		if !d.Full() {
			withheld++
			continue
		}
		out = append(out, o.Raw)
	}
	return out, withheld, nil
}

// KeptObject is a STIX object kept as it came, as the API lists it: the object itself
// (its exact bytes) and its provenance.
type KeptObject struct {
	ID         string          `json:"id"`
	STIXID     string          `json:"stix_id"`
	Type       string          `json:"type"`
	TLP        string          `json:"tlp"`
	ImportedBy string          `json:"imported_by"`
	ImportedAt time.Time       `json:"imported_at"`
	Source     string          `json:"source"`
	Why        string          `json:"why"`
	Object     json.RawMessage `json:"object"`
}

// KeptPage is a page of kept objects; Next is the cursor of the next page, empty at
// the end.
type KeptPage struct {
	Objects []KeptObject `json:"objects"`
	Next    string       `json:"next,omitempty"`
}

// MaxKeptPage bounds a page of kept objects (the limit's message says 1000).
const MaxKeptPage = 1000

// KeptObjects lists the kept STIX objects in the order they were imported, limit at a
// time (1 to MaxKeptPage), after the cursor a previous page gave ("" for the first).
func (s *Service) KeptObjects(ctx context.Context, after string, limit int) (KeptPage, error) {
	var page KeptPage
	if limit < 1 || limit > MaxKeptPage {
		return page, problem.Invalid("limit", "must be a number from 1 to 1000")
	}
	q := store.STIXKeptQuery{Limit: limit + 1}
	if after != "" {
		at, id, ok := strings.Cut(after, ".")
		us, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || us <= 0 || id == "" {
			return page, problem.Invalid("after", "must be the cursor an earlier page gave")
		}
		q.AfterAt, q.AfterID = time.UnixMicro(us).UTC(), id
	}
	ks, ok := s.st.(keptStore)
	if !ok {
		return page, &problem.Error{Status: http.StatusNotImplemented, Code: "not_implemented", Message: "this store keeps no STIX objects"}
	}
	list, err := ks.STIXKeptObjects(ctx, q)
	if err != nil {
		return page, fmt.Errorf("kept stix objects: %w", err)
	}
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		page.Next = fmt.Sprintf("%d.%s", last.ImportedAt.UnixMicro(), last.ID)
	}
	page.Objects = make([]KeptObject, 0, len(list))
	for _, o := range list {
		page.Objects = append(page.Objects, KeptObject{ID: o.ID, STIXID: o.STIXID, Type: o.Type, TLP: o.TLP, ImportedBy: o.ImportedBy,
			ImportedAt: o.ImportedAt, Source: o.Source, Why: o.Why, Object: o.Raw})
	}
	return page, nil
}
