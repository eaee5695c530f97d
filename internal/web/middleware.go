package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"csirtlink/internal/auth"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// handler is a console action: it renders or redirects, or returns an error that the
// wrapper shows as a page.
type handler func(w http.ResponseWriter, r *http.Request, v *view) error

// contentSecurityPolicy allows script and style only from our own /static files: no
// inline script, no inline style attribute, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'"

// maxForm caps a console form body; the longest field (a description) is 20,000
// characters, up to 80 kB in UTF-8.
const maxForm = 256 << 10

// headers sets the console's security headers and refuses cross-origin form posts (by
// Sec-Fetch-Site or Origin) before any handler runs; CSRF tokens are checked as well.
func (c *Console) headers(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		if c.secure || r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	}))
}

// session is the signed-in browser of a request.
type session struct {
	secret string // the cookie's value; never stored
	store.Session
	User store.User
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// csrfToken derives a form token from a cookie secret the page's script cannot read:
// a cross-site page can make the browser send the cookie but cannot learn the token.
func csrfToken(secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("csirtlink/csrf/v1"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// cookieName names a console cookie. The team id is part of it because cookies are
// scoped by host, not port: without it, the demo's three nodes on 127.0.0.1 would sign
// each other out.
func (c *Console) cookieName(base string) string {
	name := base + "_" + c.dir.Self.ID
	if c.secure {
		return "__Host-" + name
	}
	return name
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: sameSite})
}

func (c *Console) cookie(r *http.Request, name string) string {
	ck, err := r.Cookie(c.cookieName(name))
	if err != nil || len(ck.Value) > 256 {
		return ""
	}
	return ck.Value
}

// loadSession returns the request's session, or nil. Full sessions are touched (idle
// expiry moved) at most once a minute.
func (c *Console) loadSession(r *http.Request) (*session, error) {
	return c.readSession(r, r.Header.Get("X-CSL-Tick") == "")
}

// readSession returns the request's session, moving its idle expiry only if touch.
// The console's own traffic — its refresh of an open screen each minute, its live
// stream — is not the person's activity: it must not keep the session alive.
func (c *Console) readSession(r *http.Request, touch bool) (*session, error) {
	secret := c.cookie(r, "csl_session")
	if secret == "" {
		return nil, nil
	}
	now := c.d.Clock.Now()
	s, u, err := c.d.Console.SessionByHash(r.Context(), hashSecret(secret), now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: session lookup: %w", auth.ErrUnavailable, err)
	}
	if touch && !s.Pending && now.Sub(s.LastSeen) > touchEvery {
		exp := now.Add(sessionIdle)
		if limit := s.Created.Add(sessionMax); limit.Before(exp) {
			exp = limit
		}
		// Best-effort: a database that reads but cannot write still shows the
		// screens. The session then expires from its last recorded activity.
		if err := c.d.Console.TouchSession(r.Context(), s.Hash, now, exp); err != nil {
			c.log.Warn("could not record a session's activity", "user", u.Name, "err", err)
		}
	}
	return &session{secret: secret, Session: s, User: u}, nil
}

// checkCSRF compares the form's token with the one derived from the session, or for
// a visitor not signed in, from their pre-session cookie.
func (c *Console) checkCSRF(r *http.Request, s *session) bool {
	secret := c.cookie(r, "csl_pre")
	if s != nil {
		secret = s.secret
	}
	if secret == "" {
		return false
	}
	got := r.PostFormValue("csrf")
	return subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(secret))) == 1
}

// uploadLimit is the context key of a route's limit on an uploaded file (withUpload).
type uploadLimit struct{}

// withUpload lets a route take a multipart form of up to limit bytes: a file upload.
// Every other form stays within maxForm.
func withUpload(limit int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), uploadLimit{}, limit)))
	})
}

// parseForm reads a form body of at most maxForm bytes, or a multipart form of at most
// the route's upload limit (files beyond a few MB are spooled to disk, not memory).
func parseForm(w http.ResponseWriter, r *http.Request) error {
	limit, upload := r.Context().Value(uploadLimit{}).(int64)
	upload = upload && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
	if !upload {
		limit = maxForm
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	parse := r.ParseForm
	if upload {
		parse = func() error { return r.ParseMultipartForm(4 << 20) }
	}
	if err := parse(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &problem.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "form too large"}
		}
		return problem.BadRequest("unreadable form")
	}
	return nil
}

// errCSRF is shown when a form's token is missing or stale (e.g. a page left open
// across a sign-out).
var errCSRF = &problem.Error{Status: http.StatusForbidden, Code: "csrf", Message: "csrf"}

// public serves pages anyone may see (sign-in, language, not found). A visitor gets a
// pre-session cookie so that their forms carry a CSRF token too.
func (c *Console) public(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.loadSession(r)
		if err != nil {
			c.internalError(w, r, err)
			return
		}
		if s != nil && s.Pending {
			s = nil
		}
		pre := c.cookie(r, "csl_pre")
		if s == nil && pre == "" {
			pre = newSecret()
			c.setCookie(w, "csl_pre", pre, 0, http.SameSiteStrictMode)
			// Forms rendered in this response use it at once.
			r.AddCookie(&http.Cookie{Name: c.cookieName("csl_pre"), Value: pre})
		}
		c.run(w, r, s, h)
	})
}

// pending serves the second step of signing in: a session that gave its password and
// owes a code.
func (c *Console) pending(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.loadSession(r)
		if err != nil {
			c.internalError(w, r, err)
			return
		}
		if s == nil || !s.Pending {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		c.run(w, r, s, h)
	})
}

// signedIn serves a page that needs a full session and permission p.
func (c *Console) signedIn(p auth.Permission, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.loadSession(r)
		if err != nil {
			c.internalError(w, r, err)
			return
		}
		if s == nil || s.Pending {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		if !auth.Allows(s.User.Role, p) {
			c.run(w, r, s, func(w http.ResponseWriter, r *http.Request, v *view) error {
				return problem.Forbidden("your role may not do this")
			})
			return
		}
		c.run(w, r, s, h)
	})
}

// run builds the view, checks the CSRF token of a POST, and runs h; an error becomes
// an error page.
func (c *Console) run(w http.ResponseWriter, r *http.Request, s *session, h handler) {
	w.Header().Set("Cache-Control", "no-store")
	v, err := c.newView(w, r, s)
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	if r.Method == http.MethodPost {
		if err := parseForm(w, r); err != nil {
			c.fail(w, r, v, err)
			return
		}
		if !c.checkCSRF(r, s) {
			c.fail(w, r, v, errCSRF)
			return
		}
	}
	if err := h(w, r, v); err != nil {
		c.fail(w, r, v, err)
	}
}

// fail shows an error page: the problem's status and a translated explanation, or 500
// for an error that is not the client's (logged, never shown).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	p, ok := problem.As(err)
	if !ok {
		if errors.Is(err, context.Canceled) {
			return
		}
		c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "user", v.userName(), "err", err)
		p = &problem.Error{Status: http.StatusInternalServerError, Code: "internal"}
	}
	// The page shows no form: a field the problem names is named by its label.
	data := errorPage{Status: p.Status, Message: v.labelled(p.Field, v.problemText(p))}
	if rerr := c.render(w, v, p.Status, "error", v.T("error.title"), data); rerr != nil {
		c.log.Error("render error page", "err", rerr)
	}
}

func (c *Console) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, auth.ErrUnavailable) {
		c.unavailable(w, r, err)
		return
	}
	c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, "internal error; see the node's log", http.StatusInternalServerError)
}

// unavailable answers 503 when the database cannot say who is signed in: "try again",
// not the sign-in screen, which would send people to sign in again for nothing. The
// page is drawn without the session (that is what failed), in the browser's language.
func (c *Console) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "5")
	w.Header().Set("Cache-Control", "no-store")
	v, verr := c.newView(w, r, nil)
	if verr == nil {
		verr = c.render(w, v, http.StatusServiceUnavailable, "error", v.T("error.title"),
			errorPage{Status: http.StatusServiceUnavailable, Message: v.T("error.unavailable")})
	}
	if verr != nil {
		c.log.Error("render unavailable page", "err", verr)
		http.Error(w, "the node cannot read its database just now; try again shortly", http.StatusServiceUnavailable)
	}
}

// clientIP is the address the request came from. Behind a reverse proxy this is the
// proxy's; rate limiting per address then limits the proxy as a whole, which fails safe.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// safeNext keeps a post-sign-in redirect on this site: a path, not //host or a URL.
// Browsers drop tabs and newlines and read '\' as '/', so "/\t/evil" would become
// "//evil": any control character or backslash is refused outright.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}
