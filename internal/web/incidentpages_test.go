package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
)

// The incident page lists the pages sent about the incident, and only those (issue 10,
// item 12): at the sender, with each partner's state, and at the partner it was sent to.
func TestIncidentPageListsItsPages(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	in, err := cn.App.Incidents.Create(ctx, incident.Actor{Name: cn.User, Role: "duty_officer"}, incident.NewIncident{Title: "C2 at a shared MSP",
		Category: "malicious-code/c2-server", Severity: "high", TLP: "AMBER", Participants: []string{"jp"}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	if _, body := c.get("/incidents/" + in.ID); !strings.Contains(body, "No page has been sent about this incident.") {
		t.Errorf("an incident without pages does not say so")
	}
	actor := hotline.Actor{Name: cn.User}
	about, err := cn.App.Hotline.Send(ctx, actor, hotline.NewPage{To: []string{"jp"}, Severity: "critical", IncidentID: in.ID, Summary: "Isolate the MSP's C2 now"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := cn.App.Hotline.Send(ctx, actor, hotline.NewPage{To: []string{"jp"}, Severity: "low", Summary: "Unrelated question"})
	if err != nil {
		t.Fatal(err)
	}
	_, body := c.get("/incidents/" + in.ID)
	body = pagesSection(t, body)
	if !strings.Contains(body, `href="/hotline/pages/`+about.ID+`"`) || !strings.Contains(body, "Isolate the MSP&#39;s C2 now") {
		t.Errorf("cn's incident page does not list the page sent about it")
	}
	if strings.Contains(body, `href="/hotline/pages/`+other.ID+`"`) || strings.Contains(body, "Unrelated question") {
		t.Errorf("cn's incident page lists a page about something else")
	}
	if !strings.Contains(body, `class="dteam team-name"`) {
		t.Errorf("the page's deliveries are not shown with it")
	}

	// At jp, once both arrived, the incident page lists the incoming page about it.
	cj := newClient(t, jp.URL)
	mustSignIn(t, cj, jp.User, jp.Password)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, full := cj.get("/incidents/" + in.ID)
		// Our own status control comes first, before the participants and the
		// timeline: on a phone's single column it is near the top (item 9).
		if ours, tl := strings.Index(full, `id="participation"`), strings.Index(full, `id="timeline-h"`); ours < 0 || tl < 0 || ours > tl {
			t.Fatalf("jp's status control at %d, the timeline at %d: the control is to come first", ours, tl)
		}
		body := pagesSection(t, full)
		err := fmt.Errorf("page %s not listed", about.ID)
		if strings.Contains(body, `href="/hotline/pages/`+about.ID+`"`) {
			err = nil
			if strings.Contains(body, "Unrelated question") {
				t.Errorf("jp's incident page lists a page about something else")
			}
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jp's incident page: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pagesSection is the incident page's list of pages (other parts of the screen, such
// as the banner of pages waiting for us, list pages about anything).
func pagesSection(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `data-live="incident-pages"`)
	if i < 0 {
		t.Fatal("the incident page has no list of pages")
	}
	body = body[i:]
	if j := strings.Index(body, "</section>"); j >= 0 {
		body = body[:j]
	}
	return body
}
