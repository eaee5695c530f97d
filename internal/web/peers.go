package web

import (
	"errors"
	"net/http"

	"csirtlink/internal/federation"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

type peersPage struct {
	Partners []partner
	Refusals []store.Refusal // admins only
}

func (c *Console) peers(w http.ResponseWriter, r *http.Request, v *view) error {
	var page peersPage
	var err error
	if page.Partners, err = c.partners(r); err != nil {
		return err
	}
	if v.Can("manage") {
		if page.Refusals, err = c.d.Fed.Refusals(r.Context(), 50); err != nil {
			return err
		}
	}
	v.Nav, v.Live = "peers", "all"
	return c.render(w, v, http.StatusOK, "peers", v.T("peers.title"), page)
}

// peerRetry is a duty officer's "retry now" for a link that is backing off.
func (c *Console) peerRetry(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if err := c.d.Fed.Retry(r.Context(), id, v.User().Name); err != nil {
		if errors.Is(err, federation.ErrUnknownPeer) {
			return problem.NotFound("%q is not an active peer", id)
		}
		return err
	}
	c.flash(w, "ok", "flash.peerRetry")
	http.Redirect(w, r, "/peers", http.StatusSeeOther)
	return nil
}
