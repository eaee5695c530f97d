package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/csaf"
	"csirtlink/internal/cvd"
	"csirtlink/internal/egress"
	"csirtlink/internal/problem"
	"csirtlink/internal/tlp"
)

// SetCVD mounts vulnerability coordination (issue 13) on the API.
func (a *API) SetCVD(s *cvd.Service) { a.cvd = s }

// cvdRoutes are the vulnerability case routes. They answer 503 until SetCVD.
func (a *API) cvdRoutes() []Route {
	r := func(pattern string, p auth.Permission, h handlerFunc) Route {
		return Route{pattern, a.with(p, func(w http.ResponseWriter, req *http.Request, c caller) error {
			if a.cvd == nil {
				return &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "vulnerability coordination is not set up on this node"}
			}
			return h(w, req, c)
		})}
	}
	return []Route{
		r("GET /api/v1/cvd/cases", auth.CaseAccess, a.listCases),
		r("POST /api/v1/cvd/cases", auth.Write, a.createCase),
		r("GET /api/v1/cvd/cases/{id}", auth.CaseAccess, a.getCase),
		r("PATCH /api/v1/cvd/cases/{id}", auth.Write, a.editCase),
		r("POST /api/v1/cvd/cases/{id}/embargo", auth.Write, a.proposeEmbargo),
		r("POST /api/v1/cvd/cases/{id}/embargo/agree", auth.Write, a.agreeEmbargo),
		r("POST /api/v1/cvd/cases/{id}/embargo/object", auth.Write, a.objectEmbargo),
		r("POST /api/v1/cvd/cases/{id}/embargo/emergency", auth.Write, a.emergency),
		r("POST /api/v1/cvd/cases/{id}/comments", auth.Write, a.commentCase),
		r("POST /api/v1/cvd/cases/{id}/vendors", auth.Write, a.addVendor),
		r("POST /api/v1/cvd/cases/{id}/vendors/{vendor}/mail", auth.Write, a.mailVendor),
		r("POST /api/v1/cvd/mail", auth.Write, a.vendorReply),
		r("POST /api/v1/cvd/cases/{id}/statuses", auth.CaseAccess, a.setVendorStatus),
		r("POST /api/v1/cvd/cases/{id}/handoff", auth.Write, a.offerHandoff),
		r("POST /api/v1/cvd/cases/{id}/handoff/accept", auth.Write, a.acceptHandoff),
		r("GET /api/v1/cvd/cases/{id}/csaf", auth.CaseAccess, a.caseCSAF),
		r("PUT /api/v1/cvd/cases/{id}/advisory/{lang}", auth.Write, a.putAdvisoryTexts),
		r("POST /api/v1/cvd/cases/{id}/removals", auth.Write, a.removeFromCase),
		r("PATCH /api/v1/cvd/cases/{id}/vendors/{vendor}", auth.Write, a.changeVendor),
	}
}

func (c caller) cvd() cvd.Actor { return cvd.Actor{Name: c.user.Name, Role: c.user.Role} }

// caseView is a case as the API shows it: with the embargo instant in each party's
// local time and the status matrix.
type caseView struct {
	cvd.Case
	LocalTimes []localTime                      `json:"local_times,omitempty"`
	Matrix     map[string]map[string]cvd.Status `json:"matrix"`
}

type localTime struct {
	Party    string `json:"party"`
	Timezone string `json:"timezone"`
	Time     string `json:"time"`
}

func (a *API) caseView(c cvd.Case) caseView {
	v := caseView{Case: c, Matrix: cvd.Matrix(c)}
	if at := c.Embargo.PublishAt; at != nil {
		add := func(party, tz string) {
			if loc, err := time.LoadLocation(tz); err == nil && tz != "" {
				v.LocalTimes = append(v.LocalTimes, localTime{Party: party, Timezone: tz, Time: at.In(loc).Format(time.RFC3339)})
			}
		}
		for _, p := range c.Participants {
			if t, ok := a.dir.Team(p); ok {
				add(p, t.Timezone)
			}
		}
		if c.Reporter != nil {
			add("reporter", c.Reporter.Timezone)
		}
	}
	return v
}

// isVendor: the caller is a vendor's person, scoped to its vendor's cases.
func (c caller) isVendor() bool { return c.user.Role == auth.Vendor }

// caseFor is the case as the caller may see it: whole for the team's people, cut down
// to their vendor's part for a vendor (404 for a case their vendor is not in).
func (a *API) caseFor(r *http.Request, c caller) (cvd.Case, error) {
	if c.isVendor() {
		k, _, err := a.cvd.VendorCase(r.Context(), r.PathValue("id"), c.user.Name)
		return k, err
	}
	return a.cvd.Get(r.Context(), r.PathValue("id"))
}

func (a *API) listCases(w http.ResponseWriter, r *http.Request, c caller) error {
	list, err := a.cvd.List(r.Context())
	if c.isVendor() {
		list, err = a.cvd.VendorCases(r.Context(), c.user.Name)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": list})
	return nil
}

func (a *API) createCase(w http.ResponseWriter, r *http.Request, c caller) error {
	var n cvd.NewCase
	if err := decode(r, &n); err != nil {
		return err
	}
	k, err := a.cvd.Create(r.Context(), c.cvd(), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/cvd/cases/"+k.ID)
	writeJSON(w, http.StatusCreated, a.caseView(k))
	return nil
}

func (a *API) getCase(w http.ResponseWriter, r *http.Request, c caller) error {
	k, err := a.caseFor(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.caseView(k))
	return nil
}

// caseAction decodes a body into v (when given), runs do and answers with the case.
func (a *API) caseAction(w http.ResponseWriter, r *http.Request, v any, do func() (cvd.Case, error)) error {
	if v != nil {
		if err := decode(r, v); err != nil {
			return err
		}
	}
	k, err := do()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.caseView(k))
	return nil
}

func (a *API) proposeEmbargo(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		PublishAt time.Time `json:"publish_at"`
	}
	return a.caseAction(w, r, &in, func() (cvd.Case, error) {
		return a.cvd.ProposeEmbargo(r.Context(), c.cvd(), r.PathValue("id"), in.PublishAt)
	})
}

func (a *API) agreeEmbargo(w http.ResponseWriter, r *http.Request, c caller) error {
	return a.caseAction(w, r, nil, func() (cvd.Case, error) { return a.cvd.AgreeEmbargo(r.Context(), c.cvd(), r.PathValue("id")) })
}

type reasonInput struct {
	Reason string `json:"reason"`
}

func (a *API) objectEmbargo(w http.ResponseWriter, r *http.Request, c caller) error {
	var in reasonInput
	return a.caseAction(w, r, &in, func() (cvd.Case, error) {
		return a.cvd.ObjectEmbargo(r.Context(), c.cvd(), r.PathValue("id"), in.Reason)
	})
}

func (a *API) emergency(w http.ResponseWriter, r *http.Request, c caller) error {
	var in reasonInput
	return a.caseAction(w, r, &in, func() (cvd.Case, error) {
		return a.cvd.Emergency(r.Context(), c.cvd(), r.PathValue("id"), in.Reason)
	})
}

func (a *API) commentCase(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Body string `json:"body"`
	}
	return a.caseAction(w, r, &in, func() (cvd.Case, error) { return a.cvd.Comment(r.Context(), c.cvd(), r.PathValue("id"), in.Body) })
}

func (a *API) addVendor(w http.ResponseWriter, r *http.Request, c caller) error {
	var in cvd.NewVendor
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := a.cvd.AddVendor(r.Context(), c.cvd(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// editCase changes the case's own fields after creation (owner only).
func (a *API) editCase(w http.ResponseWriter, r *http.Request, c caller) error {
	var in cvd.CaseEdit
	if err := decode(r, &in); err != nil {
		return err
	}
	k, err := a.cvd.Edit(r.Context(), c.cvd(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.caseView(k))
	return nil
}

// mailVendor writes to one of the team's vendors from the case's reply address.
func (a *API) mailVendor(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Subject string `json:"subject"`
		Body    string `json:"body"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := a.cvd.MailVendor(r.Context(), c.cvd(), r.PathValue("id"), r.PathValue("vendor"), in.Subject, in.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// vendorReply takes a vendor's reply from the mail relay: the raw message as the body,
// the reply address it was sent to as ?to=.
func (a *API) vendorReply(w http.ResponseWriter, r *http.Request, c caller) error {
	raw, err := io.ReadAll(io.LimitReader(r.Body, cvd.MaxInboundMail+1))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &problem.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("body larger than %d bytes", tooBig.Limit)}
		}
		return fmt.Errorf("reading the mail: %w", err)
	}
	if r.URL.Query().Get("to") == "" {
		return problem.Invalid("to", "required: the reply address the mail was sent to")
	}
	m, err := a.cvd.ReceiveVendorMail(r.Context(), c.cvd(), r.URL.Query().Get("to"), raw)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// setVendorStatus records a vendor's status: by the team's people for any of the team's
// vendors, by a vendor's person for its own vendor only.
func (a *API) setVendorStatus(w http.ResponseWriter, r *http.Request, c caller) error {
	var in cvd.StatusInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if c.isVendor() {
		_, v, err := a.cvd.VendorCase(r.Context(), r.PathValue("id"), c.user.Name)
		if err != nil {
			return err
		}
		if in.Vendor != v.ID {
			return problem.Forbidden("role %s may not do this", c.user.Role)
		}
		if _, err := a.cvd.SetStatus(r.Context(), c.cvd(), r.PathValue("id"), in); err != nil {
			return err
		}
		k, _, err := a.cvd.VendorCase(r.Context(), r.PathValue("id"), c.user.Name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, a.caseView(k))
		return nil
	}
	if !auth.Allows(c.user.Role, auth.Write) {
		return problem.Forbidden("role %s may not do this", c.user.Role)
	}
	return a.caseAction(w, r, nil, func() (cvd.Case, error) { return a.cvd.SetStatus(r.Context(), c.cvd(), r.PathValue("id"), in) })
}

func (a *API) offerHandoff(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Team string `json:"team"`
	}
	return a.caseAction(w, r, &in, func() (cvd.Case, error) {
		return a.cvd.OfferHandoff(r.Context(), c.cvd(), r.PathValue("id"), in.Team)
	})
}

func (a *API) acceptHandoff(w http.ResponseWriter, r *http.Request, c caller) error {
	return a.caseAction(w, r, nil, func() (cvd.Case, error) { return a.cvd.AcceptHandoff(r.Context(), c.cvd(), r.PathValue("id")) })
}

// caseCSAF answers the case's advisory as a CSAF 2.0 document. It is an export: the
// egress decision refuses it before the embargo's instant (403), whoever asks.
func (a *API) caseCSAF(w http.ResponseWriter, r *http.Request, c caller) error {
	k, err := a.caseFor(r, c)
	if err != nil {
		return err
	}
	lang, err := cvd.ParseLang(r.URL.Query().Get("lang"))
	if err != nil {
		return err
	}
	category := csaf.SecurityAdvisory
	switch r.URL.Query().Get("profile") {
	case "", "advisory":
	case "vex":
		category = csaf.VEX
	default:
		return problem.Invalid("profile", "must be advisory or vex")
	}
	if d := a.cvd.Decide(k, egress.Destination{Kind: egress.Export, Team: a.dir.Self.ID, Ceiling: tlp.Red}); !d.Full() {
		return problem.Forbidden("not released: %s", d.Reason())
	}
	writeJSON(w, http.StatusOK, a.cvd.Advisory(k, lang, category))
	return nil
}

// putAdvisoryTexts replaces this node's texts of the case's advisory in one language
// (en, zh or zh-Hans, ja, ko); the CSAF document in that language uses them.
func (a *API) putAdvisoryTexts(w http.ResponseWriter, r *http.Request, c caller) error {
	lang, err := cvd.ParseLang(r.PathValue("lang"))
	if err != nil {
		return err
	}
	var in cvd.Texts
	if err := decode(r, &in); err != nil {
		return err
	}
	in.UpdatedBy, in.UpdatedAt = "", time.Time{}
	return a.caseAction(w, r, nil, func() (cvd.Case, error) {
		return a.cvd.SetAdvisoryTexts(r.Context(), c.cvd(), r.PathValue("id"), map[string]cvd.Texts{lang: in})
	})
}

// removeFromCase takes one vulnerability, product, coordinator or vendor out of the
// case, as a signed timeline entry (cvd.Service.Remove says who may remove what).
func (a *API) removeFromCase(w http.ResponseWriter, r *http.Request, c caller) error {
	var in cvd.Removal
	return a.caseAction(w, r, &in, func() (cvd.Case, error) { return a.cvd.Remove(r.Context(), c.cvd(), r.PathValue("id"), in) })
}

// changeVendor changes the label the case is given to one of the team's vendors
// ("tlp": "" for the case's own).
func (a *API) changeVendor(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		TLP string `json:"tlp"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := a.cvd.SetVendorTLP(r.Context(), c.cvd(), r.PathValue("id"), r.PathValue("vendor"), in.TLP)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
