package hotline

import (
	"html/template"
	"net"
	"net/http"
	"sync"
	"time"

	"csirtlink/internal/problem"
)

// The acknowledgement form: a person with a one-time code from an e-mail — one of our
// people, or a partner's duty officer who got our fallback mail — acknowledges here,
// without an account. Codes are single-use and attempts are limited per address.

var ackTemplate = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acknowledge a hotline page — csirtlink</title></head>
<body>
<main>
<h1>Acknowledge a hotline page</h1>
{{if .Done}}<p role="status"><strong>Acknowledged.</strong> Page {{.PageID}} from {{.From}} (TLP:{{.TLP}}){{if .Summary}}: {{.Summary}}{{else}}. Its content is not shown here, as it was not in the e-mail.{{end}}<br>
Recorded as acknowledged by {{.By}} at {{.At}}{{if .Fallback}}, as a fallback acknowledgement: your team's node has not confirmed it, so {{.From}} sees it marked as not verified until it does{{end}}.</p>
{{else}}{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<p><label for="code">Code from the e-mail</label><br><input id="code" name="code" required autocomplete="one-time-code" autocapitalize="characters" value="{{.Code}}"></p>
<p><label for="name">Your name and team (needed for a partner's fallback code)</label><br><input id="name" name="name" autocomplete="name" value="{{.Name}}"></p>
<p><button type="submit">Acknowledge</button></p>
</form>{{end}}
</main>
</body></html>
`))

type ackForm struct {
	Action, Code, Name, Error          string
	Done, Fallback                     bool
	PageID, From, TLP, Summary, By, At string
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

// AckHandler serves the acknowledgement form at AckPath.
func (s *Service) AckHandler() http.Handler {
	lim := &ackLimiter{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		f := ackForm{Action: AckPath, Code: r.URL.Query().Get("code")}
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, 4096)
			if err := r.ParseForm(); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				f.Error = "The form could not be read."
				break
			}
			f.Code, f.Name = r.PostForm.Get("code"), r.PostForm.Get("name")
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			if !lim.allow(host, s.clock.Now()) {
				w.WriteHeader(http.StatusTooManyRequests)
				f.Error = "Too many attempts; wait a minute."
				break
			}
			p, d, err := s.AckByCode(r.Context(), f.Code, f.Name)
			if err != nil {
				pe, ok := problem.As(err)
				if !ok {
					s.log.Error("acknowledge by code", "err", err)
					w.WriteHeader(http.StatusInternalServerError)
					f.Error = "Something went wrong; try again or call the partner."
					break
				}
				w.WriteHeader(pe.Status)
				f.Error = pe.Error()
				break
			}
			// p shows only what the code's mail showed (AckByCode withholds the rest).
			f.Done, f.PageID, f.From, f.TLP, f.Summary, f.By = true, p.ID, p.From, p.TLP, p.Summary, d.AcknowledgedBy
			f.Fallback = d.AckVia == ViaFallback
			if d.AcknowledgedAt != nil {
				f.At = d.AcknowledgedAt.Format(time.RFC3339)
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
