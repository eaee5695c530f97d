package cvd

import (
	"context"

	"slices"
	"strings"

	"csirtlink/internal/audit"
	"csirtlink/internal/auth"
	"csirtlink/internal/egress"
	"csirtlink/internal/identity"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// NewVendor is a vendor this team contacts about a case.
type NewVendor struct {
	Name     string   `json:"name"`
	Contact  string   `json:"contact"`
	Email    string   `json:"email"`
	Products []string `json:"products"`
	// Shared: the vendor agreed that its name go with its statuses to the other
	// coordinators. Its contact and e-mail never leave this node.
	Shared bool `json:"shared"`
	// User is the vendor's person on this node (a user with the vendor role), who then
	// sees this case and sets the vendor's statuses.
	User string `json:"user"`
	// TLP is the label the case is given to the vendor (the case's own by default). It
	// is a ceiling: while the case's label is stricter, the egress decision keeps the
	// case from the vendor — from its person's screen and from mail alike.
	TLP string `json:"tlp"`
}

// AddVendor records a vendor of this team for a case. Nothing of it is sent.
func (s *Service) AddVendor(ctx context.Context, a Actor, id string, n NewVendor) (Vendor, error) {
	n.Name, n.Email = strings.TrimSpace(n.Name), strings.TrimSpace(n.Email)
	if err := problem.CheckLine("name", n.Name, maxName, true); err != nil {
		return Vendor{}, err
	}
	if err := problem.CheckLine("contact", n.Contact, maxName, false); err != nil {
		return Vendor{}, err
	}
	if err := problem.CheckLine("email", n.Email, maxName, false); err != nil {
		return Vendor{}, err
	}
	if n.Email != "" && (!strings.Contains(n.Email, "@") || strings.ContainsAny(n.Email, " <>")) {
		return Vendor{}, problem.Invalid("email", "not an e-mail address")
	}
	v := Vendor{ID: identity.RandomID(8), Name: n.Name, Contact: n.Contact, Email: n.Email, Products: n.Products, Shared: n.Shared, User: n.User}
	if n.TLP != "" {
		l, err := tlp.Parse(n.TLP)
		if err != nil {
			return Vendor{}, problem.Invalid("tlp", "%v", err)
		}
		v.TLP = string(l)
	}
	if v.Products == nil {
		v.Products = []string{}
	}
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		c, err := loadLocal(ctx, tx, id)
		if err != nil {
			return err
		}
		if v.User != "" {
			if u, err := tx.UserByName(ctx, v.User); err != nil || u.Role != auth.Vendor {
				return problem.Invalid("user", "%q is not a user with the vendor role", v.User)
			}
		}
		have, err := tx.ListCVDVendors(ctx, id)
		if err != nil {
			return err
		}
		if len(have) >= maxVendors {
			return problem.Invalid("name", "more than %d entries", maxVendors)
		}
		for _, p := range v.Products {
			if !slices.ContainsFunc(c.Products, func(q Product) bool { return q.ID == p }) {
				return problem.Invalid("products", "%q is not in case %s", p, id)
			}
		}
		if err := tx.PutCVDVendor(ctx, store.CVDVendor{ID: v.ID, CaseID: id, Name: v.Name, Contact: v.Contact, Email: v.Email,
			Products: v.Products, Shared: v.Shared, User: v.User, CreatedBy: a.Name, CreatedAt: s.now()}); err != nil {
			return err
		}
		if v.TLP == "" {
			v.TLP = c.TLP
		} else {
			// Kept in the case's private part, beside the reporter: it never leaves.
			if c.vendorTLP == nil {
				c.vendorTLP = map[string]string{}
			}
			c.vendorTLP[v.ID] = v.TLP
			if err := s.save(ctx, tx, &c); err != nil {
				return err
			}
		}
		s.notify(tx, id)
		return audit.Append(ctx, tx, s.now(), a.Name, "cvd.vendor", id, v.ID)
	})
	return v, err
}

// StatusInput is a vendor's status for one vulnerability and product, as its
// coordinator records it.
type StatusInput struct {
	Vendor        string `json:"vendor"` // the vendor's id on this node
	Vulnerability string `json:"vulnerability"`
	Product       string `json:"product"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
	FixedVersion  string `json:"fixed_version"`
	Statement     string `json:"statement"`
}

// SetStatus records a vendor's status and shares it with every participant: by the
// vendor's name if the vendor is shared, otherwise by an opaque reference.
func (s *Service) SetStatus(ctx context.Context, a Actor, id string, in StatusInput) (Case, error) {
	if err := problem.CheckText("statement", in.Statement, maxBody, false); err != nil {
		return Case{}, err
	}
	vs, err := s.st.ListCVDVendors(ctx, id)
	if err != nil {
		return Case{}, err
	}
	i := slices.IndexFunc(vs, func(v store.CVDVendor) bool { return v.ID == in.Vendor })
	if i < 0 {
		return Case{}, problem.Invalid("vendor", "%q is not a vendor of this team for %s", in.Vendor, id)
	}
	d := wire.CVDData{Vulnerability: in.Vulnerability, Product: in.Product, Status: in.Status, Justification: in.Justification,
		FixedVersion: in.FixedVersion, VendorRef: vs[i].ID}
	if vs[i].Shared {
		d.Vendor = vs[i].Name
	}
	return s.write(ctx, a, id, KindStatus, in.Statement, d, func(c Case) error {
		if s.cutOff(c, d.VendorRef) {
			return problem.Conflict("vendor %s was already removed from case %s", d.VendorRef, id)
		}
		return validStatus(c, Status{Team: s.Self(), VendorRef: d.VendorRef, Vendor: d.Vendor, Vulnerability: d.Vulnerability,
			Product: d.Product, Status: d.Status, Justification: d.Justification, FixedVersion: d.FixedVersion})
	})
}

// Matrix is the status of each vulnerability × product: the latest any vendor's
// coordinator reported, unassessed where none did.
func Matrix(c Case) map[string]map[string]Status {
	m := map[string]map[string]Status{}
	for _, v := range c.Vulnerabilities {
		m[v.ID] = map[string]Status{}
		for _, p := range c.Products {
			m[v.ID][p.ID] = Status{Vulnerability: v.ID, Product: p.ID, Status: Unassessed}
		}
	}
	for _, st := range c.Statuses {
		if row, ok := m[st.Vulnerability]; ok {
			if old, ok := row[st.Product]; ok && (old.Status == Unassessed || !st.At.Before(old.At)) {
				row[st.Product] = st
			}
		}
	}
	return m
}

// VendorCases lists the cases a vendor's person may see: those in which one of this
// team's vendors names them as its user.
func (s *Service) VendorCases(ctx context.Context, user string) ([]Case, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Case
	for _, c := range all {
		if v, err := s.vendorOf(ctx, c.ID, user); err != nil {
			return nil, err
		} else if v != nil && s.decideVendorAccess(c, v.ID).Full() {
			out = append(out, ForVendor(c, *v))
		}
	}
	return out, nil
}

// vendorOf is the vendor of a case whose user is user, or nil.
func (s *Service) vendorOf(ctx context.Context, caseID, user string) (*store.CVDVendor, error) {
	vs, err := s.st.ListCVDVendors(ctx, caseID)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.User == user && user != "" {
			return &v, nil
		}
	}
	return nil, nil
}

// VendorCase is a case as a vendor's person sees it, or 404 when their vendor is not
// in it: the case's own fields, the embargo, and their vendor's statuses only — not
// the reporter, other vendors or the coordinators' timeline.
func (s *Service) VendorCase(ctx context.Context, id, user string) (Case, store.CVDVendor, error) {
	v, err := s.vendorOf(ctx, id, user)
	if err != nil {
		return Case{}, store.CVDVendor{}, err
	}
	if v == nil {
		return Case{}, store.CVDVendor{}, problem.NotFound("case %q not found", id)
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return Case{}, store.CVDVendor{}, err
	}
	if d := s.decideVendorAccess(c, v.ID); !d.Full() {
		return Case{}, store.CVDVendor{}, problem.Forbidden("not released to your vendor: %s", d.Reason())
	}
	return ForVendor(c, *v), *v, nil
}

// VendorLabel is the label the case was given to one of this team's vendors: the
// case's own unless the vendor was given another.
func (c Case) VendorLabel(vendorID string) string {
	if l, ok := c.vendorTLP[vendorID]; ok {
		return l
	}
	return c.TLP
}

// decideVendorAccess asks the one egress decision whether a vendor's person may read
// the case now: under the embargo only a vendor party to it, and never content
// stricter than the label the case was given to the vendor.
func (s *Service) decideVendorAccess(c Case, vendorID string) egress.Decision {
	hold := Hold(c)
	if !s.cutOff(c, vendorID) {
		hold.Vendors = []string{vendorID} // asked only for vendors of the case
	}
	return egress.Decide(egress.Request{Item: tlp.Item{Label: tlp.Label(c.TLP), Author: c.Owner},
		Context: egress.NewContext(s.dir, c.Participants), Embargo: hold, Now: s.clock.Now(),
		To: egress.Destination{Kind: egress.VendorAccess, Team: s.Self(), Vendor: vendorID, Ceiling: tlp.Label(c.VendorLabel(vendorID)),
			Removed: s.cutOff(c, vendorID)}})
}

// ForVendor cuts a case down to what its vendor may see, at the label it was given.
func ForVendor(c Case, v store.CVDVendor) Case {
	c.TLP = c.VendorLabel(v.ID)
	c.Reporter, c.Timeline, c.Handoff, c.Advisories = nil, nil, nil, nil
	c.Vendors = []Vendor{{ID: v.ID, Name: v.Name, Contact: v.Contact, Email: v.Email, Products: v.Products, Shared: v.Shared, User: v.User}}
	c.Statuses = slices.DeleteFunc(slices.Clone(c.Statuses), func(st Status) bool { return st.VendorRef != v.ID })
	c.VendorMail = slices.DeleteFunc(slices.Clone(c.VendorMail), func(m VendorMessage) bool { return m.Vendor != v.ID })
	return c
}
