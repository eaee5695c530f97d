package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/store"
	"csirtlink/internal/taxii"
)

// taxiiPage is the admin screen of the TAXII 2.1 server and client (docs/taxii.md).
type taxiiPage struct {
	Discovery  string
	Collection string
	Consumers  []store.TAXIIConsumer
	Sources    []store.TAXIISource
	// Shown is the secrets of a consumer just created or rotated: shown this once.
	Shown *taxii.Credentials
	// Audiences are the ceilings an admin may set for an audience outside the
	// federation; SourceLabels the labels for a source's unmarked objects.
	Audiences    []string
	SourceLabels []string
}

func (c *Console) taxiiScreen(w http.ResponseWriter, r *http.Request, v *view, shown *taxii.Credentials) error {
	cs, err := c.d.TAXIIConsumers.List(r.Context())
	if err != nil {
		return err
	}
	ss, err := c.d.TAXIIStore.TAXIISources(r.Context())
	if err != nil {
		return err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	v.Nav = "taxii"
	return c.render(w, v, http.StatusOK, "taxii", v.T("taxii.title"), taxiiPage{
		Discovery: scheme + "://" + r.Host + taxii.Prefix, Collection: taxii.IndicatorsCollection,
		Consumers: cs, Sources: ss, Shown: shown,
		Audiences: []string{"CLEAR", "GREEN", "AMBER"}, SourceLabels: []string{"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"},
	})
}

func (c *Console) taxiiShow(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.taxiiScreen(w, r, v, nil)
}

func (c *Console) taxiiConsumerCreate(w http.ResponseWriter, r *http.Request, v *view) error {
	cred, err := c.d.TAXIIConsumers.Create(r.Context(), taxii.ConsumerInput{Name: strings.TrimSpace(r.PostFormValue("name")),
		Ceiling: r.PostFormValue("audience"), Team: strings.TrimSpace(r.PostFormValue("team")), CanWrite: r.PostFormValue("write") == "on"})
	if err != nil {
		return err
	}
	return c.taxiiScreen(w, r, v, &cred)
}

func (c *Console) taxiiConsumerRotate(w http.ResponseWriter, r *http.Request, v *view) error {
	cred, err := c.d.TAXIIConsumers.Rotate(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return c.taxiiScreen(w, r, v, &cred)
}

func (c *Console) taxiiConsumerState(disabled bool) func(w http.ResponseWriter, r *http.Request, v *view) error {
	return func(w http.ResponseWriter, r *http.Request, v *view) error {
		if err := c.d.TAXIIConsumers.SetDisabled(r.Context(), r.PathValue("name"), disabled); err != nil {
			return err
		}
		c.flash(w, "ok", "flash.taxiiSaved")
		http.Redirect(w, r, "/taxii", http.StatusSeeOther)
		return nil
	}
}

func (c *Console) taxiiConsumerDelete(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := c.d.TAXIIConsumers.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	c.flash(w, "ok", "flash.taxiiSaved")
	http.Redirect(w, r, "/taxii", http.StatusSeeOther)
	return nil
}

func (c *Console) taxiiSourceSave(w http.ResponseWriter, r *http.Request, v *view) error {
	minutes, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("interval")))
	if err != nil {
		minutes = 0 // SaveSource refuses it, naming the field
	}
	if _, err := taxii.SaveSource(r.Context(), c.d.TAXIIStore, taxii.SourceInput{ID: strings.TrimSpace(r.PostFormValue("id")),
		URL: strings.TrimSpace(r.PostFormValue("url")), Collection: strings.TrimSpace(r.PostFormValue("collection")),
		Username: strings.TrimSpace(r.PostFormValue("user")), Secret: r.PostFormValue("secret"), TLP: r.PostFormValue("tlp"),
		Interval: time.Duration(minutes) * time.Minute}, c.d.Clock.Now()); err != nil {
		return err
	}
	c.flash(w, "ok", "flash.taxiiSaved")
	http.Redirect(w, r, "/taxii", http.StatusSeeOther)
	return nil
}

func (c *Console) taxiiSourcePull(w http.ResponseWriter, r *http.Request, v *view) error {
	// The outcome (counts or error) is recorded with the source and shown on the screen.
	if _, err := c.d.TAXIIPuller.PullSource(r.Context(), r.PathValue("id")); err != nil {
		c.d.Log.Warn("taxii pull from the console", "source", r.PathValue("id"), "err", err)
	}
	c.flash(w, "ok", "flash.taxiiPulled")
	http.Redirect(w, r, "/taxii", http.StatusSeeOther)
	return nil
}

func (c *Console) taxiiSourceRemove(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := c.d.TAXIIStore.DeleteTAXIISource(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	c.flash(w, "ok", "flash.taxiiSaved")
	http.Redirect(w, r, "/taxii", http.StatusSeeOther)
	return nil
}

// HasTAXII reports whether the node runs the TAXII screen.
func (v *view) HasTAXII() bool {
	return v.c.d.TAXIIConsumers != nil && v.c.d.TAXIIStore != nil && v.c.d.TAXIIPuller != nil
}
