package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"csirtlink/internal/auth"
	"csirtlink/internal/partner"
	"csirtlink/internal/testnet"
)

// Issue 9: on a partner's page an admin mails a code to the partner's hotline address and
// enters the code the partner reads out; the same service as the API, so a wrong code is
// refused beside the field in the reader's language, the right one verifies the address,
// and a duty officer sees neither form nor may post to it.
func TestPartnerHotlineCodeForms(t *testing.T) {
	ctx := context.Background()
	mails := t.TempDir()
	dir := t.TempDir()
	n, err := testnet.Start(ctx, testnet.Options{Dir: dir, Federation: fastFed, MailDir: mails})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cn := n.Node("cn")
	c := newClient(t, cn.URL)
	mustSignIn(t, c, "boss", addUser(t, cn, "boss", auth.Admin))
	status := func() partner.HotlineStatus {
		p, _ := cn.App.Partners.Get("jp")
		vs, err := cn.App.Partners.WithHotline(ctx, []partner.View{p})
		if err != nil || vs[0].Hotline == nil {
			t.Fatalf("jp's hotline check: %v", err)
		}
		return *vs[0].Hotline
	}
	if status().Verified {
		t.Fatal("jp's hotline address is verified before any code")
	}

	if _, body := c.get("/directory/jp"); !strings.Contains(body, `action="/directory/jp/hotline-check"`) || !strings.Contains(body, `action="/directory/jp/hotline-code"`) {
		i := strings.Index(body, "<main")
		t.Fatalf("no hotline code forms on jp's page for cn's admin: %s", body[i:min(len(body), i+2500)])
	}
	code := func(v string) (*http.Response, string) {
		return c.post("/directory/jp/hotline-code", url.Values{"code": {v}})
	}
	// A mistake is shown beside the code field, in each language, and what was typed kept.
	short := map[string]string{"en": "A hotline code is 8 letters and digits.", "zh-Hans": "热线验证码由 8 位字母和数字组成。",
		"ja": "ホットライン確認コードは英数字 8 文字です。", "ko": "핫라인 확인 코드는 영문자와 숫자 8자입니다."}
	none := map[string]string{"en": "No code is outstanding for jp", "zh-Hans": "没有发往 jp 热线地址", "ja": "jp のホットラインアドレス", "ko": "jp의 핫라인 주소"}
	for _, lang := range []string{"en", "zh-Hans", "ja", "ko"} {
		setLang(c, cn.URL, "cn", lang)
		resp, body := code("AB12")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="code-error"`) || !strings.Contains(body, short[lang]) || !strings.Contains(body, `value="AB12"`) {
			t.Errorf("%s: a short code: %d; %q beside the field expected", lang, resp.StatusCode, short[lang])
		}
		resp, body = code("ABCD-2345")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="code-error"`) || !strings.Contains(body, none[lang]) {
			t.Errorf("%s: a code before any was mailed: %d; %q beside the field expected", lang, resp.StatusCode, none[lang])
		}
	}
	setLang(c, cn.URL, "cn", "en")

	// The admin mails a code; the partner reads it out; a wrong one is refused first.
	before, _ := filepath.Glob(filepath.Join(mails, "*hotline_at_jp*"))
	resp, _ := c.post("/directory/jp/hotline-check", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("mail a code: %d", resp.StatusCode)
	}
	after, _ := filepath.Glob(filepath.Join(mails, "*hotline_at_jp*"))
	if len(after) != len(before)+1 {
		t.Fatalf("%d code mails to jp's hotline after the form, want %d", len(after), len(before)+1)
	}
	var mailed string
	for _, f := range after {
		b := readHotlineMail(t, f, filepath.Join(dir, "jp", "pgp.key"))
		if m := regexp.MustCompile(`Code: ([A-Z0-9]{4}-[A-Z0-9]{4})`).FindSubmatch(b); m != nil && !contains(before, f) {
			mailed = string(m[1])
		}
	}
	if mailed == "" {
		t.Fatal("no code in the mail to jp's hotline")
	}
	if _, body := c.get("/directory/jp"); !strings.Contains(body, "A code is on its way to their hotline address.") {
		t.Error("no confirmation that the code was mailed")
	}
	wrong := "ZZZZ-ZZZZ"
	if wrong == mailed {
		wrong = "YYYY-YYYY"
	}
	if resp, body := code(wrong); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "This does not match the code mailed to hotline@jp") {
		t.Errorf("a wrong code: %d", resp.StatusCode)
	}
	if status().Verified {
		t.Fatal("a wrong code verified jp's hotline address")
	}
	if resp, _ := code(strings.ToLower(mailed)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right code: %d", resp.StatusCode)
	}
	if !status().Verified {
		t.Fatal("the right code did not verify jp's hotline address")
	}
	if _, body := c.get("/directory/jp"); !strings.Contains(body, `data-hotline-verified="true"`) || !strings.Contains(body, "their hotline address is verified") {
		t.Error("jp's page does not show the address verified")
	}

	// A duty officer (not an admin) sees no form and may not post.
	o := newClient(t, cn.URL)
	mustSignIn(t, o, cn.User, cn.Password)
	if _, body := o.get("/directory/jp"); strings.Contains(body, "/hotline-code") || strings.Contains(body, "/hotline-check") {
		t.Error("a duty officer is shown the hotline code forms")
	}
	for _, path := range []string{"/directory/jp/hotline-check", "/directory/jp/hotline-code"} {
		if resp, _ := o.post(path, url.Values{"code": {mailed}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a duty officer posts to %s: %d, want 403", path, resp.StatusCode)
		}
	}
}

// readHotlineMail is a filed mail's text, decrypted with the partner's private key: the
// code goes to its hotline encrypted.
func readHotlineMail(t *testing.T, file, keyFile string) []byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(raw, []byte("-----BEGIN PGP MESSAGE-----")), bytes.Index(raw, []byte("-----END PGP MESSAGE-----"))
	if i < 0 || j < i {
		return raw
	}
	kf, err := os.Open(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	defer kf.Close()
	ring, err := openpgp.ReadArmoredKeyRing(kf)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := armor.Decode(bytes.NewReader(raw[i : j+len("-----END PGP MESSAGE-----")]))
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(blk.Body, ring, nil, nil)
	if err != nil {
		t.Fatalf("decrypt %s: %v", file, err)
	}
	b, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
