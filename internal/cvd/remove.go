package cvd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// KindRemove is a timeline entry that takes one item out of the case: a vulnerability,
// a product or a coordinator (written by the owner), or a vendor (written by the
// coordinator that contacts it). It is signed and sequenced like every entry, so every
// node folds the same case and the timeline keeps the removal.
const KindRemove = "remove"

// Removal names the one item to take out of a case, and why.
type Removal struct {
	Vulnerability string `json:"vulnerability,omitempty"`
	Product       string `json:"product,omitempty"`
	Participant   string `json:"participant,omitempty"`
	// Vendor is one of this team's vendors of the case (its id on this node).
	Vendor string `json:"vendor,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// RemovedVendor is a vendor its coordinator removed from the case: nothing more goes
// to it. Vendor is its name only when the vendor was shared.
type RemovedVendor struct {
	Team      string    `json:"team"`
	VendorRef string    `json:"vendor_ref"`
	Vendor    string    `json:"vendor,omitempty"`
	At        time.Time `json:"at"`
}

// Removed is what a removal entry took out: What is vulnerability, product,
// participant or vendor; ID its id (a vendor's name when it was shared).
type Removed struct {
	What string
	ID   string
}

// Removal is what the entry removed, or nil for an entry of another kind.
func (e Entry) Removal() *Removed {
	if e.Kind != KindRemove {
		return nil
	}
	d, err := wire.DecodeCVDData(e.Data)
	if err != nil {
		return nil
	}
	return removedOf(d)
}

// removedOf is the one item a removal's data names, or nil when it names none or
// several.
func removedOf(d wire.CVDData) *Removed {
	var out []Removed
	for _, r := range []Removed{{"vulnerability", d.Vulnerability}, {"product", d.Product}, {"participant", d.Team}, {"vendor", d.VendorRef}} {
		if r.ID != "" {
			out = append(out, r)
		}
	}
	if len(out) != 1 || d.PublishAt != nil || d.Status != "" || d.Justification != "" || d.FixedVersion != "" ||
		(d.Vendor != "" && d.VendorRef == "") {
		return nil
	}
	if d.Vendor != "" {
		out[0].ID = d.Vendor
	}
	return &out[0]
}

// Remove takes one item out of a case, as a signed timeline entry sent to every
// participant. The owner alone removes a vulnerability, a product or a coordinator (not
// itself: it hands the case off first); a coordinator removes only its own vendors. A
// removed coordinator gets the removal and nothing after it; a removed vendor gets
// nothing more (egress refuses mail and reading), and keeps what it had.
func (s *Service) Remove(ctx context.Context, a Actor, id string, r Removal) (Case, error) {
	if err := problem.CheckText("reason", r.Reason, maxBody, false); err != nil {
		return Case{}, err
	}
	n := 0
	for _, x := range []string{r.Vulnerability, r.Product, r.Participant, r.Vendor} {
		if x != "" {
			n++
		}
	}
	if n != 1 {
		return Case{}, problem.BadRequest("name exactly one item to remove: a vulnerability, a product, a participant or a vendor")
	}
	d := wire.CVDData{Vulnerability: r.Vulnerability, Product: r.Product, Team: strings.ToLower(strings.TrimSpace(r.Participant))}
	if r.Vendor != "" {
		vs, err := s.st.ListCVDVendors(ctx, id)
		if err != nil {
			return Case{}, err
		}
		i := slices.IndexFunc(vs, func(v store.CVDVendor) bool { return v.ID == r.Vendor })
		if i < 0 {
			return Case{}, problem.Invalid("vendor", "%q is not a vendor of this team for %s", r.Vendor, id)
		}
		d.VendorRef = vs[i].ID
		if vs[i].Shared {
			d.Vendor = vs[i].Name
		}
	}
	return s.write(ctx, a, id, KindRemove, r.Reason, d, func(c Case) error {
		if s.State(c) == Public {
			return problem.Conflict("case %s is already public", c.ID)
		}
		if d.VendorRef == "" && c.Owner != s.Self() {
			return problem.Forbidden("only the owner (%s) does this", c.Owner)
		}
		return canRemove(c, s.Self(), d)
	})
}

// canRemove checks a removal by team against the case it is about: the item is there,
// and the case keeps its owner, a vulnerability and a product.
func canRemove(c Case, team string, d wire.CVDData) error {
	switch {
	case d.Vulnerability != "":
		if !slices.ContainsFunc(c.Vulnerabilities, func(v Vulnerability) bool { return v.ID == d.Vulnerability }) {
			return problem.Invalid("vulnerability", "%q is not in case %s", d.Vulnerability, c.ID)
		}
		if len(c.Vulnerabilities) == 1 {
			return problem.Invalid("vulnerability", "a case keeps at least one vulnerability")
		}
	case d.Product != "":
		if !slices.ContainsFunc(c.Products, func(p Product) bool { return p.ID == d.Product }) {
			return problem.Invalid("product", "%q is not in case %s", d.Product, c.ID)
		}
		if len(c.Products) == 1 {
			return problem.Invalid("product", "a case keeps at least one product")
		}
	case d.Team != "":
		if !slices.Contains(c.Participants, d.Team) {
			return problem.Invalid("participant", "%q is not a participant of %s", d.Team, c.ID)
		}
		if d.Team == c.Owner {
			return problem.Invalid("participant", "the owner is not removed: it hands the case off first")
		}
	case d.VendorRef != "":
		if !refPattern.MatchString(d.VendorRef) {
			return problem.Invalid("vendor_ref", "%q is not an id", d.VendorRef)
		}
		if c.vendorRemoved(team, d.VendorRef) {
			return problem.Conflict("vendor %s was already removed from case %s", d.VendorRef, c.ID)
		}
		return problem.CheckLine("vendor", d.Vendor, maxName, false)
	}
	return nil
}

// foldRemoval applies a sequenced removal to the case. What the removed item had in
// the fold goes with it (statuses of a vulnerability or product, a coordinator's
// agreement); the timeline keeps every entry.
func foldRemoval(c *Case, e store.CVDEntry, d wire.CVDData) error {
	if removedOf(d) == nil {
		return errors.New("a removal names exactly one item")
	}
	if d.VendorRef == "" && e.Team != c.Owner {
		return problem.Forbidden("only the owner (%s) does this", c.Owner)
	}
	if d.VendorRef != "" && c.vendorRemoved(e.Team, d.VendorRef) {
		return nil // cut off already by its own coordinator when it wrote the entry
	}
	if err := canRemove(*c, e.Team, d); err != nil {
		return err
	}
	switch {
	case d.Vulnerability != "":
		c.Vulnerabilities = slices.DeleteFunc(c.Vulnerabilities, func(v Vulnerability) bool { return v.ID == d.Vulnerability })
		c.Statuses = slices.DeleteFunc(c.Statuses, func(st Status) bool { return st.Vulnerability == d.Vulnerability })
		c.RemovedItems = append(c.RemovedItems, d.Vulnerability)
	case d.Product != "":
		c.Products = slices.DeleteFunc(c.Products, func(p Product) bool { return p.ID == d.Product })
		c.Statuses = slices.DeleteFunc(c.Statuses, func(st Status) bool { return st.Product == d.Product })
		c.RemovedItems = append(c.RemovedItems, d.Product)
	case d.Team != "":
		c.Participants = slices.DeleteFunc(slices.Clone(c.Participants), func(t string) bool { return t == d.Team })
		em := &c.Embargo
		em.Agreed = slices.DeleteFunc(em.Agreed, func(t string) bool { return t == d.Team })
		em.Objections = slices.DeleteFunc(em.Objections, func(o Objection) bool { return o.Team == d.Team })
		if c.Handoff != nil && c.Handoff.To == d.Team {
			c.Handoff = nil
		}
	default:
		// A vendor's statuses stay: they are what it said while it took part.
		c.RemovedVendors = append(c.RemovedVendors, RemovedVendor{Team: e.Team, VendorRef: d.VendorRef, Vendor: d.Vendor, At: e.CreatedAt})
	}
	return nil
}

// vendorRemoved reports whether team's vendor ref was removed from the case.
func (c Case) vendorRemoved(team, ref string) bool {
	return slices.ContainsFunc(c.RemovedVendors, func(r RemovedVendor) bool { return r.Team == team && r.VendorRef == ref })
}

// cutOff reports whether nothing more of the case goes to one of this team's vendors:
// the vendor was removed, or this team itself is no longer a participant.
func (s *Service) cutOff(c Case, vendorID string) bool {
	return c.vendorRemoved(s.Self(), vendorID) || !slices.Contains(c.Participants, s.Self())
}

// SetVendorTLP changes the label the case is given to one of this team's vendors ("":
// the case's own). From then on the egress decision holds it to that ceiling, for its
// person's reading and for mail alike. It stays on this node.
func (s *Service) SetVendorTLP(ctx context.Context, a Actor, id, vendorID, label string) (Vendor, error) {
	if label != "" {
		l, err := tlp.Parse(label)
		if err != nil {
			return Vendor{}, problem.Invalid("tlp", "%v", err)
		}
		label = string(l)
	}
	var out Vendor
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		c, err := loadLocal(ctx, tx, id)
		if err != nil {
			return err
		}
		vs, err := tx.ListCVDVendors(ctx, id)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(vs, func(v store.CVDVendor) bool { return v.ID == vendorID })
		if i < 0 {
			return problem.NotFound("vendor %q not found in case %s", vendorID, id)
		}
		if s.cutOff(c, vendorID) {
			return problem.Conflict("vendor %s was already removed from case %s", vendorID, id)
		}
		old := c.VendorLabel(vendorID)
		if c.vendorTLP == nil {
			c.vendorTLP = map[string]string{}
		}
		if label == "" {
			delete(c.vendorTLP, vendorID)
		} else {
			c.vendorTLP[vendorID] = label
		}
		if err := s.save(ctx, tx, &c); err != nil {
			return err
		}
		v := vs[i]
		out = Vendor{ID: v.ID, Name: v.Name, Contact: v.Contact, Email: v.Email, Products: v.Products, Shared: v.Shared, User: v.User,
			TLP: c.VendorLabel(v.ID)}
		s.notify(tx, id)
		return audit.Append(ctx, tx, s.now(), a.Name, "cvd.vendor.tlp", id, v.ID+" TLP:"+old+" → TLP:"+out.TLP)
	})
	return out, err
}

// gone reports whether a positioned entry from the owner is about a vulnerability,
// product or coordinator that the case no longer has: the owner relays the timeline so
// far to a coordinator it adds later, and the snapshot that coordinator started from
// already lacks what was removed since.
func gone(c Case, e store.CVDEntry) bool {
	if e.Kind != KindStatus && e.Kind != KindRemove || e.Data == "" {
		return false
	}
	d, err := wire.DecodeCVDData(e.Data)
	if err != nil {
		return false
	}
	switch {
	case d.Vulnerability != "" && !slices.ContainsFunc(c.Vulnerabilities, func(v Vulnerability) bool { return v.ID == d.Vulnerability }):
		return true
	case d.Product != "" && !slices.ContainsFunc(c.Products, func(p Product) bool { return p.ID == d.Product }):
		return true
	}
	return e.Kind == KindRemove && d.Team != "" && !slices.Contains(c.Participants, d.Team)
}
