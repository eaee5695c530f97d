package api

import (
	"net/http"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/hotline"
	"csirtlink/internal/oncall"
	"csirtlink/internal/problem"
)

// viewer is the caller as the hotline shows contacts to them: whole only to their
// owner and admins.
func (c caller) viewer() hotline.Viewer {
	return hotline.Viewer{Name: c.user.Name, Admin: c.user.Role == auth.Admin}
}

func (a *API) sendPage(w http.ResponseWriter, r *http.Request, c caller) error {
	var n hotline.NewPage
	if err := decode(r, &n); err != nil {
		return err
	}
	p, err := a.hotline.Send(r.Context(), c.hotline(), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/pages/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (a *API) listPages(w http.ResponseWriter, r *http.Request, _ caller) error {
	n, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pages, err := a.hotline.List(r.Context(), hotline.ListFilter{State: q.Get("state"), Direction: q.Get("direction"), Limit: n})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"pages": pages})
	return nil
}

func (a *API) getPage(w http.ResponseWriter, r *http.Request, c caller) error {
	v, err := a.hotline.Detail(r.Context(), r.PathValue("id"), c.viewer())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) ackPage(w http.ResponseWriter, r *http.Request, c caller) error {
	p, err := a.hotline.Ack(r.Context(), c.hotline(), r.PathValue("id"), hotline.ViaAPI)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) resolvePage(w http.ResponseWriter, r *http.Request, c caller) error {
	p, err := a.hotline.Resolve(r.Context(), c.hotline(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) runCommCheck(w http.ResponseWriter, r *http.Request, c caller) error {
	var req struct {
		To []string `json:"to"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	cc, err := a.hotline.RunCommCheck(r.Context(), c.hotline(), req.To)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, cc)
	return nil
}

func (a *API) commCheckReport(w http.ResponseWriter, r *http.Request, _ caller) error {
	n, err := limitParam(r, 50)
	if err != nil {
		return err
	}
	rep, err := a.hotline.CommCheckReport(r.Context(), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (a *API) onCallConfig(w http.ResponseWriter, r *http.Request, _ caller) error {
	cfg, err := a.hotline.Config(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cfg)
	return nil
}

func (a *API) onCallNow(w http.ResponseWriter, r *http.Request, _ caller) error {
	at := time.Now().UTC()
	if s := r.URL.Query().Get("at"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil || t.Year() < 1970 || t.Year() > 2200 {
			return problem.Invalid("at", "must be an RFC 3339 time between 1970 and 2200")
		}
		at = t
	}
	now, err := a.hotline.WhoIsOnCall(r.Context(), at)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"at": at, "timezone": a.dir.Self.Timezone, "rotations": now})
	return nil
}

// partnersOnCall is who is on call at each partner team, from the summaries their
// nodes sent.
func (a *API) partnersOnCall(w http.ResponseWriter, r *http.Request, _ caller) error {
	ps, err := a.hotline.PartnersOnCall(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"partners": ps})
	return nil
}

func (a *API) putRotation(w http.ResponseWriter, r *http.Request, c caller) error {
	var rot oncall.Rotation
	if err := decode(r, &rot); err != nil {
		return err
	}
	if rot.ID == "" {
		rot.ID = r.PathValue("id")
	}
	if rot.ID != r.PathValue("id") {
		return problem.Invalid("id", "differs from the URL")
	}
	rot, err := a.hotline.PutRotation(r.Context(), c.hotline(), rot)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rot)
	return nil
}

func (a *API) deleteRotation(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := a.hotline.DeleteRotation(r.Context(), c.hotline(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) addOverride(w http.ResponseWriter, r *http.Request, c caller) error {
	var o oncall.Override
	if err := decode(r, &o); err != nil {
		return err
	}
	o, err := a.hotline.AddOverride(r.Context(), c.hotline(), o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, o)
	return nil
}

func (a *API) deleteOverride(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := a.hotline.DeleteOverride(r.Context(), c.hotline(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) putPolicy(w http.ResponseWriter, r *http.Request, c caller) error {
	var req struct {
		oncall.Policy
		Default bool `json:"default"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.ID == "" {
		req.ID = r.PathValue("id")
	}
	if req.ID != r.PathValue("id") {
		return problem.Invalid("id", "differs from the URL")
	}
	if err := a.hotline.PutPolicy(r.Context(), c.hotline(), req.Policy, req.Default); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

// selfOrConfigure lets people manage their own contacts, and duty officers and admins anyone's.
func selfOrConfigure(c caller, user string) error {
	if c.user.Name != user && !auth.Allows(c.user.Role, auth.Configure) {
		return problem.Forbidden("only %s, a duty officer or an admin manages %s's contacts", user, user)
	}
	return nil
}

func (a *API) listContacts(w http.ResponseWriter, r *http.Request, c caller) error {
	user := r.PathValue("name")
	if err := selfOrConfigure(c, user); err != nil {
		return err
	}
	cs, err := a.hotline.Contacts(r.Context(), user, c.viewer())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": cs})
	return nil
}

func (a *API) addContact(w http.ResponseWriter, r *http.Request, c caller) error {
	user := r.PathValue("name")
	if err := selfOrConfigure(c, user); err != nil {
		return err
	}
	var n hotline.NewContact
	if err := decode(r, &n); err != nil {
		return err
	}
	ct, err := a.hotline.AddContact(r.Context(), c.hotline(), user, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ct)
	return nil
}

func (a *API) deleteContact(w http.ResponseWriter, r *http.Request, c caller) error {
	user := r.PathValue("name")
	if err := selfOrConfigure(c, user); err != nil {
		return err
	}
	cs, err := a.hotline.Contacts(r.Context(), user, c.viewer())
	if err != nil {
		return err
	}
	for _, ct := range cs {
		if ct.ID == r.PathValue("id") {
			if err := a.hotline.DeleteContact(r.Context(), c.hotline(), ct.ID); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	return problem.NotFound("%s has no contact %q", user, r.PathValue("id"))
}
