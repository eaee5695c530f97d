package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/hotline"
)

// The hotline screen puts what needs action first (issue 10, item 3): pages to us
// waiting for acknowledgement on top, most severe first and, within a severity, the
// one waiting longest first, each with its Acknowledge button; what we acknowledged
// below. (Drills apart: TestDutyOfficerInBrowser.)
func TestHotlineWaitingPagesFirst(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	actor := hotline.Actor{Name: cn.User}
	send := func(sev, summary string) string {
		t.Helper()
		p, err := cn.App.Hotline.Send(ctx, actor, hotline.NewPage{To: []string{"jp"}, Severity: sev, Summary: summary})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	low := send("low", "Low, oldest")
	crit1 := send("critical", "Critical, older")
	high := send("high", "High")
	acked := send("high", "High, acknowledged")
	crit2 := send("critical", "Critical, newer")
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, _ := jp.App.Hotline.List(ctx, hotline.ListFilter{Direction: "in"})
		if len(in) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 5 pages reached jp", len(in))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := jp.App.Hotline.Ack(ctx, hotline.Actor{Name: jp.User}, acked, "console"); err != nil {
		t.Fatal(err)
	}

	c := newClient(t, jp.URL)
	mustSignIn(t, c, jp.User, jp.Password)
	_, body := c.get("/hotline")
	i := strings.Index(body, `data-await="pages"`)
	if i < 0 {
		t.Fatal("no list of pages waiting for us")
	}
	waiting := body[i:]
	waiting = waiting[:strings.Index(waiting, "</ul>")]
	var order []string
	for _, m := range regexp.MustCompile(`id="waiting-([^"]+)"`).FindAllStringSubmatch(waiting, -1) {
		order = append(order, m[1])
	}
	want := []string{crit1, crit2, high, low}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("waiting pages in the order %v, want %v (most severe, then longest waiting, first)", order, want)
	}
	if n := strings.Count(waiting, "ack-button"); n != len(want) {
		t.Errorf("%d Acknowledge buttons among %d waiting pages", n, len(want))
	}
	answered := strings.Index(body, `id="in-h"`)
	if answered < i || !strings.Contains(body[answered:], acked) || strings.Contains(waiting, acked) {
		t.Errorf("the acknowledged page is not below the waiting ones")
	}
}
