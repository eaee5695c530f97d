package web

import (
	"net/http"

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
