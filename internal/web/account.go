package web

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"

	"csirtlink/internal/auth"
	"csirtlink/internal/hotline"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

type accountPage struct {
	Prefs     store.Preferences
	Zones     []string
	TOTP      *store.TOTP // nil when none
	TOTPURI   string      // while enrolling
	TOTPGroup string      // the secret in groups of four, while enrolling
	// Contacts are the person's own ways to be reached when on call (nil without a
	// hotline).
	Contacts   []store.Contact
	HasHotline bool
}

// zones are the time zones the picker offers, east to west of the teams' own first.
// A zone a person chose before (by the API, say) that is not here is offered too.
var zones = []string{"Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Manila",
	"Asia/Singapore", "Asia/Bangkok", "Asia/Jakarta", "Asia/Kolkata", "Asia/Dubai", "Europe/Moscow", "Europe/Berlin",
	"Europe/Paris", "Europe/London", "UTC", "America/Sao_Paulo", "America/New_York", "America/Chicago",
	"America/Los_Angeles", "Pacific/Auckland", "Australia/Sydney"}

func (c *Console) accountPage(r *http.Request, v *view) (accountPage, error) {
	u := v.User()
	p := accountPage{Zones: zones}
	var err error
	if p.Prefs, err = c.d.Console.GetPrefs(r.Context(), u.ID); err != nil {
		return p, err
	}
	if tz := p.Prefs.Timezone; tz != "" && !slices.Contains(p.Zones, tz) {
		p.Zones = append([]string{tz}, p.Zones...)
	}
	if c.d.Hotline != nil {
		p.HasHotline = true
		if p.Contacts, err = c.d.Hotline.Contacts(r.Context(), u.Name, v.hotlineViewer()); err != nil {
			return p, err
		}
	}
	t, err := c.d.Console.GetTOTP(r.Context(), u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return p, err
	}
	if err == nil {
		p.TOTP = &t
		if !t.Enabled {
			p.TOTPURI = auth.TOTPURI("csirtlink "+c.dir.Self.ID, u.Name, t.Secret)
			var groups []string
			for i := 0; i < len(t.Secret); i += 4 {
				groups = append(groups, t.Secret[i:min(i+4, len(t.Secret))])
			}
			p.TOTPGroup = strings.Join(groups, " ")
		}
	}
	return p, nil
}

func (c *Console) account(w http.ResponseWriter, r *http.Request, v *view) error {
	return c.showAccount(w, r, v, http.StatusOK)
}

func (c *Console) showAccount(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	p, err := c.accountPage(r, v)
	if err != nil {
		return err
	}
	v.Nav = "account"
	return c.render(w, v, status, "account", v.T("account.title"), p)
}

// accountFailed shows the account page again with a message beside a field.
func (c *Console) accountFailed(w http.ResponseWriter, r *http.Request, v *view, form string, err error) error {
	v.Form = r.PostForm
	if !v.fieldErrors(form, err, nil) {
		return err
	}
	p, _ := problem.As(err)
	return c.showAccount(w, r, v, p.Status)
}

func (c *Console) accountPreferences(w http.ResponseWriter, r *http.Request, v *view) error {
	u := v.User()
	p := store.Preferences{UserID: u.ID, Language: supported(r.PostFormValue("lang")), Timezone: strings.TrimSpace(r.PostFormValue("timezone"))}
	if p.Timezone != "" {
		if _, err := loadZone(p.Timezone); err != nil {
			return c.accountFailed(w, r, v, "prefs", formError("timezone", v.T("account.badZone")))
		}
	}
	if err := c.d.Console.PutPrefs(r.Context(), p); err != nil {
		return err
	}
	if p.Language != "" {
		http.SetCookie(w, &http.Cookie{Name: c.cookieName("csl_lang"), Value: p.Language, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
	}
	c.flash(w, "ok", "flash.saved")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// accountPassword changes the person's own password; it needs the current one, and
// ends their other sessions.
func (c *Console) accountPassword(w http.ResponseWriter, r *http.Request, v *view) error {
	u := v.User()
	cur, next := r.PostFormValue("current"), r.PostFormValue("new")
	key := guessKey(v.session)
	if wait := c.codes.Wait(key); wait > 0 {
		return c.accountFailed(w, r, v, "password", formError("current", v.T("signin.wait", v.Took(math.Ceil(wait.Seconds())))))
	}
	// Every mistake at once: the new password's are told even when the current one is
	// wrong, as they say nothing about the account.
	var errs []error
	if _, err := auth.CheckPassword(u.PasswordHash, cur); u.PasswordHash != "" && err != nil {
		c.codes.Fail(key)
		errs = append(errs, formError("current", v.T("account.wrongPassword")))
	}
	errs = append(errs, auth.ValidatePassword("new", next))
	if next != r.PostFormValue("confirm") {
		errs = append(errs, formError("confirm", v.T("account.mismatch")))
	}
	if err := problem.Join(errs...); err != nil {
		return c.accountFailed(w, r, v, "password", err)
	}
	if err := auth.SetPassword(r.Context(), c.d.Console, u.ID, next); err != nil {
		return err
	}
	if err := c.d.Console.DeleteUserSessions(r.Context(), u.ID, v.session.Hash); err != nil {
		return err
	}
	c.auditSignin(r.Context(), u.Name, "password_changed", clientIP(r))
	c.flash(w, "ok", "flash.passwordChanged")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// totpStart makes a new secret to be confirmed; an enabled second factor is not
// replaced this way (disable it first, which needs a code).
func (c *Console) totpStart(w http.ResponseWriter, r *http.Request, v *view) error {
	u := v.User()
	t, err := c.d.Console.GetTOTP(r.Context(), u.ID)
	if err == nil && t.Enabled {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := c.d.Console.PutTOTP(r.Context(), store.TOTP{UserID: u.ID, Secret: auth.NewTOTPSecret(), CreatedAt: c.d.Clock.Now()}); err != nil {
		return err
	}
	http.Redirect(w, r, "/account#totp", http.StatusSeeOther)
	return nil
}

// guessKey throttles the checks a signed-in session makes of its person's password or
// code: a stolen session guesses on its own budget, and strangers' failed sign-ins do
// not stop the owner from changing their password.
func guessKey(s *session) string { return "session:" + s.Hash }

// checkCode checks a code against the person's secret and uses up its time step.
func (c *Console) checkCode(r *http.Request, t store.TOTP) (bool, error) {
	key, err := auth.DecodeTOTPSecret(t.Secret)
	if err != nil {
		return false, err
	}
	step, ok := auth.CheckTOTP(key, r.PostFormValue("code"), c.d.Clock.Now())
	if !ok {
		return false, nil
	}
	if err := c.d.Console.UseTOTPStep(r.Context(), t.UserID, int64(step)); errors.Is(err, store.ErrConflict) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

func (c *Console) totpConfirm(w http.ResponseWriter, r *http.Request, v *view) error {
	u := v.User()
	t, err := c.d.Console.GetTOTP(r.Context(), u.ID)
	if errors.Is(err, store.ErrNotFound) {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	// Wrong codes are throttled as failed sign-ins are: a stolen session must not be
	// able to guess its way to a second factor.
	key := guessKey(v.session)
	if wait := c.codes.Wait(key); wait > 0 {
		return c.accountFailed(w, r, v, "totp", formError("code", v.T("signin.wait", v.Took(math.Ceil(wait.Seconds())))))
	}
	ok, err := c.checkCode(r, t)
	if err != nil {
		return err
	}
	if !ok {
		c.codes.Fail(key)
		return c.accountFailed(w, r, v, "totp", formError("code", v.T("code.wrong")))
	}
	if t, err = c.d.Console.GetTOTP(r.Context(), u.ID); err != nil { // with the step just used
		return err
	}
	t.Enabled = true
	if err := c.d.Console.PutTOTP(r.Context(), t); err != nil {
		return err
	}
	c.auditSignin(r.Context(), u.Name, "totp_enabled", clientIP(r))
	c.flash(w, "ok", "flash.totpOn")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

func (c *Console) totpDisable(w http.ResponseWriter, r *http.Request, v *view) error {
	u := v.User()
	t, err := c.d.Console.GetTOTP(r.Context(), u.ID)
	if errors.Is(err, store.ErrNotFound) {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	if t.Enabled {
		key := guessKey(v.session)
		if wait := c.codes.Wait(key); wait > 0 {
			return c.accountFailed(w, r, v, "totpoff", formError("code", v.T("signin.wait", v.Took(math.Ceil(wait.Seconds())))))
		}
		ok, err := c.checkCode(r, t)
		if err != nil {
			return err
		}
		if !ok {
			c.codes.Fail(key)
			return c.accountFailed(w, r, v, "totpoff", formError("code", v.T("code.wrong")))
		}
	}
	if err := c.d.Console.DeleteTOTP(r.Context(), u.ID); err != nil {
		return err
	}
	c.auditSignin(r.Context(), u.Name, "totp_disabled", clientIP(r))
	c.flash(w, "ok", "flash.totpOff")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// contactAdd adds a way to reach the person when on call: an e-mail address (with an
// optional OpenPGP key) or a webhook. The hotline service validates it as the API does
// and audits it, its address redacted.
func (c *Console) contactAdd(w http.ResponseWriter, r *http.Request, v *view) error {
	nc := hotline.NewContact{Channel: r.PostFormValue("channel"), Address: r.PostFormValue("address"),
		PGPKey: r.PostFormValue("pgp_key"), Secret: r.PostFormValue("secret")}
	if _, err := c.d.Hotline.AddContact(r.Context(), v.hotlineActor(), v.User().Name, nc); err != nil {
		// The webhook's secret is not shown again.
		r.PostForm.Del("secret")
		return c.accountFailed(w, r, v, "contact", err)
	}
	c.flash(w, "ok", "flash.contactAdded")
	http.Redirect(w, r, "/account#contacts", http.StatusSeeOther)
	return nil
}

// contactDelete removes one of the person's own contacts (never another's).
func (c *Console) contactDelete(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	mine, err := c.d.Hotline.Contacts(r.Context(), v.User().Name, v.hotlineViewer())
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(mine, func(ct store.Contact) bool { return ct.ID == id }) {
		return problem.NotFound("contact %q not found", id)
	}
	if err := c.d.Hotline.DeleteContact(r.Context(), v.hotlineActor(), id); err != nil {
		return err
	}
	c.flash(w, "ok", "flash.contactDeleted")
	http.Redirect(w, r, "/account#contacts", http.StatusSeeOther)
	return nil
}
