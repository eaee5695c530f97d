package web

import (
	"context"
	"net/http"

	"csirtlink/internal/auth"
	"csirtlink/internal/store"
)

type peoplePage struct {
	Users []store.User
	Me    string // the viewer's id: they may not disable themselves
}

// people is an administrator's list of the node's people: role, standing and last
// sign-in, with buttons to disable or enable each and to sign them out everywhere.
func (c *Console) people(w http.ResponseWriter, r *http.Request, v *view) error {
	us, err := c.d.Auth.Users(r.Context())
	if err != nil {
		return err
	}
	v.Nav = "people"
	return c.render(w, v, http.StatusOK, "people", v.T("people.title"), peoplePage{Users: us, Me: v.User().ID})
}

func (c *Console) personDisable(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.personChange(w, r, v, c.d.Auth.Disable, "flash.personDisabled")
}

func (c *Console) personEnable(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.personChange(w, r, v, c.d.Auth.Enable, "flash.personEnabled")
}

func (c *Console) personSignOut(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.personChange(w, r, v, c.d.Auth.SignOut, "flash.personSignedOut")
}

// personChange runs one change to the person named in the path (the service checks it
// and audits it) and goes back to the list. An admin who signs themselves out
// everywhere lands on the sign-in screen, by the same redirect.
func (c *Console) personChange(w http.ResponseWriter, r *http.Request, v *view,
	change func(context.Context, auth.Actor, string) (store.User, error), flash string) error {
	u := v.User()
	if _, err := change(r.Context(), auth.Actor{UserID: u.ID, Name: u.Name}, r.PathValue("name")); err != nil {
		return err
	}
	c.flash(w, "ok", flash)
	http.Redirect(w, r, "/people", http.StatusSeeOther)
	return nil
}
