package api

import (
	"net/http"
	"strconv"

	"csirtlink/internal/auth"
	"csirtlink/internal/partner"
	"csirtlink/internal/problem"
	"csirtlink/internal/team"
)

// SetPartners mounts the partner directory (issue 9) on the API; keyFile is where a
// rotated node key is written.
func (a *API) SetPartners(p *partner.Service, keyFile string) { a.partners, a.keyFile = p, keyFile }

// partnerRoutes are the partner directory's routes: anyone reads, only admins change.
// They answer 503 until SetPartners.
func (a *API) partnerRoutes() []Route {
	r := func(pattern string, p auth.Permission, h handlerFunc) Route {
		return Route{pattern, a.with(p, func(w http.ResponseWriter, req *http.Request, c caller) error {
			if a.partners == nil {
				return &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the partner directory is not set up on this node"}
			}
			return h(w, req, c)
		})}
	}
	return []Route{
		r("GET /api/v1/partners", auth.Read, a.listPartners),
		r("POST /api/v1/partners", auth.Manage, a.addPartner),
		r("GET /api/v1/partners/{id}", auth.Read, a.getPartner),
		r("POST /api/v1/partners/{id}/approve", auth.Manage, a.approvePartner),
		r("POST /api/v1/partners/{id}/suspend", auth.Manage, a.partnerStatus(team.StatusSuspended)),
		r("POST /api/v1/partners/{id}/revoke", auth.Manage, a.partnerStatus(team.StatusRevoked)),
		r("DELETE /api/v1/partners/{id}", auth.Manage, a.removePartner),
		r("GET /api/v1/constituency", auth.Read, a.getConstituency),
		r("PUT /api/v1/constituency", auth.Manage, a.putConstituency),
		r("GET /api/v1/constituency/lookup", auth.Read, a.lookupConstituency),
		r("POST /api/v1/keys/rotate", auth.Manage, a.rotateKey),
		r("GET /api/v1/directory/tasks", auth.Read, a.directoryTasks),
		r("POST /api/v1/directory/confirm", auth.Manage, a.directoryConfirm),
		r("POST /api/v1/partners/{id}/hotline-check", auth.Manage, a.hotlineCheck),
		r("POST /api/v1/directory/hotline-code", auth.Manage, a.hotlineCode),
		r("POST /api/v1/directory/hotline-code/return", auth.Manage, a.hotlineCodeReturn),
	}
}

func (a *API) listPartners(w http.ResponseWriter, r *http.Request, _ caller) error {
	q := r.URL.Query()
	f := partner.Filter{Query: q.Get("q"), Country: q.Get("country"), Status: q.Get("status")}
	if f.Status != "" && !team.ValidStatus(f.Status) {
		return problem.Invalid("status", "%q is not pending, active, suspended or revoked", f.Status)
	}
	if v := q.Get("unverified"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return problem.Invalid("unverified", "true or false")
		}
		f.Unverified = &b
	}
	list, err := a.partners.WithHotline(r.Context(), a.partners.List(f))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (a *API) getPartner(w http.ResponseWriter, r *http.Request, _ caller) error {
	v, ok := a.partners.Get(r.PathValue("id"))
	if !ok {
		return problem.NotFound("no partner %q", r.PathValue("id"))
	}
	keys, err := a.partners.Keys(r.Context(), v.ID)
	if err != nil {
		return err
	}
	vs, err := a.partners.WithHotline(r.Context(), []partner.View{v})
	if err != nil {
		return err
	}
	v = vs[0]
	writeJSON(w, http.StatusOK, map[string]any{"partner": v, "keys": keys})
	return nil
}

func (a *API) addPartner(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		URL string `json:"url"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.URL == "" {
		return problem.Invalid("url", "required")
	}
	v, err := a.partners.Add(r.Context(), in.URL, c.user.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (a *API) approvePartner(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := a.partners.Approve(r.Context(), r.PathValue("id"), in.Fingerprint, c.user.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) partnerStatus(status string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c caller) error {
		v, err := a.partners.SetStatus(r.Context(), r.PathValue("id"), status, c.user.Name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}

func (a *API) removePartner(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := a.partners.Remove(r.Context(), r.PathValue("id"), c.user.Name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getConstituency(w http.ResponseWriter, r *http.Request, _ caller) error {
	c, err := a.partners.Own(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) putConstituency(w http.ResponseWriter, r *http.Request, c caller) error {
	var in partner.ConstituencyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := a.partners.SetOwn(r.Context(), in, c.user.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) lookupConstituency(w http.ResponseWriter, r *http.Request, _ caller) error {
	q := r.URL.Query()
	owners, err := a.partners.Lookup(r.Context(), partner.Query{IP: q.Get("ip"), ASN: q.Get("asn"), Domain: q.Get("domain"), Country: q.Get("country")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"owners": owners})
	return nil
}

func (a *API) rotateKey(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Compromised bool `json:"compromised"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	pub, err := a.partners.Rotate(r.Context(), a.keyFile, c.user.Name, in.Compromised)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"public_key": pub, "compromised": in.Compromised})
	return nil
}

// directoryTasks lists the partners asking us to confirm our entry.
func (a *API) directoryTasks(w http.ResponseWriter, r *http.Request, _ caller) error {
	ts, err := a.partners.Tasks(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": ts})
	return nil
}

// directoryConfirm confirms our entry to every partner.
func (a *API) directoryConfirm(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := a.partners.Confirm(r.Context(), c.user.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "confirmed"})
	return nil
}

// hotlineCheck mails a new code to a partner's hotline address.
func (a *API) hotlineCheck(w http.ResponseWriter, r *http.Request, c caller) error {
	st, err := a.partners.SendHotlineCode(r.Context(), r.PathValue("id"), c.user.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, st)
	return nil
}

// hotlineCode takes the code a partner read out to us: its hotline address is verified.
func (a *API) hotlineCode(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Partner string `json:"partner"`
		Code    string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := problem.Join(required("partner", in.Partner), required("code", in.Code)); err != nil {
		return err
	}
	st, err := a.partners.EnterHotlineCode(r.Context(), in.Partner, in.Code, c.user.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// hotlineCodeReturn sends a code a partner mailed to our hotline address back to it, signed.
func (a *API) hotlineCodeReturn(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Team string `json:"team"`
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := problem.Join(required("team", in.Team), required("code", in.Code)); err != nil {
		return err
	}
	if err := a.partners.ReturnHotlineCode(r.Context(), in.Team, in.Code, c.user.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "returned"})
	return nil
}

// required names a field left empty.
func required(field, v string) error {
	if v == "" {
		return problem.Invalid(field, "required")
	}
	return nil
}
