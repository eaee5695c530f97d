package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/hotline"
	"csirtlink/internal/oncall"
)

// TestPartnersOnCallSection: once jp has a rota, cn's on-call screen shows who is on
// call at jp now and next, by display name, and when the news came; in Japanese too.
func TestPartnersOnCallSection(t *testing.T) {
	n := startNet(t)
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")

	c := newClient(t, cn.URL)
	mustSignIn(t, c, cn.User, cn.Password)
	if _, body := c.get("/oncall"); !strings.Contains(body, "Partners on call") || !strings.Contains(body, "No partner has told us who is on call yet.") {
		t.Errorf("on-call screen before any summary lacks the empty partner section")
	}

	for _, u := range [][2]string{{"tanaka", "Tanaka Hiro"}, {"sato", "Sato Yuki"}} {
		if _, err := jp.App.Auth.CreateUser(ctx, u[0], u[1], "", auth.DutyOfficer); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := jp.App.Hotline.PutRotation(ctx, hotline.Actor{Name: "admin"}, oncall.Rotation{ID: "primary", Name: "Primary duty",
		Timezone: "Asia/Tokyo", Shift: oncall.Hours, Every: 12, Start: "2026-01-01T09:00", Members: []string{"tanaka", "sato"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var body string
	for {
		var resp *http.Response
		resp, body = c.get("/oncall")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("on call: %d", resp.StatusCode)
		}
		if strings.Contains(body, "Primary duty") && strings.Contains(body, "Tanaka Hiro") && strings.Contains(body, "Sato Yuki") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cn's on-call screen never showed jp's on-call people")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"Received just now", "UTC+9", "until "} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("partner section lacks %q", want)
		}
	}
	if strings.Contains(body, "out of date") {
		t.Errorf("a fresh summary is marked stale")
	}

	// The section in Japanese.
	u, _ := url.Parse(cn.URL)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: "csl_lang_cn", Value: "ja"}})
	if _, body := c.get("/oncall"); !strings.Contains(body, "パートナーの当番") {
		t.Errorf("on-call screen in Japanese lacks the partner section's title")
	}
}
