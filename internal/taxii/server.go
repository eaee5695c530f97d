package taxii

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/egress"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
	"csirtlink/internal/tlp"
)

// Store is what the server needs of the node's database.
type Store interface {
	store.TAXII
}

// Server serves TAXII 2.1 under /taxii2/.
type Server struct {
	st    Store
	dir   *team.Directory
	clock clock.Clock
	log   *slog.Logger
	title string
	// seen caches a Basic credential's successful check for a minute: Argon2id on every
	// request of a paging client would cost more than the page.
	mu   sync.Mutex
	seen map[[32]byte]seenEntry
}

type seenEntry struct {
	name  string
	until time.Time
}

// Prefix is where the server is mounted.
const Prefix = "/taxii2/"

// apiRoot is the one API root's path.
const apiRoot = Prefix + "api/"

// NewServer makes the server and creates its collections.
func NewServer(ctx context.Context, st Store, dir *team.Directory, clk clock.Clock, log *slog.Logger) (*Server, error) {
	s := &Server{st: st, dir: dir, clock: clk, log: log.With("component", "taxii"), seen: map[[32]byte]seenEntry{},
		title: "csirtlink " + dir.Self.ID}
	for _, c := range []store.TAXIICollection{
		{ID: IndicatorsCollection, Title: "Shared indicators", Description: "Indicators shared by " + dir.Self.ID + ", as your audience may receive them"},
		{ID: InboxCollection, Title: "Inbox", Description: "Objects for " + dir.Self.ID + "'s analysts; write only"},
	} {
		if err := st.EnsureTAXIICollection(ctx, c); err != nil {
			return nil, fmt.Errorf("taxii: %w", err)
		}
	}
	return s, nil
}

// Handler routes the TAXII endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"{$}", s.auth(s.discovery))
	mux.HandleFunc("GET "+apiRoot+"{$}", s.auth(s.apiRoot))
	mux.HandleFunc("GET "+apiRoot+"status/{status}/{$}", s.auth(s.status))
	mux.HandleFunc("GET "+apiRoot+"collections/{$}", s.auth(s.collections))
	mux.HandleFunc("GET "+apiRoot+"collections/{col}/{$}", s.auth(s.collection))
	mux.HandleFunc("GET "+apiRoot+"collections/{col}/objects/{$}", s.auth(s.getObjects))
	mux.HandleFunc("POST "+apiRoot+"collections/{col}/objects/{$}", s.auth(s.postObjects))
	mux.HandleFunc("GET "+apiRoot+"collections/{col}/objects/{obj}/{$}", s.auth(s.getObject))
	mux.HandleFunc("DELETE "+apiRoot+"collections/{col}/objects/{obj}/{$}", s.auth(s.deleteObject))
	mux.HandleFunc("GET "+apiRoot+"collections/{col}/objects/{obj}/versions/{$}", s.auth(s.versions))
	mux.HandleFunc("GET "+apiRoot+"collections/{col}/manifest/{$}", s.auth(s.manifest))
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		// Unknown paths and methods answer with a TAXII error, whatever the mux says.
		writeError(w, http.StatusNotFound, "Not found", "no TAXII endpoint at "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// taxiiError is TAXII 2.1's error message resource.
type taxiiError struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	HTTPStatus  string `json:"http_status,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"title":"Internal error"}`)
	}
	writeBody(w, code, b.Bytes())
}

func writeBody(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(code)
	w.Write(b)
}

func writeError(w http.ResponseWriter, code int, title, description string) {
	writeJSON(w, code, taxiiError{Title: title, Description: description, HTTPStatus: fmt.Sprint(code)})
}

// acceptable reports whether an Accept header admits TAXII 2.1. No header, */* and
// application/* admit anything (RFC 9110); application/taxii+json without a version
// means the newest, which is 2.1.
func acceptable(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*":
			return true
		case "application/taxii+json":
			if v, ok := params["version"]; !ok || v == "2.1" {
				return true
			}
		}
	}
	return false
}

type handler func(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer)

// auth checks the Accept header and the consumer's credentials before h.
func (s *Server) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.consumer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="taxii", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "Unauthorized", "a TAXII consumer account's credentials are required (HTTP Basic or a bearer token)")
			return
		}
		if !acceptable(r.Header.Get("Accept")) {
			writeError(w, http.StatusNotAcceptable, "Not acceptable", "this server speaks "+MediaType)
			return
		}
		h(w, r, c)
	}
}

// consumer authenticates the request.
func (s *Server) consumer(r *http.Request) (store.TAXIIConsumer, bool) {
	ctx := r.Context()
	var c store.TAXIIConsumer
	var err error
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		c, err = s.st.TAXIIConsumerByToken(ctx, auth.HashToken(strings.TrimSpace(h[7:])))
	} else if name, password, ok := r.BasicAuth(); ok && len(name) <= 128 && len(password) <= 1024 {
		key := sha256.Sum256([]byte(name + "\x00" + password))
		now := s.clock.Now()
		s.mu.Lock()
		e, hit := s.seen[key]
		s.mu.Unlock()
		c, err = s.st.TAXIIConsumer(ctx, name)
		if err == nil && !(hit && e.name == name && now.Before(e.until)) {
			if _, perr := auth.CheckPassword(c.PasswordHash, password); perr != nil {
				err = perr
			} else {
				s.mu.Lock()
				if len(s.seen) > 10000 {
					clear(s.seen)
				}
				s.seen[key] = seenEntry{name: name, until: now.Add(time.Minute)}
				s.mu.Unlock()
			}
		}
		if errors.Is(err, store.ErrNotFound) {
			auth.WastePasswordCheck(password)
		}
	} else {
		return c, false
	}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("taxii consumer check", "err", err)
		}
		return c, false
	}
	if c.DisabledAt != nil {
		return c, false
	}
	// Recorded at most once a minute: an admin sees which accounts are in use.
	if now := s.clock.Now(); c.LastSeenAt == nil || now.Sub(*c.LastSeenAt) >= time.Minute {
		if err := s.st.TouchTAXIIConsumer(ctx, c.Name, now); err != nil {
			s.log.Warn("taxii consumer seen", "consumer", c.Name, "err", err)
		}
	}
	return c, true
}

// decide is the egress decision for one object going to consumer c.
func (s *Server) decide(c store.TAXIIConsumer, label tlp.Label) egress.Decision {
	return egress.Decide(egress.Request{
		Item:    tlp.Item{Label: label},
		Context: egress.NewContext(s.dir, nil),
		To:      egress.Destination{Kind: egress.Export, Team: c.Team, Ceiling: tlp.Label(c.Ceiling)},
		Now:     s.clock.Now(),
	})
}

// visibleLabels are the labels egress lets go to c: the store filters on them, and
// each object is decided again before it is written.
func (s *Server) visibleLabels(c store.TAXIIConsumer) []string {
	out := []string{}
	for _, l := range labels {
		if s.decide(c, l).Full() {
			out = append(out, string(l))
		}
	}
	return out
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request, _ store.TAXIIConsumer) {
	root := baseURL(r) + apiRoot
	writeJSON(w, http.StatusOK, map[string]any{
		"title": s.title, "description": "TAXII 2.1 server of the csirtlink node of " + s.dir.Self.ID,
		"default": root, "api_roots": []string{root},
	})
}

// baseURL is the scheme and host the client reached us by.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) apiRoot(w http.ResponseWriter, _ *http.Request, _ store.TAXIIConsumer) {
	writeJSON(w, http.StatusOK, map[string]any{
		"title": s.title, "versions": []string{MediaType}, "max_content_length": MaxContentLength,
	})
}

type collectionResource struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`
}

func resource(col store.TAXIICollection, c store.TAXIIConsumer) collectionResource {
	return collectionResource{ID: col.ID, Title: col.Title, Description: col.Description,
		CanRead: col.ID != InboxCollection, CanWrite: col.ID == InboxCollection && c.CanWrite,
		MediaTypes: []string{"application/stix+json;version=2.1"}}
}

// served reports whether a collection is served: the shared indicators and the inbox,
// not the collections that keep what the client pulled from sources.
func served(id string) bool { return id == IndicatorsCollection || id == InboxCollection }

func (s *Server) collections(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) {
	cols, err := s.st.TAXIICollections(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	out := []collectionResource{}
	for _, col := range cols {
		if served(col.ID) {
			out = append(out, resource(col, c))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"collections": out})
}

// findCollection writes 404 and returns false when there is no such collection.
func (s *Server) findCollection(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) (collectionResource, bool) {
	id := r.PathValue("col")
	cols, err := s.st.TAXIICollections(r.Context())
	if err != nil {
		s.internal(w, err)
		return collectionResource{}, false
	}
	for _, col := range cols {
		if col.ID == id && served(id) {
			return resource(col, c), true
		}
	}
	writeError(w, http.StatusNotFound, "Collection not found", "no collection "+id)
	return collectionResource{}, false
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) {
	if col, ok := s.findCollection(w, r, c); ok {
		writeJSON(w, http.StatusOK, col)
	}
}

func (s *Server) internal(w http.ResponseWriter, err error) {
	s.log.Error("taxii", "err", err)
	writeError(w, http.StatusInternalServerError, "Internal error", "the server could not answer; see its log")
}

// page runs a filtered query for consumer c: the objects it may receive, whether there
// are more, and the cursor after the last. A cursor for another collection is refused.
func (s *Server) page(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer, allow int, objectID string, meta bool) ([]store.TAXIIObject, bool, bool) {
	col, ok := s.findCollection(w, r, c)
	if !ok {
		return nil, false, false
	}
	if !col.CanRead {
		writeError(w, http.StatusForbidden, "Forbidden", "collection "+col.ID+" cannot be read")
		return nil, false, false
	}
	f, err := ParseFilter(r.URL.Query(), allow)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad request", err.Error())
		return nil, false, false
	}
	q := store.TAXIIQuery{Collection: col.ID, AddedAfter: f.AddedAfter, IDs: f.IDs, Types: f.Types, SpecVersions: f.SpecVersions,
		Labels: s.visibleLabels(c), Version: f.Version, Limit: f.Limit, MetaOnly: meta}
	if objectID != "" {
		q.IDs = []string{objectID}
	}
	if allow&allowVersion == 0 {
		q.Version = store.TAXIIVersion{All: true}
	}
	if f.Next != nil {
		if f.Next.Collection != col.ID {
			writeError(w, http.StatusBadRequest, "Bad request", "next: the cursor is for another collection")
			return nil, false, false
		}
		q.AfterSeq = f.Next.Seq
	}
	objs, err := s.st.TAXIIObjects(r.Context(), q)
	if err != nil {
		s.internal(w, err)
		return nil, false, false
	}
	more := len(objs) > f.Limit
	if more {
		objs = objs[:f.Limit]
	}
	// Each object is decided on its label; the decision depends on nothing else of the
	// object, so it is asked once per label a page holds, not once per object.
	var decided [8]struct {
		label tlp.Label
		full  bool
	}
	n := 0
	full := func(l tlp.Label) bool {
		for i := range n {
			if decided[i].label == l {
				return decided[i].full
			}
		}
		f := s.decide(c, l).Full()
		if n < len(decided) {
			decided[n].label, decided[n].full = l, f
			n++
		}
		return f
	}
	kept := objs[:0]
	for _, o := range objs {
		if full(tlp.Label(o.TLP)) {
			kept = append(kept, o)
		}
	}
	// The cursor is the last object read, kept or not, so that the next page starts
	// after it either way.
	if len(objs) > 0 {
		setAddedHeaders(w, kept)
		if more {
			w.Header().Set("X-TAXII-Next", Cursor{Collection: col.ID, Seq: objs[len(objs)-1].Seq}.Encode())
		}
	}
	return kept, more, true
}

// versionOf is an object's version as TAXII writes it: its modified (or created) time,
// or, for an object with neither (a cyber-observable), its date_added (section 3.6).
func versionOf(o store.TAXIIObject) string {
	if o.Version.IsZero() {
		return formatAdded(o.DateAdded)
	}
	return formatVersion(o.Version)
}

func setAddedHeaders(w http.ResponseWriter, objs []store.TAXIIObject) {
	if len(objs) == 0 {
		return
	}
	w.Header().Set("X-TAXII-Date-Added-First", formatAdded(objs[0].DateAdded))
	w.Header().Set("X-TAXII-Date-Added-Last", formatAdded(objs[len(objs)-1].DateAdded))
}

// writeEnvelope writes the objects' raw bytes as they were added.
func writeEnvelope(w http.ResponseWriter, objs []store.TAXIIObject, more bool) {
	// One allocation of the page's exact size: a 1,000-object page is about a
	// megabyte, and growing (or over-allocating and zeroing) it cost more than the
	// copying itself.
	size := 256
	for _, o := range objs {
		size += len(o.Raw) + 1
	}
	var b bytes.Buffer
	b.Grow(size)
	fmt.Fprintf(&b, `{"more":%t`, more)
	if next := w.Header().Get("X-TAXII-Next"); more && next != "" {
		fmt.Fprintf(&b, `,"next":%q`, next)
	}
	if len(objs) > 0 {
		b.WriteString(`,"objects":[`)
		for i, o := range objs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(o.Raw)
		}
		b.WriteByte(']')
	}
	b.WriteString("}\n")
	w.Header().Del("X-TAXII-Next")
	writeBody(w, http.StatusOK, b.Bytes())
}

func (s *Server) getObjects(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) {
	objs, more, ok := s.page(w, r, c, allowPaging|allowID|allowType|allowVersion|allowSpecVersion, "", false)
	if ok {
		writeEnvelope(w, objs, more)
	}
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) {
	id := r.PathValue("obj")
	if !stixIDPattern.MatchString(id) {
		writeError(w, http.StatusBadRequest, "Bad request", "object id: "+id+" is not a STIX identifier")
		return
	}
	objs, more, ok := s.page(w, r, c, allowPaging|allowVersion|allowSpecVersion, id, false)
	if !ok {
		return
	}
	if len(objs) == 0 && r.URL.Query().Get("next") == "" {
		writeError(w, http.StatusNotFound, "Object not found", "no object "+id+" in this collection that you may receive")
		return
	}
	writeEnvelope(w, objs, more)
}

func (s *Server) manifest(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) {
	objs, more, ok := s.page(w, r, c, allowPaging|allowID|allowType|allowVersion|allowSpecVersion, "", true)
	if !ok {
		return
	}
	type record struct {
		ID        string `json:"id"`
		DateAdded string `json:"date_added"`
		Version   string `json:"version"`
		MediaType string `json:"media_type"`
	}
	out := map[string]any{"more": more}
	if next := w.Header().Get("X-TAXII-Next"); more {
		out["next"] = next
	}
	w.Header().Del("X-TAXII-Next")
	if len(objs) > 0 {
		recs := make([]record, len(objs))
		for i, o := range objs {
			recs[i] = record{ID: o.ID, DateAdded: formatAdded(o.DateAdded), Version: versionOf(o), MediaType: "application/stix+json;version=" + o.SpecVersion}
		}
		out["objects"] = recs
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) {
	id := r.PathValue("obj")
	if !stixIDPattern.MatchString(id) {
		writeError(w, http.StatusBadRequest, "Bad request", "object id: "+id+" is not a STIX identifier")
		return
	}
	objs, more, ok := s.page(w, r, c, allowPaging|allowSpecVersion, id, true)
	if !ok {
		return
	}
	if len(objs) == 0 && r.URL.Query().Get("next") == "" {
		writeError(w, http.StatusNotFound, "Object not found", "no object "+id+" in this collection that you may receive")
		return
	}
	out := map[string]any{"more": more}
	if next := w.Header().Get("X-TAXII-Next"); more {
		out["next"] = next
	}
	w.Header().Del("X-TAXII-Next")
	vs := make([]string, len(objs))
	for i, o := range objs {
		vs[i] = versionOf(o)
	}
	if len(vs) > 0 {
		out["versions"] = vs
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteObject deletes versions of an object. Only a consumer that may write to the
// collection may, and the shared indicators are written by their authors alone: a
// consumer deletes from the inbox what it may read there (nothing, as the inbox cannot
// be read), so the answer is 403 unless the collection is writable for it.
func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) {
	col, ok := s.findCollection(w, r, c)
	if !ok {
		return
	}
	if !col.CanWrite {
		writeError(w, http.StatusForbidden, "Forbidden", "you may not delete from collection "+col.ID)
		return
	}
	id := r.PathValue("obj")
	if !stixIDPattern.MatchString(id) {
		writeError(w, http.StatusBadRequest, "Bad request", "object id: "+id+" is not a STIX identifier")
		return
	}
	f, err := ParseFilter(r.URL.Query(), allowVersion|allowSpecVersion)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	v := f.Version
	if !v.First && !v.Last && len(v.At) == 0 {
		// Without match[version], DELETE removes every version (section 5.7).
		v.All = true
	}
	n, err := s.st.DeleteTAXIIObjects(r.Context(), store.TAXIIQuery{Collection: col.ID, IDs: []string{id}, SpecVersions: f.SpecVersions, Version: v})
	if err != nil {
		s.internal(w, err)
		return
	}
	if n == 0 {
		writeError(w, http.StatusNotFound, "Object not found", "no object "+id)
		return
	}
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(http.StatusOK)
}

// Status is TAXII 2.1's status resource.
type Status struct {
	ID               string          `json:"id"`
	Status           string          `json:"status"`
	RequestTimestamp string          `json:"request_timestamp"`
	TotalCount       int             `json:"total_count"`
	SuccessCount     int             `json:"success_count"`
	Successes        []StatusDetails `json:"successes,omitempty"`
	FailureCount     int             `json:"failure_count"`
	Failures         []StatusDetails `json:"failures,omitempty"`
	PendingCount     int             `json:"pending_count"`
	Pendings         []StatusDetails `json:"pendings,omitempty"`
}

// StatusDetails is one object's outcome.
type StatusDetails struct {
	ID        string `json:"id"`
	Version   string `json:"version"`
	Message   string `json:"message,omitempty"`
	DateAdded string `json:"date_added,omitempty"`
}

func (s *Server) postObjects(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) {
	col, ok := s.findCollection(w, r, c)
	if !ok {
		return
	}
	if !col.CanWrite {
		writeError(w, http.StatusForbidden, "Forbidden", "you may not write to collection "+col.ID)
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/taxii+json" || (params["version"] != "" && params["version"] != "2.1") {
		writeError(w, http.StatusUnsupportedMediaType, "Unsupported media type", "Content-Type must be "+MediaType)
		return
	}
	if r.ContentLength > MaxContentLength {
		writeError(w, http.StatusRequestEntityTooLarge, "Too large", fmt.Sprintf("the body exceeds max_content_length %d", MaxContentLength))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxContentLength+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad request", "body: "+err.Error())
		return
	}
	if len(body) > MaxContentLength {
		writeError(w, http.StatusRequestEntityTooLarge, "Too large", fmt.Sprintf("the body exceeds max_content_length %d", MaxContentLength))
		return
	}
	env, err := DecodeEnvelope(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	now := s.clock.Now()
	st := Status{ID: uuid4(), Status: "complete", RequestTimestamp: formatAdded(now), TotalCount: len(env)}
	var add []store.TAXIIObject
	for _, e := range env {
		if e.Err != nil {
			st.Failures = append(st.Failures, StatusDetails{ID: e.ID, Version: e.VersionText, Message: e.Err.Error()})
			continue
		}
		add = append(add, store.TAXIIObject{ID: e.ID, Version: e.Version, SpecVersion: e.SpecVersion, Type: e.Type,
			TLP: string(e.Label(tlp.Red)), Source: "consumer:" + c.Name, Raw: e.Raw})
	}
	added, err := s.st.AddTAXIIObjects(r.Context(), col.ID, add, now)
	if err != nil {
		s.internal(w, err)
		return
	}
	fresh := map[string]time.Time{}
	for _, o := range added {
		fresh[o.ID+"\x00"+formatVersion(o.Version)] = o.DateAdded
	}
	for _, o := range add {
		d := StatusDetails{ID: o.ID, Version: formatVersion(o.Version)}
		if at, ok := fresh[o.ID+"\x00"+d.Version]; ok {
			d.DateAdded = formatAdded(at)
			if o.Version.IsZero() {
				d.Version = d.DateAdded
			}
		} else {
			d.Message = "already held"
		}
		st.Successes = append(st.Successes, d)
	}
	st.SuccessCount, st.FailureCount = len(st.Successes), len(st.Failures)
	doc, _ := json.Marshal(st)
	if err := s.st.PutTAXIIStatus(r.Context(), st.ID, c.Name, now, doc); err != nil {
		s.internal(w, err)
		return
	}
	writeBody(w, http.StatusAccepted, append(doc, '\n'))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, c store.TAXIIConsumer) {
	owner, doc, err := s.st.TAXIIStatus(r.Context(), r.PathValue("status"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && owner != c.Name) {
		writeError(w, http.StatusNotFound, "Status not found", "no status "+r.PathValue("status")+" of yours")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	writeBody(w, http.StatusOK, append(doc, '\n'))
}
