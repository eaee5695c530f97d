package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Checks the browser tests run on every screen they visit: accessibility (axe-core),
// English left on a screen in another language, and the phone's first screen.

var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "node_modules", "axe-core", "axe.min.js"))
	return string(b), err
})

// needAxe returns axe-core's source; without it a test is skipped, except in CI where
// .ci/run installs it (npm ci --prefix internal/web/testdata).
func needAxe(t *testing.T) string {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core missing and CI=true: npm ci --prefix internal/web/testdata (%v)", err)
		}
		t.Skipf("axe-core missing: npm ci --prefix internal/web/testdata to run the accessibility checks (%v)", err)
	}
	return src
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axeCheck runs axe-core on the page and fails on every serious or critical violation.
// The script is injected through the DevTools protocol, which the page's CSP does not
// govern; the page itself still allows no inline script.
func axeCheck(t *testing.T, ctx context.Context, src, what string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src+";void 0")); err != nil {
		t.Fatalf("%s: inject axe-core: %v", what, err)
	}
	const run = `axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')))`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", what, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("%s: axe-core's answer: %v", what, err)
	}
	for _, v := range vs {
		var where []string
		for i, n := range v.Nodes {
			if i == 3 {
				where = append(where, "…")
				break
			}
			b, _ := json.Marshal(n.Target)
			where = append(where, string(b)+": "+strings.ReplaceAll(n.Summary, "\n", " "))
		}
		t.Errorf("%s: axe %s (%s): %s at %s", what, v.ID, v.Impact, v.Help, strings.Join(where, "; "))
	}
}

// englishAllowed are the words a Chinese, Japanese or Korean screen may show in Latin
// letters: TLP labels (FIRST's rule), the product's name, and technical names that the
// languages use as they are.
var englishAllowed = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`TLP CLEAR GREEN AMBER STRICT RED csirtlink UTC API URL URI IPv IPv4 IPv6 CIDR MD5 SHA SHA-1
		SHA-256 IDN DDoS DoS C2 CVE IP DNS RDP VNC Telnet SNMP Redis POODLE FREAK WPAD SYN ICMP UDP SMTP EXPN RCPT fingerd
		CSE SQL Webhook KSK DNSSEC NTP monlist Warez PC OS IOC OpenPGP PGP TOTP Teardrop IANA JSON CSV HTTP HTTPS ID
		CNCERT JPCERT KrCERT SingCERT CC hxxp evil example PDF Web KST JST CST AS`) {
		englishAllowed[strings.ToLower(w)] = true
	}
}

// noEnglish fails when the screen, in a language other than English, shows English
// words of the console's own: text in elements marked with another language (what
// people wrote, the language switcher), marked translate="no" (ids, codes, team and
// person names) or hidden is not the console's and is left out.
func noEnglish(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	const js = `(() => {
  const lang = document.documentElement.lang, out = [];
  const skip = el => el.closest('[translate="no"], code, script, style, [hidden], .visually-hidden, .id, .mail, .uri, .obs, .secret') ||
    (el.closest('[lang]') && el.closest('[lang]').getAttribute('lang') !== lang);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || skip(el) || !el.checkVisibility()) { continue; }
    let s = n.textContent.replace(/\S+@\S+/g, ' ').replace(/\b(?:https?|hxxp):\/\/\S+/g, ' ').replace(/\/[\w\/.-]+/g, ' ');
    for (const w of s.match(/[A-Za-z][A-Za-z0-9'+-]*[A-Za-z0-9]|[A-Za-z]{2,}/g) || []) { out.push(w); }
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
    if (skip(el)) { continue; }
    for (const a of ['placeholder', 'title', 'aria-label']) {
      const v = el.getAttribute(a);
      if (v) { for (const w of v.match(/[A-Za-z]{3,}/g) || []) { out.push(w); } }
    }
  }
  return out;
})()`
	words, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
	if err != nil {
		t.Fatalf("%s: read the words: %v", what, err)
	}
	seen := map[string]bool{}
	var bad []string
	for _, w := range words {
		lw := strings.ToLower(strings.Trim(w, "'-+"))
		if englishAllowed[lw] || len(lw) < 2 || seen[lw] {
			continue
		}
		// Parts of allowed compounds (SHA-256, AMBER+STRICT).
		allowed := true
		for _, part := range strings.FieldsFunc(lw, func(r rune) bool { return r == '-' || r == '+' }) {
			if !englishAllowed[part] && !isNumber(part) {
				allowed = false
			}
		}
		if allowed {
			continue
		}
		seen[lw] = true
		bad = append(bad, w)
	}
	if len(bad) > 0 {
		t.Errorf("%s: English on the screen: %s", what, strings.Join(bad, ", "))
	}
}

func isNumber(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// phoneMeasure is what phoneFirstScreen finds.
type phoneMeasure struct {
	Header   float64  `json:"header"`
	Problems []string `json:"problems"`
	Entries  int      `json:"entries"`
}

// phoneNav checks a screen at a phone's size: nothing scrolls sideways, the header
// with its navigation takes at most a fifth of the screen, and the menu, opened, shows
// every one of its want entries inside the screen.
func phoneNav(t *testing.T, ctx context.Context, what string, want int) {
	t.Helper()
	const js = `(() => {
  const w = window.innerWidth, h = window.innerHeight, doc = document.documentElement;
  const res = { header: 0, entries: 0, problems: [] };
  if (doc.scrollWidth > w) { res.problems.push('the page is ' + doc.scrollWidth + ' px wide in a ' + w + ' px viewport'); }
  const top = document.querySelector('header.top');
  res.header = top.getBoundingClientRect().height;
  if (res.header > h / 5) { res.problems.push('the header takes ' + Math.round(res.header) + ' px of ' + h); }
  const menu = document.querySelector('details.nav-menu');
  if (!menu || !menu.checkVisibility()) { res.problems.push('no menu on the phone'); return res; }
  menu.open = true;
  const links = menu.querySelectorAll('nav a');
  res.entries = links.length;
  for (const a of links) {
    const r = a.getBoundingClientRect();
    if (r.width < 1 || r.height < 40 || r.left < 0 || r.right > w + 0.5 || r.bottom > h + 0.5) {
      res.problems.push(JSON.stringify(a.textContent.trim()) + ' lies at ' + [r.left, r.top, r.right, r.bottom].map(Math.round).join(',') + ', ' + Math.round(r.height) + ' px high');
    }
  }
  menu.open = false;
  return res;
})()`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[phoneMeasure](js))
	if err != nil {
		t.Fatalf("%s: measure the phone's header: %v", what, err)
	}
	if got.Entries != want {
		t.Errorf("%s on a phone: %d menu entries, want %d", what, got.Entries, want)
	}
	for _, p := range got.Problems {
		t.Errorf("%s on a phone: %s", what, p)
	}
}

// teamNamesWhole fails when a team's name is broken over two lines.
func teamNamesWhole(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	const js = `Array.from(document.querySelectorAll('.team-name')).filter(e => e.checkVisibility() && e.getClientRects().length === 1 &&
  e.getBoundingClientRect().height > 1.8 * parseFloat(getComputedStyle(e).lineHeight || getComputedStyle(e).fontSize)).map(e => e.textContent)`
	broken, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
	if err != nil {
		t.Fatalf("%s: measure team names: %v", what, err)
	}
	if len(broken) > 0 {
		t.Errorf("%s: team names broken over lines: %q", what, broken)
	}
}

// focusRings presses Tab through the first n stops of the page and fails for any
// focused element whose focus indicator (the outline or the halo around it) does not
// contrast at least 3:1 with the background it is drawn on.
func focusRings(t *testing.T, ctx context.Context, what string, n int) {
	t.Helper()
	const measure = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return ''; }
  const rgb = s => { const m = s.match(/rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?/); return m ? [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]] : null; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  // The background behind the ring: the nearest ancestor's opaque background.
  let bg = null;
  for (let p = el.parentElement; p && !bg; p = p.parentElement) { const c = rgb(getComputedStyle(p).backgroundColor); if (c && c[3] > 0.5) { bg = c; } }
  bg = bg || [255, 255, 255, 1];
  const s = getComputedStyle(el);
  if (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) { return 'no outline on ' + el.outerHTML.slice(0, 80); }
  const ring = rgb(s.outlineColor), halo = rgb(s.boxShadow);
  const best = Math.max(ring ? ratio(ring, bg) : 0, halo ? ratio(halo, bg) : 0);
  return best >= 3 ? '' : 'contrast ' + best.toFixed(2) + ' on ' + el.outerHTML.slice(0, 80);
})()`
	var problems []string
	for i := 0; i < n; i++ {
		if _, err := chromedp.Run(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatalf("%s: Tab: %v", what, err)
		}
		p, err := chromedp.Run(ctx, chromedp.Evaluate[string](measure))
		if err != nil {
			t.Fatalf("%s: measure the focus ring: %v", what, err)
		}
		if p != "" {
			problems = append(problems, p)
		}
	}
	for _, p := range problems {
		t.Errorf("%s: focus ring: %s", what, p)
	}
}
