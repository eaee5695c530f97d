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
type hub struct {
	mu   sync.Mutex
	subs map[chan event]struct{}
}

// maxStreams bounds the open streams of one node.
const maxStreams = 1000

func newHub() *hub { return &hub{subs: map[chan event]struct{}{}} }

func (h *hub) subscribe() (chan event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= maxStreams {
		return nil, false
	}
	ch := make(chan event, 16)
	h.subs[ch] = struct{}{}
	return ch, true
}

func (h *hub) unsubscribe(ch chan event) {
	h.mu.Lock()
	delete(h.subs, ch)
	h.mu.Unlock()
}

func (h *hub) publish(e event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// heartbeat keeps proxies from closing an idle stream and re-checks the session.
const heartbeat = 20 * time.Second

// events streams changes as Server-Sent Events to a signed-in browser: "event: incident"
// with the incident id as data, "event: page" with a hotline page's id. The stream ends
// when the session ends, when the browser goes, or when the node stops serving.
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
	ch, ok := c.hub.subscribe()
	if !ok {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many live streams", http.StatusServiceUnavailable)
		return
	}
	defer c.hub.unsubscribe(ch)
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
		case e := <-ch:
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
