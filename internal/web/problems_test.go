package web

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/observable"
	"csirtlink/internal/problem"
	"csirtlink/internal/taxonomy"
	"csirtlink/internal/tlp"
)

// problemCall is one call of problem.Invalid, BadRequest, NotFound, Forbidden or Conflict
// in the services' source.
type problemCall struct {
	pos    string
	fn     string
	format string // "" when the format is not a string literal
	field  string // Invalid's field, when it is a string literal
}

// problemFuncs are problem's constructors, with the index of the format argument.
var problemFuncs = map[string]int{"Invalid": 1, "BadRequest": 0, "NotFound": 0, "Forbidden": 0, "Conflict": 0}

// scanProblems parses every non-test Go file under internal/ and returns the calls of
// problem's constructors, and the literal field names handed to helpers whose first
// parameter is named "field" (checkText("summary", …), ValidatePassword("new", …)),
// which pass it on to problem.Invalid.
func scanProblems(t *testing.T) (calls []problemCall, fields map[string]string) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Helpers that take a field name first and hand it to problem.Invalid.
	fieldFuncs := map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || len(fd.Type.Params.List) == 0 || len(fd.Type.Params.List[0].Names) == 0 ||
				fd.Type.Params.List[0].Names[0].Name != "field" {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Invalid" {
					if arg, ok := call.Args[0].(*ast.Ident); ok && arg.Name == "field" {
						fieldFuncs[fd.Name.Name] = true
					}
				}
				return true
			})
		}
	}
	fields = map[string]string{}
	for _, f := range files {
		// The name under which this file imports the problem package.
		local := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"csirtlink/internal/problem"` {
				local = "problem"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			var pkg *ast.Ident
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				name = fn.Sel.Name
				pkg, _ = fn.X.(*ast.Ident)
			case *ast.Ident:
				name = fn.Name
			}
			pos := fset.Position(call.Pos()).String()
			if fieldFuncs[name] && len(call.Args) > 0 {
				if s, ok := stringLit(call.Args[0]); ok {
					fields[s] = pos
				}
			}
			at, isProblem := problemFuncs[name]
			if !isProblem || local == "" || pkg == nil || pkg.Name != local || len(call.Args) <= at {
				return true
			}
			c := problemCall{pos: pos, fn: name}
			c.format, _ = stringLit(call.Args[at])
			if name == "Invalid" {
				if s, ok := stringLit(call.Args[0]); ok && s != "" {
					c.field = s
					fields[s] = pos
				}
			}
			calls = append(calls, c)
			return true
		})
	}
	return calls, fields
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// TestEveryProblemFormatIsTranslated fails when a service's message (the English format
// of a problem.Invalid, BadRequest, NotFound, Forbidden or Conflict call anywhere in
// internal/) is not a key of every catalog, so that a new message cannot reach the
// console untranslated. A format must be a literal, for this test to see it. "%s" and
// "%v" alone carry a message made elsewhere (a lower-level error, an on-call field
// error, a message the console translated already): detailText translates those, and
// TestLowerLevelErrorsTranslate checks it.
func TestEveryProblemFormatIsTranslated(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := scanProblems(t)
	formats := map[string]string{}
	passThrough := 0
	for _, c := range calls {
		switch {
		case c.format == "":
			t.Errorf("%s: problem.%s with a format that is not a string literal; the catalogs cannot be checked", c.pos, c.fn)
		case isPassThrough(c.format):
			passThrough++
		default:
			formats[c.format] = c.pos
		}
	}
	// A scan that finds nothing must not pass: the services hold far more than this.
	if len(formats) < 40 || passThrough < 5 {
		t.Fatalf("found only %d formats (%d pass-through) in %d calls; the scan is broken", len(formats), passThrough, len(calls))
	}
	keys := make([]string, 0, len(formats))
	for k := range formats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, l := range languages {
		for _, k := range keys {
			if !tr.has(l.Code, k) {
				t.Errorf("locales/%s.json lacks the service message %q (%s)", l.Code, k, formats[k])
			}
		}
	}
	// And each translation keeps the format's arguments: no %!verb, no EXTRA or MISSING.
	for _, l := range languages {
		p := tr.printer(l.Code)
		for _, k := range keys {
			args := sampleArgs(k)
			got := p.Sprintf(k, args...)
			if strings.Contains(got, "%!") {
				t.Errorf("%s: %q → %q", l.Code, k, got)
			}
			for _, a := range args {
				if s, ok := a.(string); ok && !strings.Contains(got, s) {
					t.Errorf("%s: %q drops an argument: %q", l.Code, k, got)
				}
			}
		}
	}
	t.Logf("%d service messages, %d pass-through, in %d calls", len(formats), passThrough, len(calls))
}

// sampleArgs makes arguments for a format's verbs: numbers for %d, distinct words
// for the rest.
func sampleArgs(format string) []any {
	var args []any
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 >= len(format) {
			continue
		}
		i++
		switch format[i] {
		case '%':
		case 'd':
			args = append(args, 7+len(args))
		default:
			args = append(args, "arg"+strconv.Itoa(len(args)))
		}
	}
	return args
}

// TestEveryProblemFieldHasALabel: a field the services name is shown by its label in
// the person's language, never by its JSON name.
func TestEveryProblemFieldHasALabel(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	_, fields := scanProblems(t)
	if len(fields) < 30 {
		t.Fatalf("found only %d field names; the scan is broken", len(fields))
	}
	for f, pos := range fields {
		key, ok := fieldLabels[fieldBase(f)]
		if !ok {
			t.Errorf("field %q (%s) has no label in fieldLabels", f, pos)
			continue
		}
		for _, l := range languages {
			if !tr.has(l.Code, key) {
				t.Errorf("locales/%s.json lacks %q, the label of field %q", l.Code, key, f)
			}
		}
	}
}

// testView is a view in language lang, enough for the message functions.
func testView(t *testing.T, tr *translations, lang string) *view {
	t.Helper()
	return &view{c: &Console{i18n: tr}, Lang: lang, p: tr.printer(lang), Loc: time.UTC, Now: time.Now(), Errors: map[string]string{}}
}

// TestLowerLevelErrorsTranslate makes the tlp, taxonomy and observable packages fail
// as a console form can make them fail, and checks that every language shows a
// sentence of its catalog, not the package's English, so that a change of wording
// there shows here.
func TestLowerLevelErrorsTranslate(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	keep := func(_ any, err error) {
		if err == nil {
			t.Fatal("a lower-level check accepted a bad value")
		}
		errs = append(errs, err)
	}
	keep(tlp.Parse("PURPLE"))
	keep(nil, tlp.ValidateRecipients(tlp.Red, nil))
	keep(nil, tlp.ValidateRecipients(tlp.Green, []string{"jp"}))
	keep(nil, tlp.ValidateRecipients(tlp.AmberStrict, []string{""}))
	keep(nil, taxonomy.Valid("malware"))
	keep(nil, taxonomy.Valid("nope/infected-system"))
	keep(nil, taxonomy.Valid("malicious-code/nope"))
	keep(observable.Parse("hash", "abc"))
	keep(observable.Parse("", strings.Repeat("a", observable.MaxLen+1)))
	keep(observable.Parse("ipv4", "   "))
	keep(observable.Parse("ipv4", "2001:db8::1"))
	keep(observable.Parse("ipv6", "192.0.2.1"))
	keep(observable.Parse("domain", "192.0.2.1"))
	keep(observable.Parse("domain", "localhost"))
	keep(observable.Parse("email", "nobody.example.com"))
	keep(observable.Parse("md5", "zz"))
	keep(observable.Parse("sha256", "abcdef"))
	keep(observable.Parse("url", "gopher://example.com/"))
	for _, l := range languages {
		v := testView(t, tr, l.Code)
		for _, e := range errs {
			p := problem.Invalid("x", "%v", e)
			got := v.problemText(p)
			if got == v.T("problem.notAccepted", e.Error()) || strings.Contains(got, "%!") {
				t.Errorf("%s: %q is not made a sentence: %q", l.Code, e, got)
			}
			if l.Code == "en" {
				continue
			}
			for _, english := range []string{"tlp:", "taxonomy:", "observable", "valid:", "want ", " is an ", "hex digits", "no @", "scheme", "labels"} {
				if strings.Contains(got, english) {
					t.Errorf("%s: %q shows %q: %q", l.Code, e, english, got)
				}
			}
		}
	}
	// Values stay as they are; TLP labels stay in English.
	v := testView(t, tr, "ja")
	if got := v.problemText(problem.Invalid("tlp", "%v", errs[0])); !strings.Contains(got, `"PURPLE"`) || !strings.Contains(got, "AMBER+STRICT") {
		t.Errorf("ja unknown label: %q", got)
	}
	if got := v.problemText(problem.Invalid("body", "%v", errs[10])); got != "IPv4 アドレスとして無効です（IPv6 アドレスです）。" {
		t.Errorf("ja IPv6 given as IPv4: %q", got)
	}
	// Anything else: the English detail after a translated lead-in.
	if got := v.problemText(problem.Invalid("pgp_key", "%v", errors.New("openpgp: invalid data"))); got != "受け付けられません（openpgp: invalid data）。" {
		t.Errorf("ja unknown detail: %q", got)
	}
	// A reason that is a catalog key is translated as it stands.
	if got := v.problemText(problem.Invalid("name", "%s", "required")); got != "必須です。" {
		t.Errorf("ja required: %q", got)
	}
}

// TestProblemTextInEveryLanguage: messages, their arguments' labels and the field's
// label where the field is not beside the message.
func TestProblemTextInEveryLanguage(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		lang string
		p    *problem.Error
		want string
	}{
		{"en", problem.Conflict("status cannot go from %s to %s", "closed", "open"), "The status cannot go from “Closed” to “Open”."},
		{"ja", problem.Conflict("status cannot go from %s to %s", "closed", "open"), "ステータスを「終了」から「未対応」には変更できません。"},
		{"zh-Hans", problem.Conflict("participation is already %s", "working"), "我方状态已经是“处理中”。"},
		{"ko", problem.Forbidden("role %s may not do this", "observer"), "'" + tr.printer("ko").Sprintf("role.observer") + "' 역할로는 이 작업을 할 수 없습니다."},
		{"ko", problem.Forbidden("only the coordinator (%s) changes the incident status", "cn"), "사고 상태는 조정 팀(cn)만 바꿀 수 있습니다."},
		{"en", problem.Invalid("title", "longer than %d characters", 200), "At most 200 characters."},
		{"ja", problem.Invalid("new", "shorter than %d characters", 12), "12 文字以上で入力してください。"},
		{"en", problem.Invalid("participants", "more than %d teams", 1), "At most 1 team."},
		{"zh-Hans", problem.Forbidden("your role may not do this"), "您的角色无权执行此操作。"},
		{"en", &problem.Error{Status: 403, Code: "csrf", Message: "csrf"}, "This form has expired. Go back, reload the page and try again."},
		{"ja", problem.NotFound("incident %q not found", "cn-2026-0009"), `インシデント "cn-2026-0009" はありません。`},
	}
	for _, c := range cases {
		if got := testView(t, tr, c.lang).problemText(c.p); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.lang, c.p.Format, got, c.want)
		}
	}
	// An acknowledgement's time is shown in the viewer's zone and words.
	v := testView(t, tr, "en")
	v.Loc = time.FixedZone("JST", 9*3600)
	got := v.problemText(problem.Conflict("page %s was acknowledged by %s at %s", "cn-p1", "suzuki", "2026-03-01T01:02:03Z"))
	if !strings.Contains(got, v.Time(time.Date(2026, 3, 1, 1, 2, 3, 0, time.UTC))) || strings.Contains(got, "T01:02:03Z") {
		t.Errorf("acknowledged at: %q", got)
	}

	// Beside its field, a message stands alone; over a form that has no place for the
	// field (the incident filters, here), it is named by the field's label.
	for _, c := range []struct{ lang, want string }{
		{"en", `Status: Unknown status "bogus".`},
		{"zh-Hans", `状态：未知的状态 "bogus"。`},
		{"ja", `ステータス：不明なステータス "bogus" です。`},
		{"ko", `상태: 알 수 없는 상태 "bogus"입니다.`},
	} {
		v := testView(t, tr, c.lang)
		v.fieldErrors("filter", problem.Invalid("status", "unknown status %q", "bogus"), nil)
		if v.Error != c.want || len(v.Errors) != 0 {
			t.Errorf("%s filter: %q %v, want %q", c.lang, v.Error, v.Errors, c.want)
		}
		v = testView(t, tr, c.lang)
		v.fieldErrors("page", problem.Invalid("incident_id", "no incident %q on this node", "x"), map[string]string{"incident_id": "incident"})
		if v.Error != "" || v.Errors["incident"] == "" || strings.Contains(v.Errors["incident"], "incident_id") {
			t.Errorf("%s page: %q %v", c.lang, v.Error, v.Errors)
		}
	}
	// A field the console does not know is left unnamed rather than shown by its JSON name.
	v = testView(t, tr, "ja")
	v.fieldErrors("invite", problem.Invalid("frobnicate", "unknown field"), nil)
	if v.Error != "不明な項目です。" {
		t.Errorf("unknown field: %q", v.Error)
	}
	if got := fieldBase("levels[1].delay_minutes"); got != "delay_minutes" {
		t.Errorf("fieldBase: %q", got)
	}
}

// TestFormFieldsMatchTemplates: a field formFields says a form shows a message beside
// is one whose message a template shows, and every such field is listed, so that no
// message is put where nothing shows it.
var contactField = regexp.MustCompile(`^contact-\d+-([a-z_]+)$`)

func TestFormFieldsMatchTemplates(t *testing.T) {
	var all strings.Builder
	files, _ := filepath.Glob("templates/*.html")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	tpl := all.String()
	listed := map[string]bool{}
	for form, fields := range formFields {
		for _, f := range fields {
			listed[f] = true
			// The policy form's level rows are drawn by a loop: level-N-delay and
			// level-N-targets are shown by the template's $.Err on the row's names.
			if m := levelField.FindStringSubmatch(f); m != nil && strings.Contains(tpl, `printf "level-%d-`+m[2]+`"`) &&
				strings.Contains(tpl, `$.Err $`+m[2][:1]) {
				continue
			}
			// The owner form's contact rows likewise: contact-N-email is shown by the
			// row's $.Err $f on printf "%semail" of the row's prefix.
			if m := contactField.FindStringSubmatch(f); m != nil && strings.Contains(tpl, `{{$f := printf "%s`+m[1]+`" $p}}`) &&
				strings.Contains(tpl, `{{with $.Err $f}}`) {
				continue
			}
			// A vulnerability's or product's form is drawn from a list of its fields
			// (cvdItemForm), each shown with its message by the field's name.
			if (form == "vuln" || form == "product") && strings.Contains(tpl, `{{with $v.Err .Name}}`) {
				continue
			}
			sub := regexp.MustCompile(`Sub "` + regexp.QuoteMeta(form) + `"[^)]*"` + regexp.QuoteMeta(f) + `"`)
			if !strings.Contains(tpl, `Err "`+f+`"`) && !sub.MatchString(tpl) {
				t.Errorf("form %s: no template shows a message beside %q", form, f)
			}
		}
	}
	shown := regexp.MustCompile(`Err "([a-z_]+)"`).FindAllStringSubmatch(tpl, -1)
	if len(shown) < 20 {
		t.Fatalf("found only %d fields with messages in the templates", len(shown))
	}
	for _, m := range shown {
		if !listed[m[1]] {
			t.Errorf("templates show a message beside %q, which formFields does not list", m[1])
		}
	}
}

// TestLinksArePathEscaped: ids in link and form paths come from peers; each goes
// through "path", so that one with "/", "?" or "#" cannot lead elsewhere.
func TestLinksArePathEscaped(t *testing.T) {
	files, _ := filepath.Glob("templates/*.html")
	re := regexp.MustCompile(`(?:href|action)="(/[a-z/]*/)\{\{\s*([^}]*)\}\}`)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			if !strings.HasPrefix(m[2], "path ") {
				t.Errorf("%s: %s{{%s}} is not path-escaped", f, m[1], m[2])
			}
		}
	}
	if n < 15 {
		t.Fatalf("found only %d links with ids; the scan is broken", n)
	}
}

// TestMessageKeysExist: the keys problems.go names outside T("…") calls (field labels,
// lower-level errors, indicator types, status and role labels) are in the catalogs.
func TestMessageKeysExist(t *testing.T) {
	tr, err := loadTranslations()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range fieldLabels {
		keys = append(keys, k)
	}
	for _, d := range append(slices.Clone(detailPatterns), innerPatterns...) {
		keys = append(keys, d.key)
	}
	for _, typ := range observable.Types() {
		keys = append(keys, "obstype."+string(typ))
	}
	for format, prefixes := range argLabels {
		keys = append(keys, format)
		for _, p := range prefixes {
			if p == "" {
				continue
			}
			var vals []string
			switch p {
			case "status.":
				vals = statuses
			case "part.":
				vals = []string{"acknowledged", "working", "done"}
			case "role.":
				vals = []string{"admin", "duty_officer", "handler", "observer"}
			default:
				t.Errorf("argLabels: unknown prefix %q", p)
			}
			for _, v := range vals {
				keys = append(keys, p+v)
			}
		}
	}
	for format := range argTimes {
		keys = append(keys, format)
	}
	for _, l := range languages {
		for _, k := range keys {
			if !tr.has(l.Code, k) {
				t.Errorf("locales/%s.json lacks %q", l.Code, k)
			}
		}
	}
}
