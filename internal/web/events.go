package web

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"csirtlink/internal/auth"
)

// event is a change a live page may show: Kind "incident" or "page", and the object's id.
type event struct{ Kind, ID string }

// hub passes incident and page changes to the open live-update streams. publish never
// blocks: a stream whose buffer is full misses that notice, and its page refreshes on
// the next.
//
// Streams are capped per session and per person as well as in all, so that one person
// (or one stolen session) cannot take the node's streams from the rest of the team. A
// new stream over a cap closes that session's (or person's) oldest: the tab just opened
// or just looked at is the one that wants live updates, and a tab closed this way is
// told so and stops reconnecting (console.js), keeping its once-a-minute refresh, until
// it is looked at again.
type hub struct {
	mu   sync.Mutex
	subs map[*stream]struct{}
	seq  uint64
}

// stream is one open live-update stream.
type stream struct {
	ch            chan event
	user, session string // the user's id and the session's hash
	seq           uint64 // order of opening
	// superseded is closed when a newer stream of the same session or person took this
	// one's place.
	superseded chan struct{}
}

// Caps on open streams: of one node, of one person (a few browsers), of one session
// (a few tabs).
const (
	maxStreams        = 1000
	maxUserStreams    = 8
	maxSessionStreams = 4
)

func newHub() *hub { return &hub{subs: map[*stream]struct{}{}} }

// subscribe opens a stream for a session, closing the oldest of the session's or the
// person's streams when they are at their cap; false when the node is at its own.
func (h *hub) subscribe(user, session string) (*stream, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		var mine, theirs []*stream
		for s := range h.subs {
			if s.user == user {
				theirs = append(theirs, s)
				if s.session == session {
					mine = append(mine, s)
				}
			}
		}
		switch {
		case len(mine) >= maxSessionStreams:
			h.supersede(oldest(mine))
			continue
		case len(theirs) >= maxUserStreams:
			h.supersede(oldest(theirs))
			continue
		}
		break
	}
	if len(h.subs) >= maxStreams {
		return nil, false
	}
	h.seq++
	s := &stream{ch: make(chan event, 16), user: user, session: session, seq: h.seq, superseded: make(chan struct{})}
	h.subs[s] = struct{}{}
	return s, true
}

func oldest(ss []*stream) *stream {
	o := ss[0]
	for _, s := range ss[1:] {
		if s.seq < o.seq {
			o = s
		}
	}
	return o
}

// supersede closes a stream to make room; the caller holds mu.
func (h *hub) supersede(s *stream) {
	delete(h.subs, s)
	close(s.superseded)
}

func (h *hub) unsubscribe(s *stream) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) publish(e event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
		}
	}
}

// heartbeat keeps proxies from closing an idle stream and re-checks the session.
const heartbeat = 20 * time.Second

// events streams changes as Server-Sent Events to a signed-in browser: "event: incident"
// with the incident id as data, "event: page" with a hotline page's id. The stream ends
// when the session ends, when the browser goes, or when the node stops serving; and
// with "event: closed" when a newer stream of the same person took its place.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	s, err := c.readSession(r, false)
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	if s == nil || s.Pending || !auth.Allows(s.User.Role, auth.Read) {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	st, ok := c.hub.subscribe(s.User.ID, s.Hash)
	if !ok {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many live streams", http.StatusServiceUnavailable)
		return
	}
	defer c.hub.unsubscribe(st)
	rc := http.NewResponseController(w)
	// The server's write timeout is for requests, not for a stream that lives for hours.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		c.log.Warn("live stream: cannot clear the write deadline", "err", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: live\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	var done <-chan struct{}
	if c.d.Done != nil {
		done = c.d.Done()
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-done:
			return
		case <-st.superseded:
			// A newer tab of the same person took this stream's place: say so, so that
			// this tab does not reconnect and take it back.
			fmt.Fprint(w, "event: closed\ndata: superseded\n\n")
			rc.Flush()
			return
		case e := <-st.ch:
			if strings.ContainsAny(e.ID, "\r\n") {
				continue // ids come from peers too; a line break would forge an event
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Kind, e.ID)
		case <-tick.C:
			if s, err := c.readSession(r, false); err != nil || s == nil || s.Pending {
				return
			}
			fmt.Fprint(w, ": ping\n\n")
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
