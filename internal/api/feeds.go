package api

import (
	"errors"
	"fmt"
	"net/http"

	"csirtlink/internal/auth"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/feedshare"
	"csirtlink/internal/owner"
	"csirtlink/internal/ownermail"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// DefaultMaxUpload caps a feed file uploaded to the API unless the node says otherwise
// (feeds.max_upload). Larger files go through `csirtlink feed ingest`, which reads them
// from disk.
const DefaultMaxUpload = 1 << 30

// SetFeeds mounts the network owners and feed runs (issue 12) on the API. maxUpload caps
// an uploaded feed file (compressed size, as sent); 0 means DefaultMaxUpload.
func (a *API) SetFeeds(o *owner.Service, f *feedrun.Service, maxUpload int64) {
	if maxUpload <= 0 {
		maxUpload = DefaultMaxUpload
	}
	a.owners, a.feeds, a.maxUpload = o, f, maxUpload
}

// feedRoutes are the network owner and feed routes. They answer 503 until SetFeeds.
func (a *API) feedRoutes() []Route {
	r := func(pattern string, p auth.Permission, limit int64, h handlerFunc) Route {
		return Route{pattern, a.withLimit(p, limit, func(w http.ResponseWriter, req *http.Request, c caller) error {
			if a.owners == nil || a.feeds == nil {
				return &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "feeds are not set up on this node"}
			}
			return h(w, req, c)
		})}
	}
	return []Route{
		r("GET /api/v1/owners", auth.Read, maxBody, a.listOwners),
		r("POST /api/v1/owners", auth.Configure, maxBody, a.createOwner),
		r("GET /api/v1/owners/{id}", auth.Read, maxBody, a.getOwner),
		r("PUT /api/v1/owners/{id}", auth.Configure, maxBody, a.putOwner),
		r("DELETE /api/v1/owners/{id}", auth.Configure, maxBody, a.deleteOwner),
		r("POST /api/v1/owners/import", auth.Configure, owner.MaxImportBytes, a.importOwners),
		r("POST /api/v1/feeds/ingest", auth.Write, a.maxUpload, a.ingestFeed),
		r("GET /api/v1/feeds/runs", auth.Read, maxBody, a.listFeedRuns),
		r("GET /api/v1/feeds/runs/{id}", auth.Read, maxBody, a.getFeedRun),
		r("GET /api/v1/feeds/runs/{id}/deliveries", auth.Read, maxBody, a.feedDeliveries),
		r("GET /api/v1/feeds/runs/{id}/unrouted", auth.Read, maxBody, a.unroutedEvents),
		r("POST /api/v1/feeds/runs/{id}/assign", auth.Write, maxBody, a.assignUnrouted),
		r("GET /api/v1/feeds/reports", auth.Read, maxBody, a.partnerReports),
		r("GET /api/v1/owners/{id}/reports", auth.Read, maxBody, a.ownerReports),
		r("GET /api/v1/owners/{id}/reports/{report}", auth.Read, maxBody, a.ownerReport),
		r("POST /api/v1/owners/{id}/reports/{report}/resend", auth.Write, maxBody, a.resendOwnerReport),
	}
}

// SetFeedShare mounts partners' routed reports and owners' reports on the API.
func (a *API) SetFeedShare(s *feedshare.Service, m *ownermail.Service) { a.share, a.ownerMail = s, m }

// ownerReports lists the reports sent (or to send) to one owner's contacts.
func (a *API) ownerReports(w http.ResponseWriter, r *http.Request, _ caller) error {
	limit, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	if _, err := a.owners.Get(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	if a.ownerMail == nil {
		return &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "feeds are not set up on this node"}
	}
	list, err := a.ownerMail.Reports(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reports": list})
	return nil
}

// ownerReport is one of an owner's reports with what it carried: per run, the range of
// the owner's chunks and their events.
func (a *API) ownerReport(w http.ResponseWriter, r *http.Request, _ caller) error {
	if a.ownerMail == nil {
		return &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "feeds are not set up on this node"}
	}
	rep, runs, err := a.ownerMail.Report(r.Context(), r.PathValue("id"), r.PathValue("report"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"report": rep, "runs": runs})
	return nil
}

// resendOwnerReport sends one of an owner's reports again, to its contact or to another
// contact of the same owner ({"contact": "…"}, optional).
func (a *API) resendOwnerReport(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.ownerMail == nil {
		return &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "feeds are not set up on this node"}
	}
	var in struct {
		Contact string `json:"contact"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	rep, err := a.ownerMail.Resend(r.Context(), c.user.Name, r.PathValue("id"), r.PathValue("report"), in.Contact)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/owners/"+rep.OwnerID+"/reports/"+rep.ID)
	writeJSON(w, http.StatusCreated, rep)
	return nil
}

// partnerReports lists the routed reports received from one partner, with their counts.
func (a *API) partnerReports(w http.ResponseWriter, r *http.Request, _ caller) error {
	partner := r.URL.Query().Get("partner")
	if partner == "" {
		return problem.Invalid("partner", "is required: the team whose reports to list")
	}
	limit, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	if a.share == nil || a.ownerMail == nil {
		return &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "feeds are not set up on this node"}
	}
	list, err := a.share.Received(r.Context(), partner, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reports": list})
	return nil
}

// feedDeliveries lists what a run delivers: each partner's report, each owner contact's events.
func (a *API) feedDeliveries(w http.ResponseWriter, r *http.Request, _ caller) error {
	list, err := a.feeds.Deliveries(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
	return nil
}

// unroutedEvents lists a finished run's events that matched no one.
func (a *API) unroutedEvents(w http.ResponseWriter, r *http.Request, _ caller) error {
	limit, err := limitParam(r, 1000)
	if err != nil {
		return err
	}
	out := []feedrun.Record{}
	err = a.feeds.Events(r.Context(), r.PathValue("id"), store.ChunkUnrouted, "", func(rec feedrun.Record) error {
		if len(out) >= limit {
			return errEnough
		}
		out = append(out, rec)
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}

var errEnough = errors.New("enough")

// assignUnrouted gives a run's unrouted events in a network to an owner.
func (a *API) assignUnrouted(w http.ResponseWriter, r *http.Request, c caller) error {
	var in struct {
		Owner   string `json:"owner"`
		Network string `json:"network"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	n, err := a.feeds.Assign(r.Context(), c.user.Name, r.PathValue("id"), in.Owner, in.Network)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"assigned": n})
	return nil
}

func (a *API) listOwners(w http.ResponseWriter, r *http.Request, _ caller) error {
	list, err := a.owners.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"owners": list})
	return nil
}

func (a *API) getOwner(w http.ResponseWriter, r *http.Request, _ caller) error {
	o, err := a.owners.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// ownerInput is what a client sends: the owner less the times the node sets.
type ownerInput struct {
	ID       string               `json:"id"`
	Name     string               `json:"name"`
	Networks []string             `json:"networks"`
	ASNs     []uint32             `json:"asns"`
	Domains  []string             `json:"domains"`
	Contacts []store.OwnerContact `json:"contacts"`
}

func (in ownerInput) owner() store.NetOwner {
	return store.NetOwner{ID: in.ID, Name: in.Name, Networks: in.Networks, ASNs: in.ASNs, Domains: in.Domains, Contacts: in.Contacts}
}

func (a *API) createOwner(w http.ResponseWriter, r *http.Request, c caller) error {
	var in ownerInput
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := a.owners.Create(r.Context(), c.user.Name, in.owner())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/owners/"+o.ID)
	writeJSON(w, http.StatusCreated, o)
	return nil
}

func (a *API) putOwner(w http.ResponseWriter, r *http.Request, c caller) error {
	var in ownerInput
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := a.owners.Update(r.Context(), c.user.Name, r.PathValue("id"), in.owner())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (a *API) deleteOwner(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := a.owners.Delete(r.Context(), c.user.Name, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// importOwners takes an owners CSV file as the body (see owner.CSVColumns).
func (a *API) importOwners(w http.ResponseWriter, r *http.Request, c caller) error {
	owners, err := owner.ParseCSV(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &problem.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("body larger than %d bytes", tooBig.Limit)}
		}
		return problem.Invalid("file", "%v", err)
	}
	res, err := a.owners.Import(r.Context(), c.user.Name, owners)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// ingestFeed runs the body, a feed file (gzip accepted), through the pipeline and
// answers with the finished run (201), or — with a routing queue — with the run still
// running once its batches are queued (202). It streams: the file is never held whole.
func (a *API) ingestFeed(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	req := feedrun.Request{Format: q.Get("format"), Report: q.Get("report"), Map: q.Get("map"), Feed: q.Get("feed"), TLP: q.Get("tlp"),
		FileName: q.Get("file"), Classification: q.Get("classification"), Aggregate: q.Get("aggregate")}
	run, err := a.feeds.Ingest(r.Context(), c.user.Name, req, r.Body, nil)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/feeds/runs/"+run.ID)
	if run.State == store.RunRunning {
		// Queued for routing workers: accepted, not finished; the client polls the run.
		writeJSON(w, http.StatusAccepted, run)
		return nil
	}
	writeJSON(w, http.StatusCreated, run)
	return nil
}

func (a *API) listFeedRuns(w http.ResponseWriter, r *http.Request, _ caller) error {
	limit, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	list, err := a.feeds.List(r.Context(), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": list})
	return nil
}

func (a *API) getFeedRun(w http.ResponseWriter, r *http.Request, _ caller) error {
	run, err := a.feeds.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}
