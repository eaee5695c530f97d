package cvd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"csirtlink/internal/audit"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/wire"
)

// CaseEdit is a change of a case's own fields by its owner after creation. Nothing is
// removed: a vulnerability or product with the id of one the case has replaces it, one
// without an id is added; a participant is added.
type CaseEdit struct {
	Title           *string         `json:"title,omitempty"`
	Description     *string         `json:"description,omitempty"`
	AddParticipants []string        `json:"add_participants,omitempty"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`
	Products        []Product       `json:"products,omitempty"`
}

// Edit changes a case's own fields (owner only), checks the result as a new case is
// checked, and sends the new snapshot to every participant. A participant added now
// also gets the whole timeline so far, so that it folds the same embargo and statuses;
// until it agrees, the embargo is not agreed by all.
func (s *Service) Edit(ctx context.Context, a Actor, id string, e CaseEdit) (Case, error) {
	if e.Title == nil && e.Description == nil && len(e.AddParticipants)+len(e.Vulnerabilities)+len(e.Products) == 0 {
		return Case{}, problem.BadRequest("nothing to change")
	}
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		c, err := loadLocal(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.Owner != s.Self() {
			return problem.Forbidden("only the owner (%s) does this", c.Owner)
		}
		if s.State(c) == Public {
			return problem.Conflict("case %s is already public", c.ID)
		}
		if e.Title != nil {
			c.Title = strings.TrimSpace(*e.Title)
		}
		if e.Description != nil {
			c.Description = *e.Description
		}
		var added []string
		for _, p := range e.AddParticipants {
			p = strings.ToLower(strings.TrimSpace(p))
			switch {
			case slices.Contains(c.Participants, p):
			case !s.dir.Active(p):
				return problem.Invalid("add_participants", "%q is not a peer of this node", p)
			default:
				c.Participants = append(c.Participants, p)
				added = append(added, p)
			}
		}
		for _, v := range e.Vulnerabilities {
			if i := slices.IndexFunc(c.Vulnerabilities, func(o Vulnerability) bool { return o.ID == v.ID }); v.ID != "" && i >= 0 {
				c.Vulnerabilities[i] = v
				continue
			} else if v.ID != "" {
				return problem.Invalid("vulnerabilities", "%q is not a vulnerability of %s (leave the id out to add one)", v.ID, id)
			}
			v.ID = nextID("v", len(c.Vulnerabilities), func(id string) bool {
				return slices.ContainsFunc(c.Vulnerabilities, func(o Vulnerability) bool { return o.ID == id }) || slices.Contains(c.RemovedItems, id)
			})
			c.Vulnerabilities = append(c.Vulnerabilities, v)
		}
		for _, p := range e.Products {
			if i := slices.IndexFunc(c.Products, func(o Product) bool { return o.ID == p.ID }); p.ID != "" && i >= 0 {
				c.Products[i] = p
				continue
			} else if p.ID != "" {
				return problem.Invalid("products", "%q is not a product of %s (leave the id out to add one)", p.ID, id)
			}
			p.ID = nextID("p", len(c.Products), func(id string) bool {
				return slices.ContainsFunc(c.Products, func(o Product) bool { return o.ID == id }) || slices.Contains(c.RemovedItems, id)
			})
			c.Products = append(c.Products, p)
		}
		c.UpdatedAt = s.now()
		if err := validCase(c, s.Self(), s.clock.Now()); err != nil {
			return err
		}
		score(&c)
		if err := s.save(ctx, tx, &c); err != nil {
			return err
		}
		others := slices.DeleteFunc(slices.Clone(c.Participants), func(t string) bool { return t == s.Self() })
		if err := s.sendCase(ctx, tx, c, others); err != nil {
			return err
		}
		if len(added) > 0 {
			es, err := tx.CVDTimeline(ctx, id)
			if err != nil {
				return err
			}
			for _, en := range es {
				if en.Position > 0 {
					if err := s.send(ctx, tx, c, en, wire.TypeCVDAppend, added...); err != nil {
						return err
					}
				}
			}
		}
		s.notify(tx, id)
		what := []string{}
		if len(added) > 0 {
			what = append(what, "participants +"+strings.Join(added, ","))
		}
		if n := len(e.Vulnerabilities); n > 0 {
			what = append(what, fmt.Sprintf("%d vulnerabilities", n))
		}
		if n := len(e.Products); n > 0 {
			what = append(what, fmt.Sprintf("%d products", n))
		}
		return audit.Append(ctx, tx, s.now(), a.Name, "cvd.edit", id, strings.Join(what, "; "))
	})
	if err != nil {
		return Case{}, err
	}
	return s.Get(ctx, id)
}

// nextID is the first free id prefix<n+1>, prefix<n+2>, ….
func nextID(prefix string, n int, taken func(string) bool) string {
	for i := n + 1; ; i++ {
		if id := fmt.Sprintf("%s%d", prefix, i); !taken(id) {
			return id
		}
	}
}
