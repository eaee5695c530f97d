package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/team"
)

func deviceConsole(t testing.TB) (*Console, *clock.Fake) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	return &Console{d: Deps{Clock: clk}, dir: &team.Directory{Self: team.Team{ID: "cn"}}, deviceKey: DeviceKey(func(m []byte) []byte { return m })}, clk
}

// deviceOf is what knownDevice makes of a cookie value for userID.
func deviceOf(c *Console, value, userID string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: c.cookieName("csl_device"), Value: value})
	return c.knownDevice(r, userID)
}

// issued is the cookie rememberDevice sets for userID.
func issued(c *Console, userID string) string {
	w := httptest.NewRecorder()
	c.rememberDevice(w, httptest.NewRequest("GET", "/", nil), userID)
	for _, ck := range w.Result().Cookies() {
		if ck.Name == c.cookieName("csl_device") {
			return ck.Value
		}
	}
	return ""
}

func TestDeviceCookie(t *testing.T) {
	c, clk := deviceConsole(t)
	v := issued(c, "u1")
	if id := deviceOf(c, v, "u1"); id == "" || !strings.Contains(v, "."+id+".") {
		t.Fatalf("the cookie just set is not known: %q", v)
	}
	if deviceOf(c, v, "u2") != "" {
		t.Error("one person's device cookie is known for another")
	}
	other, _ := deviceConsole(t)
	other.deviceKey = DeviceKey(func(m []byte) []byte { return append(m, 1) })
	if deviceOf(other, v, "u1") != "" {
		t.Error("a cookie signed with another node's key is known")
	}
	clk.Advance(deviceLifetime + time.Minute)
	if deviceOf(c, v, "u1") != "" {
		t.Error("a cookie over its lifetime is known")
	}
}

// FuzzKnownDevice: whatever the cookie holds, knownDevice does not panic, and it knows
// only a cookie this node signed, byte for byte.
func FuzzKnownDevice(f *testing.F) {
	c, _ := deviceConsole(f)
	good := issued(c, "u1")
	f.Add(good, "u1")
	f.Add(good+".x", "u1")
	f.Add("u1..1.", "u1")
	f.Add(strings.Repeat(".", 300), "")
	f.Fuzz(func(t *testing.T, value, userID string) {
		id := c.deviceID(value, userID)
		if id == "" {
			return
		}
		parts := strings.Split(value, ".")
		if len(parts) != 4 || parts[0] != userID || parts[1] != id || parts[3] != c.deviceMAC(userID, id, parts[2]) {
			t.Fatalf("knew a cookie this node did not sign: %q for %q", value, userID)
		}
	})
}
