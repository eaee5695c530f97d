package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"csirtlink/internal/auth"
	"csirtlink/internal/taxii"
)

// An administrator manages TAXII consumers and sources on /taxii: a new consumer's
// secrets are shown once and work against /taxii2/; an audience wider than AMBER is
// refused naming the field; a source is pulled now and its counts (or its error) are
// shown. A duty officer sees neither the link nor the screen.
func TestTAXIIScreen(t *testing.T) {
	cn, _ := startOne(t)
	bossPW := addUser(t, cn, "boss", auth.Admin)
	boss := newClient(t, cn.URL)
	mustSignIn(t, boss, "boss", bossPW)
	duty := newClient(t, cn.URL)
	mustSignIn(t, duty, cn.User, cn.Password)
	if _, body := duty.get("/"); strings.Contains(body, `href="/taxii"`) {
		t.Error("the TAXII link is shown to a duty officer")
	}
	if resp, _ := duty.get("/taxii"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("TAXII screen as duty officer: %d", resp.StatusCode)
	}
	if _, body := boss.get("/"); !strings.Contains(body, `href="/taxii"`) {
		t.Error("no TAXII link for an admin")
	}
	_, body := boss.get("/taxii")
	if !strings.Contains(body, "No consumer accounts yet.") || !strings.Contains(body, taxii.IndicatorsCollection) {
		t.Fatalf("empty screen: %.2000s", body)
	}

	resp, body := boss.post("/taxii/consumers", url.Values{"name": {"soc"}, "audience": {"RED"}})
	if resp.StatusCode == http.StatusOK || !strings.Contains(body, "never RED") {
		t.Errorf("a RED audience: %d %.3000s", resp.StatusCode, body)
	}
	resp, body = boss.post("/taxii/consumers", url.Values{"name": {"soc"}, "audience": {"GREEN"}})
	m := regexp.MustCompile(`id="taxii-password">([^<]+)<`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, `id="consumer-soc"`) || !strings.Contains(body, "up to TLP:GREEN") {
		t.Fatalf("create: %d %.3000s", resp.StatusCode, body)
	}
	password := m[1]
	// The secrets are not shown again.
	if _, body := boss.get("/taxii"); strings.Contains(body, password) {
		t.Error("the password is shown again")
	}
	req, _ := http.NewRequest("GET", cn.URL+"/taxii2/", nil)
	req.SetBasicAuth("soc", password)
	req.Header.Set("Accept", taxii.MediaType)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("the new consumer at /taxii2/: %v %v", err, r)
	} else {
		r.Body.Close()
	}

	// A source: this node's own collection, pulled now.
	if resp, body := boss.post("/taxii/sources", url.Values{"id": {"self"}, "url": {"ftp://x"}, "collection": {"c"}, "tlp": {"AMBER"}, "interval": {"60"}}); resp.StatusCode == http.StatusSeeOther || !strings.Contains(body, "url") {
		t.Errorf("a bad source URL: %d %.2000s", resp.StatusCode, body)
	}
	if resp, _ := boss.post("/taxii/sources", url.Values{"id": {"self"}, "url": {cn.URL + "/taxii2/api/"}, "collection": {taxii.IndicatorsCollection},
		"user": {"soc"}, "secret": {password}, "tlp": {"AMBER"}, "interval": {"60"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save source: %d", resp.StatusCode)
	}
	if resp, _ := boss.post("/taxii/sources/self/pull", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pull: %d", resp.StatusCode)
	}
	_, body = boss.get("/taxii")
	i := strings.Index(body, `id="source-self"`)
	if i < 0 {
		t.Fatalf("no source row: %.3000s", body)
	}
	row := body[i : i+strings.Index(body[i:], "</tr>")]
	if !strings.Contains(row, "0 last time, 0 in all") || strings.Contains(row, "never") || !strings.Contains(row, "every 60 min") {
		t.Errorf("source row after a pull: %s", row)
	}
	// A failing source shows its error.
	boss.post("/taxii/consumers/soc/disable", url.Values{})
	boss.post("/taxii/sources/self/pull", url.Values{})
	_, body = boss.get("/taxii")
	i = strings.Index(body, `id="source-self"`)
	if row := body[i : i+strings.Index(body[i:], "</tr>")]; !strings.Contains(row, "401") {
		t.Errorf("source row after a refused pull: %s", row)
	}
	if resp, _ := boss.post("/taxii/consumers/soc/delete", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if _, body := boss.get("/taxii"); strings.Contains(body, `id="consumer-soc"`) {
		t.Error("deleted consumer still listed")
	}
}
