package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"csirtlink/internal/auth"
	"csirtlink/internal/exchange"
	"csirtlink/internal/misp"
	"csirtlink/internal/problem"
	"csirtlink/internal/stix"
)

// SetExchange mounts the STIX and IODEF exports and imports (issue 16).
func (a *API) SetExchange(ex *exchange.Service) { a.exchange = ex }

// exchangeRoutes are the STIX and IODEF routes. They answer 503 until SetExchange. An
// export is a way out of the node (egress decides what it carries, the audit log keeps
// it), so it takes the write permission, as sharing does.
func (a *API) exchangeRoutes() []Route {
	r := func(pattern string, p auth.Permission, limit int64, h handlerFunc) Route {
		return Route{pattern, a.withLimit(p, limit, func(w http.ResponseWriter, req *http.Request, c caller) error {
			if a.exchange == nil {
				return &problem.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "STIX and IODEF are not set up on this node"}
			}
			return h(w, req, c)
		})}
	}
	return []Route{
		r("GET /api/v1/incidents/{id}/stix", auth.Write, maxBody, a.export(exchange.STIX)),
		r("POST /api/v1/stix/import", auth.Write, stix.MaxBundleBytes, a.importSTIX),
		r("GET /api/v1/incidents/{id}/iodef", auth.Write, maxBody, a.export(exchange.IODEF)),
		r("POST /api/v1/iodef/import", auth.Write, exchange.MaxIODEFBytes, a.importIODEF),
		r("GET /api/v1/incidents/{id}/misp", auth.Write, maxBody, a.export(exchange.MISP)),
		r("POST /api/v1/misp/import", auth.Write, misp.MaxBytes, a.importMISP),
		r("GET /api/v1/indicators/misp", auth.Write, maxBody, a.exportMISPIndicators),
		r("GET /api/v1/indicators/stix", auth.Write, maxBody, a.exportSTIXIndicators),
		r("GET /api/v1/stix/kept", auth.Write, maxBody, a.keptSTIX),
	}
}

// keptSTIX lists the STIX objects imports kept as they came, with their provenance:
// ?limit= (1 to 1000, default 100) and ?after= (the next of the page before).
func (a *API) keptSTIX(w http.ResponseWriter, r *http.Request, _ caller) error {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return problem.Invalid("limit", "must be a number from 1 to 1000")
		}
		limit = n
	}
	page, err := a.exchange.KeptObjects(r.Context(), r.URL.Query().Get("after"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// export serves an incident as a document in one format, written as made: an object
// kept from an import goes out byte for byte, which writeJSON's re-indenting would undo.
func (a *API) export(format string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c caller) error {
		q := r.URL.Query()
		aud, err := a.exchange.ParseAudience(q.Get("team"), q.Get("audience"))
		if err != nil {
			return err
		}
		doc, err := a.exchange.Export(r.Context(), format, c.user.Name, r.PathValue("id"), aud)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", doc.MediaType)
		w.Header().Set("X-Csirtlink-Withheld", fmt.Sprint(doc.Withheld))
		w.WriteHeader(http.StatusOK)
		w.Write(doc.Body)
		return nil
	}
}

// readDocument reads an uploaded document whole, under the route's cap.
func readDocument(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &problem.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("body larger than %d bytes", tooBig.Limit)}
	case err != nil:
		return nil, &problem.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "unreadable body"}
	case len(data) == 0:
		return nil, problem.Invalid("document", "%v", errors.New("empty body; send the document itself"))
	}
	return data, nil
}

func (a *API) importSTIX(w http.ResponseWriter, r *http.Request, c caller) error {
	data, err := readDocument(r)
	if err != nil {
		return err
	}
	switch as := r.URL.Query().Get("as"); as {
	case "indicators":
		res, err := a.exchange.ImportSTIXIndicators(r.Context(), c.indicator(), data, r.URL.Query().Get("tlp"))
		if err != nil {
			return err
		}
		status := http.StatusOK
		if !res.Imported {
			status = http.StatusUnprocessableEntity
		}
		writeJSON(w, status, res)
		return nil
	case "", "incident":
	default:
		return problem.Invalid("as", "must be incident or indicators")
	}
	res, err := a.exchange.ImportSTIX(r.Context(), c.incident(), data, r.URL.Query().Get("tlp"))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+res.Incident.ID)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

func (a *API) importIODEF(w http.ResponseWriter, r *http.Request, c caller) error {
	data, err := readDocument(r)
	if err != nil {
		return err
	}
	res, err := a.exchange.ImportIODEF(r.Context(), c.incident(), data)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+res.Incident.ID)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// importMISP takes a MISP event: as shared indicators, or with ?as=incident as a new
// incident that keeps what it does not map.
func (a *API) importMISP(w http.ResponseWriter, r *http.Request, c caller) error {
	data, err := readDocument(r)
	if err != nil {
		return err
	}
	switch as := r.URL.Query().Get("as"); as {
	case "incident":
		res, err := a.exchange.Import(r.Context(), exchange.MISP, c.incident(), data, exchange.ImportOptions{})
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/incidents/"+res.Incident.ID)
		writeJSON(w, http.StatusCreated, res)
		return nil
	case "", "indicators":
	default:
		return problem.Invalid("as", "must be incident or indicators")
	}
	res, err := a.exchange.ImportMISPIndicators(r.Context(), c.indicator(), data)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !res.Imported {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
	return nil
}

// exportSTIXIndicators serves the indicators named in ?id= (comma-separated or
// repeated), or with ?all=true every one we hold, as a STIX bundle for an audience,
// written as made.
func (a *API) exportSTIXIndicators(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	aud, err := a.exchange.ParseAudience(q.Get("team"), q.Get("audience"))
	if err != nil {
		return err
	}
	all := false
	switch q.Get("all") {
	case "", "false":
	case "true":
		all = true
	default:
		return problem.Invalid("all", "must be true or false")
	}
	ex, err := a.exchange.ExportSTIXIndicators(r.Context(), c.user.Name, idsOf(q["id"]), all, aud)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", stix.MediaType)
	w.Header().Set("X-Csirtlink-Withheld", fmt.Sprint(ex.Withheld))
	w.WriteHeader(http.StatusOK)
	w.Write(ex.Body)
	return nil
}

// idsOf reads ids given comma-separated or repeated.
func idsOf(vs []string) []string {
	var ids []string
	for _, v := range vs {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// exportMISPIndicators serves the indicators named in ?id= (comma-separated or repeated)
// as one MISP event for an audience, written as made.
func (a *API) exportMISPIndicators(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	aud, err := a.exchange.ParseAudience(q.Get("team"), q.Get("audience"))
	if err != nil {
		return err
	}
	body, withheld, err := a.exchange.ExportMISPIndicators(r.Context(), c.user.Name, idsOf(q["id"]), aud)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", misp.MediaType)
	w.Header().Set("X-Csirtlink-Withheld", fmt.Sprint(withheld))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}
