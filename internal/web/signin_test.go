package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/testnet"
)

// startOne runs one node (cn) on a fake clock, so that throttles are tested by moving
// time, never by sleeping.
func startOne(t *testing.T) (*testnet.Node, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Now())
	n, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Federation: fastFed, Clock: clk,
		Teams: testnet.Default[:1]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n.Node("cn"), clk
}

// try posts the sign-in form and returns the status, the Retry-After seconds (0 if
// none) and the page.
func try(c *client, name, password string, more ...string) (int, int, string) {
	c.t.Helper()
	c.get("/signin")
	form := url.Values{"name": {name}, "password": {password}}
	for i := 0; i+1 < len(more); i += 2 {
		form.Set(more[i], more[i+1])
	}
	resp, body := c.post("/signin", form)
	ra := 0
	if h := resp.Header.Get("Retry-After"); h != "" {
		var err error
		if ra, err = strconv.Atoi(h); err != nil {
			c.t.Fatalf("Retry-After %q", h)
		}
	}
	return resp.StatusCode, ra, body
}

// Anyone who knows the name "duty" can slow strangers down, but not lock the duty
// officer out: their known browser signs in at once, a stranger's wait grows
// exponentially to a ceiling and is answered at once (429 with Retry-After) rather
// than by holding the request, and the owner's right password passes once the wait
// is over.
func TestGuessingDoesNotLockOutTheOwner(t *testing.T) {
	cn, clk := startOne(t)
	desk := newClient(t, cn.URL)
	mustSignIn(t, desk, cn.User, cn.Password) // the desk's browser is now a known device
	desk.post("/signout", url.Values{})

	attacker := newClient(t, cn.URL)
	for i := range 5 {
		if st, _, _ := try(attacker, cn.User, "guess number "+strconv.Itoa(i)); st != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, st)
		}
	}
	st, wait, body := try(attacker, cn.User, cn.Password)
	if st != http.StatusTooManyRequests || wait != 2 || !strings.Contains(body, "Too many failed attempts. Try again in 2 seconds.") {
		t.Fatalf("sixth try from a stranger: %d, Retry-After %d; want 429 and 2 s", st, wait)
	}
	if !strings.Contains(body, `name="code"`) || !strings.Contains(body, "A browser you have signed in with before is not held up") {
		t.Errorf("the throttled form does not offer the way past")
	}

	// The duty officer at their desk is not held up.
	if st, _, _ := try(desk, cn.User, cn.Password); st != http.StatusSeeOther {
		t.Fatalf("the owner on a known device: %d, want 303 (signed in)", st)
	}
	if resp, _ := desk.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard after signing in on a known device: %d", resp.StatusCode)
	}

	// A forged or altered device cookie is a stranger's.
	forger := newClient(t, cn.URL)
	u, _ := url.Parse(cn.URL)
	for _, ck := range desk.http.Jar.Cookies(u) {
		if strings.HasPrefix(ck.Name, "csl_device") {
			forged := ck.Value[:len(ck.Value)-2] + "AA"
			if forged == ck.Value {
				forged = ck.Value[:len(ck.Value)-2] + "BB"
			}
			forger.http.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: forged}})
		}
	}
	if st, _, _ := try(forger, cn.User, cn.Password); st != http.StatusTooManyRequests {
		t.Fatalf("a forged device cookie: %d, want 429 like any stranger", st)
	}

	// The stranger's wait doubles with each failure, to a ceiling of 5 minutes.
	var waits []int
	for range 12 {
		clk.Advance(time.Duration(wait) * time.Second)
		if st, _, _ := try(attacker, cn.User, "another guess"); st != http.StatusUnauthorized {
			t.Fatalf("a guess after waiting: %d, want 401", st)
		}
		if st, wait, _ = try(attacker, cn.User, "too soon"); st != http.StatusTooManyRequests {
			t.Fatalf("a guess without waiting: %d, want 429", st)
		}
		waits = append(waits, wait)
	}
	want := []int{4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300, 300}
	if !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	// Not a lockout: when the wait is over, the owner's password works from anywhere.
	clk.Advance(300 * time.Second)
	if st, _, _ := try(newClient(t, cn.URL), cn.User, cn.Password); st != http.StatusSeeOther {
		t.Fatalf("the right password after the wait, from a new browser: %d", st)
	}
}

// A known device has its own throttle: a stolen device cookie is not a free pass.
func TestKnownDeviceIsThrottledToo(t *testing.T) {
	cn, clk := startOne(t)
	desk := newClient(t, cn.URL)
	mustSignIn(t, desk, cn.User, cn.Password)
	desk.post("/signout", url.Values{})
	for i := range 5 {
		if st, _, _ := try(desk, cn.User, "wrong "+strconv.Itoa(i)); st != http.StatusUnauthorized {
			t.Fatalf("guess %d from the known device: %d", i, st)
		}
	}
	if st, wait, _ := try(desk, cn.User, cn.Password); st != http.StatusTooManyRequests || wait != 2 {
		t.Fatalf("sixth try from the known device: %d, Retry-After %d; want 429 and 2", st, wait)
	}
	// A stranger is not held up by the device's failures.
	if st, _, _ := try(newClient(t, cn.URL), cn.User, cn.Password); st != http.StatusSeeOther {
		t.Fatalf("a stranger after the device's failures: %d", st)
	}

	// A device not signed in with for over a year is a stranger again.
	clk.Advance(366 * 24 * time.Hour)
	attacker := newClient(t, cn.URL)
	for i := range 5 {
		try(attacker, cn.User, "guess "+strconv.Itoa(i))
	}
	if st, _, _ := try(desk, cn.User, cn.Password); st != http.StatusTooManyRequests {
		t.Fatalf("a device cookie over a year old while strangers are held up: %d, want 429", st)
	}
}

// Failures from one address slow that address down, whatever names it tries.
func TestGuessesFromOneAddressAreSlowed(t *testing.T) {
	cn, _ := startOne(t)
	c := newClient(t, cn.URL)
	for i := range 20 {
		if st, _, _ := try(c, "user"+strconv.Itoa(i), "some password"); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, st)
		}
	}
	if st, wait, _ := try(c, "someone-else", "some password"); st != http.StatusTooManyRequests || wait != 1 {
		t.Fatalf("21st failure from one address: %d, Retry-After %d; want 429 and 1", st, wait)
	}
}

// While strangers' failures hold an account up, its owner signs in at once with their
// password and authenticator code together; a wrong password or a wrong code reads the
// same, so the form does not confirm a guessed password.
func TestTOTPPassesAThrottledAccount(t *testing.T) {
	cn, clk := startOne(t)
	owner := newClient(t, cn.URL)
	mustSignIn(t, owner, cn.User, cn.Password)
	key := enrolTOTP(t, owner, clk.Now())
	owner.post("/signout", url.Values{})

	clk.Advance(auth.TOTPPeriod) // the enrolment used this step's code
	code := auth.TOTPCode(key, clk.Now())
	attacker := newClient(t, cn.URL)
	for i := range 5 {
		try(attacker, cn.User, "guess "+strconv.Itoa(i))
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	phone := newClient(t, cn.URL) // the owner on a browser never used before
	if st, _, _ := try(phone, cn.User, cn.Password); st != http.StatusTooManyRequests {
		t.Fatalf("the password alone while the account is held up: %d, want 429", st)
	}
	st1, _, body1 := try(phone, cn.User, cn.Password, "code", wrong)
	st2, _, body2 := try(attacker, cn.User, "a wrong password", "code", code)
	if st1 != http.StatusUnauthorized || st2 != http.StatusUnauthorized {
		t.Fatalf("right password and wrong code: %d; wrong password and right code: %d; want 401 both", st1, st2)
	}
	msg := "Wrong user name, password or code."
	if !strings.Contains(body1, msg) || !strings.Contains(body2, msg) {
		t.Fatalf("the two refusals do not read the same")
	}
	// Strangers trying codes without the password do not hold the owner up either.
	for i := range 8 {
		try(attacker, cn.User, "guess with a code "+strconv.Itoa(i), "code", wrong)
	}
	// Neither refusal used the code up.
	if st, _, _ := try(phone, cn.User, cn.Password, "code", code); st != http.StatusSeeOther {
		t.Fatalf("password and right code while the account is held up: %d, want 303", st)
	}
	if resp, _ := phone.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard after signing in with the code: %d", resp.StatusCode)
	}
	// The code is used up: it does not sign in a second time.
	if st, _, _ := try(newClient(t, cn.URL), cn.User, cn.Password, "code", code); st == http.StatusSeeOther {
		t.Fatal("a used code signed in again")
	}
}

func enrolTOTP(t *testing.T, c *client, now time.Time) []byte {
	t.Helper()
	c.get("/account")
	c.post("/account/totp", url.Values{})
	_, body := c.get("/account")
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no secret shown while enrolling")
	}
	key, err := auth.DecodeTOTPSecret(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.post("/account/totp/confirm", url.Values{"code": {auth.TOTPCode(key, now)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enrol: %d", resp.StatusCode)
	}
	return key
}
