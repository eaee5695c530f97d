package api

import (
	"context"
	"net/http"

	"csirtlink/internal/auth"
	"csirtlink/internal/store"
)

// listUsers lists the node's people with their role, whether they are disabled, and
// when they last signed in to the console.
func (a *API) listUsers(w http.ResponseWriter, r *http.Request, _ caller) error {
	us, err := a.auth.Users(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
	return nil
}

// disableUser stops a person at once: no sign-in, no session, no token.
func (a *API) disableUser(w http.ResponseWriter, r *http.Request, c caller) error {
	return userChange(w, r, c, a.auth.Disable)
}

func (a *API) enableUser(w http.ResponseWriter, r *http.Request, c caller) error {
	return userChange(w, r, c, a.auth.Enable)
}

// signOutUser ends every console session of a person.
func (a *API) signOutUser(w http.ResponseWriter, r *http.Request, c caller) error {
	return userChange(w, r, c, a.auth.SignOut)
}

// userChange runs one change to the person named in the path and answers with them.
func userChange(w http.ResponseWriter, r *http.Request, c caller, change func(context.Context, auth.Actor, string) (store.User, error)) error {
	u, err := change(r.Context(), c.auth(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
	return nil
}
