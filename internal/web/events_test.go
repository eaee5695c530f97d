package web_test

import (
	"bufio"
	"context"
	"net/http"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/incident"
)

// liveStream is an open GET /events, read line by line.
type liveStream struct {
	name  string
	lines chan string // closed when the stream ends
}

func openStream(t *testing.T, c *client, name string) *liveStream {
	t.Helper()
	hc := *c.http
	hc.Timeout = 0
	req, _ := http.NewRequest("GET", c.base+"/events", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", name, resp.StatusCode)
	}
	s := &liveStream{name: name, lines: make(chan string, 100)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	return s
}

// until reads the stream until a line equal to want (true) or its end (false).
func (s *liveStream) until(t *testing.T, want string) bool {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return false
			}
			if l == want {
				return true
			}
		case <-deadline:
			t.Fatalf("%s: neither %q nor the end in 10 s", s.name, want)
		}
	}
}

// One person cannot take the node's live streams from the team: past 4 streams in one
// session or 8 in all, a new stream closes that session's (or person's) oldest, which
// is told so ("event: closed") and ends; other people's streams are untouched.
func TestLiveStreamsAreCappedPerSessionAndPerson(t *testing.T) {
	cn, _ := startOne(t)
	a := newClient(t, cn.URL)
	mustSignIn(t, a, cn.User, cn.Password)
	b := newClient(t, cn.URL)
	mustSignIn(t, b, cn.User, cn.Password)
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	other := newClient(t, cn.URL)
	mustSignIn(t, other, "watcher", addUser(t, cn, "watcher", auth.Observer))

	var all []*liveStream
	open := func(cl *client, name string) *liveStream {
		s := openStream(t, cl, name)
		all = append(all, s)
		return s
	}
	a1 := open(a, "a1")
	for _, n := range []string{"a2", "a3", "a4"} {
		open(a, n)
	}
	open(other, "other")
	open(a, "a5") // a's fifth tab: a1 gives way
	if !a1.until(t, "event: closed") || a1.until(t, "never") {
		t.Fatal("a1 was not closed with \"event: closed\" when its session opened a fifth stream")
	}
	for _, n := range []string{"b1", "b2", "b3", "b4"} {
		open(b, n)
	}
	open(c, "c1") // the person's ninth: the oldest of all theirs (a2) gives way
	closed := map[string]bool{"a1": true, "a2": true}
	if a2 := all[1]; !a2.until(t, "event: closed") {
		t.Fatal("a2 was not closed when the person opened a ninth stream")
	}

	in, err := cn.App.Incidents.Create(context.Background(), incident.Actor{Name: "wang.lei"}, incident.NewIncident{Title: "Live",
		Category: "availability/ddos", Severity: "low", TLP: "GREEN"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if closed[s.name] {
			continue
		}
		if !s.until(t, "data: "+in.ID) {
			t.Errorf("stream %s ended; it should still be live", s.name)
		}
	}
}
