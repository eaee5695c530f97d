package hotline

import (
	"html/template"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"csirtlink/internal/problem"
)

// The acknowledgement form: a person with a one-time code from an e-mail — one of our
// people, or a partner's duty officer who got our fallback mail — acknowledges here,
// without an account. Codes are single-use and attempts are limited per address.

var ackTemplate = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="{{.W.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{call .W.T "ackform.title"}} — csirtlink</title></head>
<body>
<main>
<h1>{{call .W.T "ackform.title"}}</h1>
{{if .Done}}<p role="status"><strong>{{call .W.T "ackform.done"}}</strong> {{call .W.T "ackform.page" .PageID .From .TLP}}{{if .Summary}}: <span lang="{{.SummaryLang}}">{{.Summary}}</span>{{else}} {{call .W.T "ackform.hidden"}}{{end}}<br>
{{if .Fallback}}{{call .W.T "ackform.recordedFallback" .By .At .From}}{{else}}{{call .W.T "ackform.recorded" .By .At}}{{end}}</p>
{{else}}{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<p><label for="code">{{call .W.T "ackform.code"}}</label><br><input id="code" name="code" required autocomplete="one-time-code" autocapitalize="characters" value="{{.Code}}"></p>
<p><label for="name">{{call .W.T "ackform.name"}}</label><br><input id="name" name="name" autocomplete="name" value="{{.Name}}"></p>
<p><button type="submit">{{call .W.T "ackform.button"}}</button></p>
</form>{{end}}
</main>
</body></html>
`))

// AckWords are the acknowledgement form's words in the language of one request: the
// console's catalogs provide them (see web.Console.AckWords), so that a partner's duty
// officer reads the form in their language.
type AckWords struct {
	Lang    string
	T       func(key string, args ...any) string
	Problem func(err error) string // a service's problem as a sentence
	Time    func(t time.Time) string
	// TextLang guesses the language of text a person wrote (a page's summary).
	TextLang func(text string) string
}

type ackForm struct {
	W                                  AckWords
	Action, Code, Name, Error          string
	Done, Fallback                     bool
	PageID, From, TLP, Summary, By, At string
	SummaryLang                        string
}

// ackLimiter allows a few attempts per remote address per minute: codes are short
// enough to type on a phone, so guessing must be slow.
type ackLimiter struct {
	mu     sync.Mutex
	window time.Time
	counts map[string]int
}

const ackAttemptsPerMinute = 10

func (l *ackLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Minute {
		l.window, l.counts = now, map[string]int{}
	}
	l.counts[addr]++
	return l.counts[addr] <= ackAttemptsPerMinute
}

// AckHandler serves the acknowledgement form at AckPath, in the words words gives for
// each request.
func (s *Service) AckHandler(words func(r *http.Request) AckWords) http.Handler {
	lim := &ackLimiter{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		f := ackForm{W: words(r), Code: r.URL.Query().Get("code")}
		// The answer to the form keeps its language.
		f.Action = AckPath + "?lang=" + url.QueryEscape(f.W.Lang)
		w.Header().Set("Content-Language", f.W.Lang)
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, 4096)
			if err := r.ParseForm(); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				f.Error = f.W.T("ackform.unreadable")
				break
			}
			f.Code, f.Name = r.PostForm.Get("code"), r.PostForm.Get("name")
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			if !lim.allow(host, s.clock.Now()) {
				w.WriteHeader(http.StatusTooManyRequests)
				f.Error = f.W.T("ackform.tooMany")
				break
			}
			p, d, err := s.AckByCode(r.Context(), f.Code, f.Name)
			if err != nil {
				pe, ok := problem.As(err)
				if !ok {
					s.log.Error("acknowledge by code", "err", err)
					w.WriteHeader(http.StatusInternalServerError)
					f.Error = f.W.T("ackform.failed")
					break
				}
				w.WriteHeader(pe.Status)
				f.Error = f.W.Problem(pe)
				break
			}
			// p shows only what the code's mail showed (AckByCode withholds the rest).
			f.Done, f.PageID, f.From, f.TLP, f.Summary, f.By = true, p.ID, p.From, p.TLP, p.Summary, d.AcknowledgedBy
			f.Fallback, f.SummaryLang = d.AckVia == ViaFallback, f.W.TextLang(p.Summary)
			if d.AcknowledgedAt != nil {
				f.At = f.W.Time(*d.AcknowledgedAt)
			}
		default:
			w.Header().Set("Allow", "GET, POST")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if err := ackTemplate.Execute(w, f); err != nil {
			s.log.Error("render acknowledgement form", "err", err)
		}
	})
}
