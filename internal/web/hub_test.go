package web

import (
	"fmt"
	"testing"
)

// The caps per session and per person close the oldest stream; the node's own cap
// refuses a new one.
func TestHubCaps(t *testing.T) {
	h := newHub()
	var first []*stream
	for i := range maxSessionStreams {
		s, ok := h.subscribe("u1", "s1")
		if !ok {
			t.Fatalf("stream %d refused", i)
		}
		first = append(first, s)
	}
	if _, ok := h.subscribe("u1", "s1"); !ok {
		t.Fatal("a session's fifth stream was refused; it should close the oldest")
	}
	if !closed(first[0]) || closed(first[1]) {
		t.Fatal("the session's oldest stream was not the one closed")
	}
	for i := range maxUserStreams - maxSessionStreams {
		if _, ok := h.subscribe("u1", fmt.Sprint("s", i+2)); !ok {
			t.Fatal("refused")
		}
	}
	if _, ok := h.subscribe("u1", "s9"); !ok || !closed(first[1]) {
		t.Fatal("the person's ninth stream did not close their oldest")
	}
	if n := len(h.subs); n != maxUserStreams {
		t.Fatalf("%d streams open, want %d", n, maxUserStreams)
	}
	// Other people up to the node's cap, which then refuses.
	for i := len(h.subs); i < maxStreams; i++ {
		if _, ok := h.subscribe(fmt.Sprint("user", i), "s"); !ok {
			t.Fatalf("stream %d refused below the node's cap", i)
		}
	}
	if _, ok := h.subscribe("late", "s"); ok {
		t.Fatal("a stream past the node's cap was accepted")
	}
	// A person at their own cap still gets a new stream: it replaces their oldest.
	if _, ok := h.subscribe("u1", "s1"); !ok || len(h.subs) != maxStreams {
		t.Fatalf("the person's stream at the node's cap: ok=%v, %d open", ok, len(h.subs))
	}
}

func closed(s *stream) bool {
	select {
	case <-s.superseded:
		return true
	default:
		return false
	}
}
