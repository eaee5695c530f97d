package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/testnet"
)

// TestCVDAdvisoryTexts: a participant writes the advisory's texts in its language
// (PUT …/advisory/ja); refusals name the field; the texts stay on its node; at
// publication its ja advisory — from the API and from its CSAF folder — carries them,
// with document.lang ja, and passes the CSAF validator.
func TestCVDAdvisoryTexts(t *testing.T) {
	_, n := startCVDNet(t, time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	cn, jp := n.Nodes[0], n.Nodes[1]
	id := newCase(t, cn, "jp")
	waitCase(t, []*testnet.Node{jp}, id, "the case at jp", func(caseView) error { return nil })
	path := "/api/v1/cvd/cases/" + id + "/advisory/"

	for body, field := range map[string]string{
		`{"title":"一行目\n二行目"}`:                                                            "title",
		`{"vulnerabilities":{"v9":{"title":"無い"}}}`:                                       "vulnerabilities[v9]",
		`{"vulnerabilities":{"v1":{"remediation":"` + strings.Repeat("あ", 20001) + `"}}}`: "vulnerabilities[v1].remediation",
		`{"summary":"` + strings.Repeat("x", 20001) + `"}`:                                "summary",
		`{"colour":"red"}`: "colour",
	} {
		var e struct{ Error struct{ Field string } }
		if code := callRaw(t, jp, "PUT", path+"ja", body, &e); code != http.StatusUnprocessableEntity || e.Error.Field != field {
			t.Errorf("%.60s: %d field %q, want 422 %q", body, code, e.Error.Field, field)
		}
	}
	var e struct{ Error struct{ Field string } }
	if code := callRaw(t, jp, "PUT", path+"fr", `{"title":"Titre"}`, &e); code != http.StatusUnprocessableEntity || e.Error.Field != "lang" {
		t.Errorf("fr: %d %q", code, e.Error.Field)
	}

	ja := map[string]any{"title": "ルーターファームウェアにおけるリモートコード実行", "summary": "Web 管理画面に OS コマンドインジェクションの脆弱性があります。",
		"vulnerabilities": map[string]any{"v1": map[string]string{"title": "ping 機能における OS コマンドインジェクション",
			"description": "細工された要求により任意のコマンドが実行されます。", "remediation": "JVN の情報を参照してください。"}}}
	var got struct {
		Texts map[string]struct {
			Title     string
			UpdatedBy string `json:"updated_by"`
		} `json:"advisory_texts"`
	}
	if code := call(t, jp, "PUT", path+"ja", ja, &got); code != http.StatusOK || got.Texts["ja"].Title != ja["title"] || got.Texts["ja"].UpdatedBy == "" {
		t.Fatalf("put ja: %d %+v", code, got)
	}
	// zh-Hans is the zh advisory's language.
	if code := call(t, jp, "PUT", path+"zh-Hans", map[string]string{"title": "路由器固件远程代码执行"}, &got); code != http.StatusOK || got.Texts["zh"].Title == "" {
		t.Fatalf("put zh-Hans: %d %+v", code, got)
	}

	// Publication (an emergency, for brevity): the texts were never sent to cn.
	if code := call(t, cn, "POST", "/api/v1/cvd/cases/"+id+"/embargo/emergency", map[string]string{"reason": "exploited in the wild"}, nil); code != http.StatusOK {
		t.Fatalf("emergency: %d", code)
	}
	waitCase(t, []*testnet.Node{jp, cn}, id, "public", func(c caseView) error {
		if c.Embargo.State != "public" {
			return fmt.Errorf("%s", c.Embargo.State)
		}
		return nil
	})
	var atCN struct {
		Texts map[string]json.RawMessage `json:"advisory_texts"`
	}
	call(t, cn, "GET", "/api/v1/cvd/cases/"+id, nil, &atCN)
	if len(atCN.Texts) != 0 {
		t.Errorf("jp's texts reached cn: %s", atCN.Texts)
	}
	// Once public, what was published stays.
	if code := call(t, jp, "PUT", path+"ja", map[string]string{"title": "後から"}, nil); code != http.StatusConflict {
		t.Errorf("texts changed after publication: %d", code)
	}

	type doc struct {
		Document struct {
			Lang  string
			Title string
			Notes []struct{ Category, Text string }
		}
		Vulnerabilities []struct {
			Title        string
			Notes        []struct{ Category, Text string }
			Remediations []struct{ Details string }
		}
	}
	var d doc
	var raw json.RawMessage
	if code := call(t, jp, "GET", "/api/v1/cvd/cases/"+id+"/csaf?lang=ja", nil, &raw); code != http.StatusOK {
		t.Fatalf("csaf: %d %s", code, raw)
	}
	check := func(from string, b []byte) {
		t.Helper()
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		v := d.Vulnerabilities[0]
		switch {
		case d.Document.Lang != "ja" || d.Document.Title != ja["title"]:
			t.Errorf("%s: lang %q title %q", from, d.Document.Lang, d.Document.Title)
		case !strings.HasPrefix(d.Document.Notes[0].Text, "Web 管理画面に"):
			t.Errorf("%s: summary %q", from, d.Document.Notes[0].Text)
		case v.Title != "ping 機能における OS コマンドインジェクション" || v.Notes[0].Text != "細工された要求により任意のコマンドが実行されます。":
			t.Errorf("%s: vulnerability %q %+v", from, v.Title, v.Notes)
		}
	}
	check("the API", raw)
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "api-ja.json")}
	if err := os.WriteFile(files[0], raw, 0o600); err != nil {
		t.Fatal(err)
	}
	code, body := fetch(t, jp.URL+"/.well-known/csaf/white/2026/"+strings.ToLower(id)+"-ja.json")
	if code != http.StatusOK {
		t.Fatalf("jp's folder: %d", code)
	}
	check("jp's folder", body)
	files = append(files, filepath.Join(dir, "folder-ja.json"))
	if err := os.WriteFile(files[1], body, 0o600); err != nil {
		t.Fatal(err)
	}
	// cn's advisories keep the case's own words.
	var en doc
	call(t, cn, "GET", "/api/v1/cvd/cases/"+id+"/csaf?lang=en", nil, &en)
	if en.Document.Title != "Router firmware: remote code execution" {
		t.Errorf("cn's en title %q", en.Document.Title)
	}
	validateCSAF(t, files)
}
