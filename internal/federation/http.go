package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"csirtlink/internal/envelope"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
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

// maxReceiptsBody caps a posted receipts body: MaxBatch receipts of about 1 KiB.
const maxReceiptsBody = 1 << 20

// authenticate checks that a configured, active peer signed the request for us,
// recently and only once, and returns its body (at most maxBody bytes). The signature
// covers the body's hash as the header states it, so it is verified before a byte of
// the body is read: an anonymous client naming a real peer costs a signature check,
// never memory. An authenticated peer has at most MaxConcurrentPerPeer requests
// served at once. Every refusal is recorded. The caller must call release when done.
func (f *Federation) authenticate(w http.ResponseWriter, r *http.Request, maxBody int64) (peer string, body []byte, release func(), ok bool) {
	remote := r.RemoteAddr
	refuse := func(peer, reason, detail string, status int, msg string) (string, []byte, func(), bool) {
		f.refuse(r.Context(), peer, remote, reason, detail)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		fedError(w, status, msg)
		return "", nil, nil, false
	}
	a, err := envelope.ParseRequestAuth(r.Header.Get(envelope.AuthHeader))
	if err != nil {
		return refuse("", "unsigned", err.Error(), http.StatusUnauthorized, err.Error())
	}
	switch p, known := f.dir.Peer(a.From); {
	case !known:
		return refuse(a.From, "unknown peer", fmt.Sprintf("%q is not a configured peer", a.From), http.StatusForbidden, "unknown peer")
	case p.Status == team.StatusRevoked:
		return refuse(a.From, "revoked peer", fmt.Sprintf("%q is revoked", a.From), http.StatusForbidden, "revoked peer")
	case !p.IsActive():
		// Pending (not yet approved here: both sides approve before anything but
		// introductions flows) or suspended.
		return refuse(a.From, "inactive peer", fmt.Sprintf("%q is %s", a.From, p.Status), http.StatusForbidden, p.Status+" peer")
	}
	ps := f.state(a.From)
	if a.To != f.Self() {
		return refuse(a.From, "misdirected", fmt.Sprintf("request for %q", a.To), http.StatusForbidden, "this node is "+f.Self())
	}
	now := f.clock.Now()
	if d := now.Sub(a.Time); d > envelope.Window || d < -envelope.Window {
		msg := fmt.Sprintf("request time %s outside the %s window", a.Time.Format(time.RFC3339), envelope.Window)
		return refuse(a.From, "out of window", msg, http.StatusUnauthorized, msg)
	}
	if err := f.verifyRequest(a, r, now); err != nil {
		return refuse(a.From, "bad request signature", err.Error(), http.StatusUnauthorized, err.Error())
	}
	// Nonces seen before a restart are forgotten, so a request signed before this
	// process started could be a replay we cannot recognise. The sender signs its
	// retry afresh.
	if a.Time.Before(f.started) {
		msg := fmt.Sprintf("request signed at %s, before this node started at %s; sign it again",
			a.Time.Format(time.RFC3339Nano), f.started.Format(time.RFC3339Nano))
		return refuse(a.From, "signed before start", msg, http.StatusUnauthorized, msg)
	}
	// Remember the nonce until the request's time leaves the window.
	switch err := f.nonces.add(a.From, a.Nonce, a.Time.Add(envelope.Window), now); {
	case errors.Is(err, errReplayed):
		return refuse(a.From, "replayed request", fmt.Sprintf("%s %s: nonce %x already seen", r.Method, r.URL.Path, a.Nonce), http.StatusUnauthorized, err.Error())
	case err != nil:
		return refuse(a.From, "too many requests", err.Error(), http.StatusTooManyRequests, err.Error())
	}
	release, ok = ps.acquire()
	if !ok {
		msg := fmt.Sprintf("more than %d requests at once", MaxConcurrentPerPeer)
		return refuse(a.From, "too many requests", msg, http.StatusTooManyRequests, msg)
	}
	body, err = a.ReadBody(http.MaxBytesReader(w, r.Body, maxBody), maxBody, r.ContentLength)
	if err != nil {
		release()
		var tooBig *http.MaxBytesError
		if errors.Is(err, envelope.ErrBodyTooLarge) || errors.As(err, &tooBig) {
			return refuse(a.From, "too large", err.Error(), http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody))
		}
		return refuse(a.From, "bad body", err.Error(), http.StatusBadRequest, err.Error())
	}
	// Authentic traffic from the peer: it is reachable, so a sender backing off from
	// it may try again now.
	f.wake(a.From)
	return a.From, body, release, true
}

func (f *Federation) handleInbox(w http.ResponseWriter, r *http.Request) {
	peer, body, release, ok := f.authenticate(w, r, envelope.MaxBatchBytes)
	if !ok {
		return
	}
	defer release()
	bt, err := envelope.DecodeBatch(body)
	if err != nil {
		f.refuse(r.Context(), peer, r.RemoteAddr, "malformed", err.Error())
		fedError(w, http.StatusBadRequest, err.Error())
		return
	}
	answer, err := f.apply(r.Context(), peer, r.RemoteAddr, bt)
	if err != nil {
		f.log.Error("apply batch", "peer", peer, "err", err)
		fedError(w, http.StatusInternalServerError, "could not apply; retry later")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}

// handleOutbox serves what waits for a peer that pulls.
func (f *Federation) handleOutbox(w http.ResponseWriter, r *http.Request) {
	peer, _, release, ok := f.authenticate(w, r, 0)
	if !ok {
		return
	}
	defer release()
	after, err := strconv.ParseUint(r.URL.Query().Get("after"), 10, 63)
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
	_, body, _, err := f.batchOf(peer, items)
	if err != nil {
		f.log.Error("read outbox", "peer", peer, "err", err)
		fedError(w, http.StatusInternalServerError, "could not read outbox")
		return
	}
	// A fetch that finds nothing means the peer holds all we have sent it; one that
	// finds envelopes counts as a send when their receipts come back.
	f.contact(r.Context(), peer, store.LinkEvent{Received: true, Sent: len(items) == 0})
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// handleReceipts takes the receipts of a peer that pulled.
func (f *Federation) handleReceipts(w http.ResponseWriter, r *http.Request) {
	peer, body, release, ok := f.authenticate(w, r, maxReceiptsBody)
	if !ok {
		return
	}
	defer release()
	rs, err := envelope.DecodeReceipts(body)
	if err != nil {
		f.refuse(r.Context(), peer, r.RemoteAddr, "malformed", err.Error())
		fedError(w, http.StatusBadRequest, err.Error())
		return
	}
	envs := map[uint64]*envelope.Envelope{}
	if all := rs.All(); len(all) > 0 {
		lo, hi := all[0].Seq, all[len(all)-1].Seq
		items, err := f.st.Pending(r.Context(), peer, lo-1, int(min(hi-lo+1, envelope.MaxBatch)))
		if err != nil {
			f.log.Error("read outbox", "peer", peer, "err", err)
			fedError(w, http.StatusInternalServerError, "could not read outbox")
			return
		}
		for _, it := range items {
			if e, err := envelope.Unmarshal(it.Envelope); err == nil {
				envs[it.Seq] = e
			}
		}
	}
	// Receipts for all it fetched make the fetch a successful send.
	n, err := f.storeReceipts(r.Context(), peer, envs, rs, store.LinkEvent{Sent: true, Received: true})
	if err != nil {
		f.refuse(r.Context(), peer, r.RemoteAddr, "bad receipt", err.Error())
		f.contact(r.Context(), peer, store.LinkEvent{Received: true})
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

// verifyRequest checks a request's signature against the peer's current key, and
// against a key it rotated away from while that key's grace period lasts (a request
// may be signed just before the peer learnt that we know its new key).
func (f *Federation) verifyRequest(a *envelope.RequestAuth, r *http.Request, now time.Time) error {
	keys := f.dir.Keys(a.From, now)
	if len(keys) == 0 {
		return fmt.Errorf("%q has no key", a.From)
	}
	var err error
	for _, k := range keys {
		if err = a.Verify(k, r.Method, r.URL.RequestURI(), now); err == nil {
			return nil
		}
	}
	return err
}
