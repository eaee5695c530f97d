package web_test

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"testing"

	"csirtlink/internal/hotline"
)

// Issue 10 item 4: a page of ours that a partner has not acknowledged shows its state in
// the page's severity colour, so a critical page waiting on a partner looks unlike a high
// or a low one, on the page's screen and in the list of pages we sent.
func TestSenderStatesSeverityColoured(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn := n.Node("cn")
	ids := map[string]string{}
	for _, sev := range []string{"critical", "high", "low"} {
		p, err := cn.App.Hotline.Send(ctx, hotline.Actor{Name: cn.User}, hotline.NewPage{To: []string{"jp"}, Severity: sev, Summary: "State colour " + sev})
		if err != nil {
			t.Fatal(err)
		}
		ids[sev] = p.ID
	}
	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	pill := regexp.MustCompile(`class="pill state-[a-z]+ urg-(wait|alarm) (sev-[a-z]+)"`)
	seen := map[string]string{}
	for sev, id := range ids {
		resp, body := c.get("/hotline/pages/" + id)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page %s: %d", sev, resp.StatusCode)
		}
		m := pill.FindStringSubmatch(body)
		if m == nil || m[2] != "sev-"+sev {
			t.Errorf("%s page: jp's unacknowledged state pill %v, want class sev-%s", sev, m, sev)
			continue
		}
		seen[sev] = m[1] + " " + m[2]
	}
	_, body := c.get("/hotline")
	for sev := range ids {
		if !regexp.MustCompile(`class="pill state-[a-z]+ urg-wait sev-` + sev + `"`).MatchString(body) {
			t.Errorf("/hotline: no %s-coloured state pill for the %s page we sent", sev, sev)
		}
	}

	// The stylesheet gives each severity's waiting and overdue pill its own colour, and the
	// colours differ (light and dark theme alike).
	css, err := os.ReadFile("static/console.css")
	if err != nil {
		t.Fatal(err)
	}
	colours := map[string]string{}
	for _, sev := range []string{"critical", "high", "medium", "low"} {
		for _, urg := range []string{"wait", "alarm"} {
			rule := regexp.MustCompile(`\.pill\.urg-` + urg + `\.sev-` + sev + ` \{[^}]*border-color: var\(--sev-` + sev + `\)`)
			if !rule.Match(css) {
				t.Errorf("console.css: no rule colouring .pill.urg-%s.sev-%s with --sev-%s", urg, sev, sev)
			}
		}
		for _, m := range regexp.MustCompile(`--sev-`+sev+`: (#[0-9a-f]+)`).FindAllSubmatch(css, -1) {
			colours[string(m[1])+"/"+sev] = sev
		}
	}
	byTheme := map[string]string{}
	for k := range colours {
		hex := k[:len(k)-len(colours[k])-1]
		if other, dup := byTheme[hex]; dup && other != colours[k] {
			t.Errorf("console.css: %s and %s share colour %s", other, colours[k], hex)
		}
		byTheme[hex] = colours[k]
	}
	if len(byTheme) < 8 {
		t.Errorf("console.css: %d distinct severity colours over two themes, want 8", len(byTheme))
	}
}
