package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/auth"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

type signinPage struct {
	Next string
	// Throttled: failed sign-ins to this name hold strangers up; the form offers the
	// way past (a code with the password), and says a known browser is not held up.
	Throttled bool
}

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request, v *view) error {
	if v.User() != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	return c.render(w, v, http.StatusOK, "signin", v.T("signin.title"), signinPage{Next: safeNext(r.URL.Query().Get("next"))})
}

// signin checks a name and password, and slows guessing down without locking the owner
// out (ratelimit.go):
//
//   - From a known device of the named person (device.go), only that device's own
//     failures count and hold it up.
//   - From anyone else, failures count against the account name and the client
//     address, and either can make the next attempt wait. While only the account's
//     wait holds, a password given together with a right authenticator code signs in
//     at once: a stranger cannot, the owner can.
//
// A waiting attempt is refused at once, before the password is checked, with the time
// left. Every refusal for a wrong name, password or code reads the same, so that the
// form tells no one which names exist or which factor was wrong.
func (c *Console) signin(w http.ResponseWriter, r *http.Request, v *view) error {
	name := strings.ToLower(strings.TrimSpace(r.PostFormValue("name")))
	password := r.PostFormValue("password")
	code := strings.TrimSpace(r.PostFormValue("code"))
	next := safeNext(r.PostFormValue("next"))
	v.Form.Set("name", name)
	v.FormName = "signin"
	page := signinPage{Next: next}
	ip := clientIP(r)
	if name == "" || password == "" || len(password) > 4*auth.MaxPassword || len(name) > 64 || len(code) > 16 {
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
	known := ""
	if err == nil {
		known = c.knownDevice(r, u.ID)
	}
	withCode := false
	if known != "" {
		if wait := c.devices.Wait(known); wait > 0 {
			return c.tooMany(w, v, page, wait)
		}
	} else {
		addrWait, acctWait := c.addrs.Wait(ip), c.accounts.Wait(name)
		page.Throttled = acctWait > 0
		switch {
		case addrWait > 0:
			return c.tooMany(w, v, page, addrWait)
		case acctWait > 0 && code == "":
			return c.tooMany(w, v, page, acctWait)
		case acctWait > 0:
			// The way past a stranger's failures: password and code together, held up
			// only by the code's own throttle.
			if wait := c.codes.Wait(codeKey(name, "")); wait > 0 {
				return c.tooMany(w, v, page, wait)
			}
			withCode = true
		}
	}
	ok, passwordOK := false, false
	if u.ID != "" && u.PasswordHash != "" {
		rehash, cerr := auth.CheckPassword(u.PasswordHash, password)
		ok, passwordOK = cerr == nil, cerr == nil
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
	var totp store.TOTP
	if ok {
		if totp, err = c.d.Console.GetTOTP(r.Context(), u.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if withCode && ok {
		if !totp.Enabled {
			ok = false
		} else if ok, err = c.checkCode(r, totp); err != nil {
			return err
		}
	}
	if !ok {
		switch {
		case known != "":
			c.devices.Fail(known)
		case withCode && passwordOK:
			// Someone with the password is guessing codes. Only they count here, so
			// that strangers cannot hold up the owner's way past their failures.
			c.codes.Fail(codeKey(name, ""))
		default:
			c.accounts.Fail(name)
		}
		c.addrs.Fail(ip)
		c.auditSignin(r.Context(), name, "signin.failed", ip)
		v.Error = v.T("signin.failed")
		if withCode {
			v.Error = v.T("signin.failedWithCode")
		}
		return c.render(w, v, http.StatusUnauthorized, "signin", v.T("signin.title"), page)
	}
	// Only someone who knows the password learns that the account is disabled.
	if u.DisabledAt != nil {
		c.auditSignin(r.Context(), u.Name, "signin.disabled", ip)
		v.Error = v.T("signin.disabled")
		return c.render(w, v, http.StatusForbidden, "signin", v.T("signin.title"), page)
	}
	if known != "" {
		c.devices.Reset(known)
	}
	if totp.Enabled && !withCode {
		// The password was right; the session may only finish signing in.
		if err := c.startSession(w, r, u, true); err != nil {
			return err
		}
		http.Redirect(w, r, "/signin/code?next="+url.QueryEscape(next), http.StatusSeeOther)
		return nil
	}
	switch {
	case withCode:
		// The account's failures are a stranger's: they stay.
		c.codes.Reset(codeKey(name, ""))
	case known == "":
		c.accounts.Reset(name)
	}
	return c.completeSignin(w, r, u, next, ip)
}

// codeKey is the code throttle's key for a person on a known device, or on any other.
func codeKey(name, device string) string {
	if device != "" {
		return "device:" + device
	}
	return "user:" + name
}

// tooMany refuses an attempt that must wait, saying for how long.
func (c *Console) tooMany(w http.ResponseWriter, v *view, page any, wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	v.Error = v.T("signin.wait", v.Took(float64(secs)))
	tmpl, title := "signin", v.T("signin.title")
	if _, ok := page.(codePage); ok {
		tmpl, title = "code", v.T("code.title")
	}
	return c.render(w, v, http.StatusTooManyRequests, tmpl, title, page)
}

// completeSignin starts a full session, remembers the device, and notes the sign-in.
func (c *Console) completeSignin(w http.ResponseWriter, r *http.Request, u store.User, next, ip string) error {
	if err := c.startSession(w, r, u, false); err != nil {
		return err
	}
	c.rememberDevice(w, r, u.ID)
	if err := c.d.Store.RecordSignin(r.Context(), u.ID, c.d.Clock.Now()); err != nil {
		c.log.Warn("record sign-in", "user", u.Name, "err", err)
	}
	c.auditSignin(r.Context(), u.Name, "signin", ip)
	if u.Role == auth.Vendor && next == "/" {
		next = "/cvd" // a vendor's person has no dashboard: its cases are all it sees
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
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
// full one. Only someone who gave the right password gets here, so strangers' failed
// passwords do not hold it up: wrong codes count on their own, per person (or per
// known device).
func (c *Console) code(w http.ResponseWriter, r *http.Request, v *view) error {
	s := v.session
	next := safeNext(r.PostFormValue("next"))
	ip := clientIP(r)
	page := codePage{Next: next}
	v.FormName = "code"
	device := c.knownDevice(r, s.User.ID)
	key := codeKey(s.User.Name, device)
	if wait := c.codes.Wait(key); wait > 0 {
		return c.tooMany(w, v, page, wait)
	}
	t, err := c.d.Console.GetTOTP(r.Context(), s.User.ID)
	if err != nil {
		return err
	}
	ok, err := c.checkCode(r, t)
	if err != nil {
		return err
	}
	if !ok {
		c.codes.Fail(key)
		c.addrs.Fail(ip)
		c.auditSignin(r.Context(), s.User.Name, "signin.code_failed", ip)
		v.Errors["code"] = v.T("code.wrong")
		return c.render(w, v, http.StatusUnauthorized, "code", v.T("code.title"), page)
	}
	c.codes.Reset(key)
	if device == "" {
		c.accounts.Reset(s.User.Name)
	}
	return c.completeSignin(w, r, s.User, next, ip)
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
