package web

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestNaturalWording keeps the wording that people who write Chinese, Japanese and
// Korean asked for (issue 10, item 8; docs/i18n.md): the phrasings they found unnatural
// do not come back, and each glossary term is the one used for its idea.
func TestNaturalWording(t *testing.T) {
	read := func(lang string) map[string]any {
		t.Helper()
		b, err := os.ReadFile("locales/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	values := func(m map[string]any) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			case map[string]any: // plural forms
				for f, s := range v {
					if s, ok := s.(string); ok {
						out[k+"/"+f] = s
					}
				}
			}
		}
		return out
	}
	avoid := map[string][]string{
		// 受領 for a person's acknowledgement; waiting told as 待機中; receipts called
		// 受領証 beside 受信証明 elsewhere.
		"ja": {"受領", "待機中"},
		// 열림 for an open incident, 요청: for "from", "확인됨 아직" for "not yet".
		"ko": {"열림", "요청:", "확인됨 아직", "수신 확인 없음"},
		// "邀请于 刚刚" word order; 退出 alone for signing out.
		"zh-Hans": {"邀请于"},
	}
	want := map[string]map[string]string{
		"ja":      {"status.open": "未対応", "hotline.unacked": "未確認（%[1]s経過）", "hstate.acknowledged": "確認済み"},
		"ko":      {"status.open": "접수", "dashboard.from": "발신: %[1]s", "page.notAcked": "미확인", "hotline.waiting": "미확인 (%[1]s 경과)"},
		"zh-Hans": {"nav.signout": "退出登录", "dashboard.waitingSince": "%[1]s邀请"},
	}
	for lang, words := range avoid {
		for k, v := range values(read(lang)) {
			for _, w := range words {
				if strings.Contains(v, w) {
					t.Errorf("%s %s = %q: %q reads unnaturally (docs/i18n.md)", lang, k, v, w)
				}
			}
		}
		for k, w := range want[lang] {
			if got := values(read(lang))[k]; got != w {
				t.Errorf("%s %s = %q, want %q", lang, k, got, w)
			}
		}
	}
	// A term of the glossary, once chosen, is used throughout: a node's signed receipt.
	receipt := map[string]string{"ja": "受信証明", "ko": "수신 증명", "zh-Hans": "回执"}
	for _, k := range []string{"evidence.signed_receipt", "collab.how.delivered", "deliv.receipt", "peers.sent"} {
		for lang, term := range receipt {
			if v := values(read(lang))[k]; !strings.Contains(v, term) {
				t.Errorf("%s %s = %q: a signed receipt is %q", lang, k, v, term)
			}
		}
	}
}
