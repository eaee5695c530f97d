package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/store"
)

// Register mounts the federation endpoints on mux.
func (f *Federation) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+InboxPath, f.handleInbox)
	mux.HandleFunc("GET "+OutboxPath, f.handleOutbox)
	mux.HandleFunc("POST "+ReceiptsPath, f.handleReceipts)
	mux.HandleFunc("GET /federation/v1/identity", f.handleIdentity)
}

func fedError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// authenticate checks that a configured, active peer signed the request for us,
// recently, and returns its body. The header is checked before the body is read, so an
// anonymous client cannot make the node read megabytes. Every refusal is recorded.
func (f *Federation) authenticate(w http.ResponseWriter, r *http.Request) (peer string, body []byte, ok bool) {
	remote := r.RemoteAddr
	refuse := func(peer, reason, detail string, status int, msg string) (string, []byte, bool) {
		f.refuse(r.Context(), peer, remote, reason, detail)
		fedError(w, status, msg)
		return "", nil, false
	}
	a, err := envelope.ParseRequestAuth(r.Header.Get(envelope.AuthHeader))
	if err != nil {
		return refuse("", "unsigned", err.Error(), http.StatusUnauthorized, err.Error())
	}
	if _, configured := f.dir.Peer(a.From); !configured {
		return refuse(a.From, "unknown peer", fmt.Sprintf("%q is not a configured peer", a.From), http.StatusForbidden, "unknown peer")
	}
	pub, active := f.dir.Key(a.From)
	if !active {
		return refuse(a.From, "revoked peer", fmt.Sprintf("%q is revoked", a.From), http.StatusForbidden, "revoked peer")
	}
	if a.To != f.Self() {
		return refuse(a.From, "misdirected", fmt.Sprintf("request for %q", a.To), http.StatusForbidden, "this node is "+f.Self())
	}
	if d := f.clock.Now().Sub(a.Time); d > envelope.Window || d < -envelope.Window {
		msg := fmt.Sprintf("request time %s outside the %s window", a.Time.Format(time.RFC3339), envelope.Window)
		return refuse(a.From, "out of window", msg, http.StatusUnauthorized, msg)
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, envelope.MaxBatchBytes))
	if err != nil {
		return refuse(a.From, "too large", err.Error(), http.StatusRequestEntityTooLarge, "body too large")
	}
	if err := a.Verify(pub, r.Method, r.URL.RequestURI(), f.clock.Now(), body); err != nil {
		return refuse(a.From, "bad request signature", err.Error(), http.StatusUnauthorized, err.Error())
	}
	return a.From, body, true
}

func (f *Federation) handleInbox(w http.ResponseWriter, r *http.Request) {
	peer, body, ok := f.authenticate(w, r)
	if !ok {
		return
	}
	bt, err := envelope.DecodeBatch(body)
	if err != nil {
		f.refuse(r.Context(), peer, r.RemoteAddr, "malformed", err.Error())
		fedError(w, http.StatusBadRequest, err.Error())
		return
	}
	rs, stop, err := f.apply(r.Context(), peer, r.RemoteAddr, bt.Envelopes)
	if err != nil {
		f.log.Error("apply batch", "peer", peer, "err", err)
		fedError(w, http.StatusInternalServerError, "could not apply; retry later")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(envelope.Receipts{Receipts: rs, Error: stop})
}

// handleOutbox serves what waits for a peer that pulls.
func (f *Federation) handleOutbox(w http.ResponseWriter, r *http.Request) {
	peer, _, ok := f.authenticate(w, r)
	if !ok {
		return
	}
	after, err := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	if err != nil {
		fedError(w, http.StatusBadRequest, "after: must be a sequence number")
		return
	}
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > envelope.MaxBatch {
		limit = f.opts.BatchSize
	}
	items, err := f.st.Pending(r.Context(), peer, after, limit)
	if err != nil {
		f.log.Error("read outbox", "peer", peer, "err", err)
		fedError(w, http.StatusInternalServerError, "could not read outbox")
		return
	}
	_, body, _, err := batchOf(items)
	if err != nil {
		f.log.Error("read outbox", "peer", peer, "err", err)
		fedError(w, http.StatusInternalServerError, "could not read outbox")
		return
	}
	if err := f.st.LinkContact(r.Context(), peer, f.clock.Now(), false); err != nil {
		f.log.Error("link contact", "peer", peer, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// handleReceipts takes the receipts of a peer that pulled.
func (f *Federation) handleReceipts(w http.ResponseWriter, r *http.Request) {
	peer, body, ok := f.authenticate(w, r)
	if !ok {
		return
	}
	rs, err := envelope.DecodeReceipts(body)
	if err != nil {
		f.refuse(r.Context(), peer, r.RemoteAddr, "malformed", err.Error())
		fedError(w, http.StatusBadRequest, err.Error())
		return
	}
	envs := map[uint64]*envelope.Envelope{}
	for _, rc := range rs.Receipts {
		items, err := f.st.Pending(r.Context(), peer, rc.Seq-1, 1)
		if err != nil {
			fedError(w, http.StatusInternalServerError, "could not read outbox")
			return
		}
		if len(items) == 1 && items[0].Seq == rc.Seq {
			e, err := envelope.Unmarshal(items[0].Envelope)
			if err == nil {
				envs[rc.Seq] = e
			}
		}
	}
	n, err := f.storeReceipts(r.Context(), peer, envs, rs.Receipts)
	if err != nil {
		f.refuse(r.Context(), peer, r.RemoteAddr, "bad receipt", err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]int{"stored": n})
}

// handleIdentity tells anyone which team and key this node has, so operators can
// compare it with what a partner told them out of band.
func (f *Federation) handleIdentity(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"team": f.dir.Self.ID, "name": f.dir.Self.Name, "public_key": f.dir.Self.PublicKey})
}

// LinkState is what an operator sees of one peer link.
type LinkState struct {
	Peer            string     `json:"peer"`
	Name            string     `json:"name"`
	URL             string     `json:"url,omitempty"`
	Delivery        string     `json:"delivery"`
	PullFrom        bool       `json:"pull_from"`
	Revoked         bool       `json:"revoked"`
	Queued          int        `json:"queued"`
	Delivered       int        `json:"delivered"`
	LagSeconds      float64    `json:"lag_seconds"`
	OldestQueued    *time.Time `json:"oldest_queued,omitempty"`
	LastContactAt   *time.Time `json:"last_contact_at,omitempty"`
	LastDeliveredAt *time.Time `json:"last_delivered_at,omitempty"`
	LastError       string     `json:"last_error,omitempty"`
	LastErrorAt     *time.Time `json:"last_error_at,omitempty"`
	LastInSeq       uint64     `json:"last_in_seq"`
	NextOutSeq      uint64     `json:"next_out_seq"`
}

// Links reports the state of every peer link.
func (f *Federation) Links(ctx context.Context) ([]LinkState, error) {
	var out []LinkState
	now := f.clock.Now()
	for _, p := range f.dir.Peers() {
		l, err := f.st.GetLink(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		s, err := f.st.OutboxStats(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		ls := LinkState{Peer: p.ID, Name: p.Name, URL: p.URL, Delivery: p.Delivery, PullFrom: p.PullFrom, Revoked: p.Revoked,
			Queued: s.Queued, Delivered: s.Delivered, OldestQueued: s.OldestQueued,
			LastContactAt: l.LastContactAt, LastDeliveredAt: l.LastDeliveredAt, LastError: l.LastError, LastErrorAt: l.LastErrorAt,
			LastInSeq: l.LastInSeq, NextOutSeq: l.NextSeq}
		if s.OldestQueued != nil {
			ls.LagSeconds = now.Sub(*s.OldestQueued).Seconds()
		}
		out = append(out, ls)
	}
	return out, nil
}

// Refusals lists recent refused traffic, newest first.
func (f *Federation) Refusals(ctx context.Context, limit int) ([]store.Refusal, error) {
	return f.st.Refusals(ctx, limit)
}
