package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/auth"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

type signinPage struct {
	Next string
}

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request, v *view) error {
	if v.User() != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	return c.render(w, v, http.StatusOK, "signin", v.T("signin.title"), signinPage{Next: safeNext(r.URL.Query().Get("next"))})
}

// signin checks a name and password. Failures count against the account name and the
// client address; a blocked one is refused without checking the password, and every
// refusal reads the same, so that the form tells no one which names exist.
func (c *Console) signin(w http.ResponseWriter, r *http.Request, v *view) error {
	name := strings.ToLower(strings.TrimSpace(r.PostFormValue("name")))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	v.Form.Set("name", name)
	v.FormName = "signin"
	page := signinPage{Next: next}
	ip := clientIP(r)
	if blocked, wait := c.blocked(name, ip); blocked {
		v.Error = v.T("signin.tooMany", int(math.Ceil(wait.Minutes())))
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		return c.render(w, v, http.StatusTooManyRequests, "signin", v.T("signin.title"), page)
	}
	if name == "" || password == "" || len(password) > 4*auth.MaxPassword {
		if name == "" {
			v.Errors["name"] = v.T("error.required")
		}
		if password == "" {
			v.Errors["password"] = v.T("error.required")
		}
		if len(v.Errors) == 0 {
			v.Error = v.T("signin.failed")
		}
		return c.render(w, v, http.StatusUnprocessableEntity, "signin", v.T("signin.title"), page)
	}
	u, err := c.d.Store.UserByName(r.Context(), name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	ok := false
	if err == nil && u.PasswordHash != "" {
		rehash, cerr := auth.CheckPassword(u.PasswordHash, password)
		ok = cerr == nil
		if cerr != nil && !errors.Is(cerr, auth.ErrBadPassword) {
			c.log.Error("stored password hash unreadable", "user", u.Name, "err", cerr)
		}
		if ok && rehash {
			if err := auth.SetPassword(r.Context(), c.d.Console, u.ID, password); err != nil {
				c.log.Warn("rehash password", "user", u.Name, "err", err)
			}
		}
	} else {
		auth.WastePasswordCheck(password)
	}
	if !ok {
		c.accounts.Fail(name)
		c.ips.Fail(ip)
		c.auditSignin(r.Context(), name, "signin.failed", ip)
		v.Error = v.T("signin.failed")
		return c.render(w, v, http.StatusUnauthorized, "signin", v.T("signin.title"), page)
	}
	totp, err := c.d.Console.GetTOTP(r.Context(), u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && totp.Enabled {
		// The password was right; the session may only finish signing in.
		if err := c.startSession(w, r, u, true); err != nil {
			return err
		}
		http.Redirect(w, r, "/signin/code?next="+url.QueryEscape(next), http.StatusSeeOther)
		return nil
	}
	c.accounts.Reset(name)
	if err := c.startSession(w, r, u, false); err != nil {
		return err
	}
	c.auditSignin(r.Context(), u.Name, "signin", ip)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (c *Console) blocked(name, ip string) (bool, time.Duration) {
	b1, w1 := c.accounts.Blocked(name)
	b2, w2 := c.ips.Blocked(ip)
	return b1 || b2, max(w1, w2)
}

// startSession makes a new session (a new secret on every sign-in, so that a session
// id planted before signing in is worth nothing) and sets its cookie.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, u store.User, pending bool) error {
	now := c.d.Clock.Now()
	secret := newSecret()
	exp := now.Add(sessionIdle)
	if pending {
		exp = now.Add(pendingLifetime)
	}
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	s := store.Session{Hash: hashSecret(secret), UserID: u.ID, Created: now, LastSeen: now, Expires: exp, Pending: pending,
		RemoteIP: clientIP(r), UserAgent: ua}
	if err := c.d.Console.CreateSession(r.Context(), s); err != nil {
		return err
	}
	// A session cookie (no Max-Age): the server decides when it ends. Lax, so that a
	// link to an incident in a chat or a mail opens signed in; forms carry CSRF tokens.
	c.setCookie(w, "csl_session", secret, 0, http.SameSiteLaxMode)
	if old := c.cookie(r, "csl_session"); old != "" {
		if err := c.d.Console.DeleteSession(r.Context(), hashSecret(old)); err != nil {
			c.log.Warn("end old session", "err", err)
		}
	}
	if err := c.d.Console.DeleteExpiredSessions(r.Context(), now); err != nil {
		c.log.Warn("prune sessions", "err", err)
	}
	return nil
}

func (c *Console) auditSignin(ctx context.Context, name, action, ip string) {
	if len(name) > 64 {
		name = name[:64]
	}
	err := c.d.Store.InTx(ctx, func(tx store.Tx) error {
		return audit.Append(ctx, tx, c.d.Clock.Now(), "console:"+name, "console."+action, name, "from "+ip)
	})
	if err != nil {
		c.log.Error("audit sign-in", "err", err)
	}
}

type codePage struct{ Next string }

func (c *Console) codeForm(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.render(w, v, http.StatusOK, "code", v.T("code.title"), codePage{Next: safeNext(r.URL.Query().Get("next"))})
}

// code checks the second factor of a pending session, and replaces that session by a
// full one.
func (c *Console) code(w http.ResponseWriter, r *http.Request, v *view) error {
	s := v.session
	next := safeNext(r.PostFormValue("next"))
	ip := clientIP(r)
	page := codePage{Next: next}
	v.FormName = "code"
	if blocked, wait := c.blocked(s.User.Name, ip); blocked {
		v.Error = v.T("signin.tooMany", int(math.Ceil(wait.Minutes())))
		return c.render(w, v, http.StatusTooManyRequests, "code", v.T("code.title"), page)
	}
	t, err := c.d.Console.GetTOTP(r.Context(), s.User.ID)
	if err != nil {
		return err
	}
	key, err := auth.DecodeTOTPSecret(t.Secret)
	if err != nil {
		return err
	}
	step, ok := auth.CheckTOTP(key, r.PostFormValue("code"), c.d.Clock.Now())
	if ok {
		if err := c.d.Console.UseTOTPStep(r.Context(), s.User.ID, int64(step)); errors.Is(err, store.ErrConflict) {
			ok = false
		} else if err != nil {
			return err
		}
	}
	if !ok {
		c.accounts.Fail(s.User.Name)
		c.ips.Fail(ip)
		c.auditSignin(r.Context(), s.User.Name, "signin.code_failed", ip)
		v.Errors["code"] = v.T("code.wrong")
		return c.render(w, v, http.StatusUnauthorized, "code", v.T("code.title"), page)
	}
	c.accounts.Reset(s.User.Name)
	if err := c.startSession(w, r, s.User, false); err != nil {
		return err
	}
	c.auditSignin(r.Context(), s.User.Name, "signin", ip)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := c.d.Console.DeleteSession(r.Context(), v.session.Hash); err != nil {
		return err
	}
	c.setCookie(w, "csl_session", "", -1, http.SameSiteLaxMode)
	c.flash(w, "ok", "flash.signedOut")
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// setLanguage is the switcher: it remembers the choice in a cookie, and for a
// signed-in person in their preferences.
func (c *Console) setLanguage(w http.ResponseWriter, r *http.Request, v *view) error {
	l := supported(r.PostFormValue("lang"))
	if l == "" {
		return problem.Invalid("lang", "unknown language")
	}
	http.SetCookie(w, &http.Cookie{Name: c.cookieName("csl_lang"), Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
	if u := v.User(); u != nil {
		p, err := c.d.Console.GetPrefs(r.Context(), u.ID)
		if err != nil {
			return err
		}
		p.Language = l
		if err := c.d.Console.PutPrefs(r.Context(), p); err != nil {
			return err
		}
	}
	back := safeNext(r.PostFormValue("back"))
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

type errorPage struct {
	Status  int
	Message string
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request, v *view) error {
	return &problem.Error{Status: http.StatusNotFound, Code: "not_found"}
}
