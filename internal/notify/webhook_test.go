package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/egress"
)

var webhookOK = decide(egress.Webhook, "AMBER", false)

const testSecret = "whsec-0123456789abcdef"

func localWebhook() *Webhook {
	return NewWebhook(WebhookOptions{Timeout: 5 * time.Second, AllowPrivate: true})
}

func TestWebhookSignedDelivery(t *testing.T) {
	type seen struct {
		verr                  error
		event, ua, ctype, sig string
		body                  []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get(SignatureHeader)
		got <- seen{
			verr:  VerifySignature(sig, body, testSecret, time.Now(), time.Minute),
			event: r.Header.Get(EventHeader), ua: r.Header.Get("User-Agent"),
			ctype: r.Header.Get("Content-Type"), sig: sig, body: body,
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	p := jpPage()
	if err := localWebhook().Send(context.Background(), webhookOK, srv.URL+"/hooks/jp", testSecret, "page", WebhookPayload(p)); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.verr != nil {
		t.Fatalf("receiver could not verify: %v", s.verr)
	}
	if s.event != "page" || s.ua != "csirtlink" || s.ctype != "application/json" {
		t.Errorf("event=%q ua=%q content-type=%q", s.event, s.ua, s.ctype)
	}
	var payload map[string]any
	if err := json.Unmarshal(s.body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["summary"] != cjkSummary || payload["id"] != "pg-0042" || payload["tlp"] != "AMBER" {
		t.Errorf("payload = %v", payload)
	}
	if strings.Contains(string(s.body), p.AckCode) {
		t.Error("the ack code went out in a webhook")
	}

	// The receiver refuses the same request with a changed body, a wrong
	// secret, or replayed later than the tolerance.
	if err := VerifySignature(s.sig, append(s.body[:len(s.body):len(s.body)], ' '), testSecret, time.Now(), time.Minute); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("tampered body: %v", err)
	}
	if err := VerifySignature(s.sig, s.body, "another secret", time.Now(), time.Minute); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := VerifySignature(s.sig, s.body, testSecret, time.Now().Add(10*time.Minute), time.Minute); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("replayed 10 minutes later: %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"pg-1"}`)
	good := signatureHeader(testSecret, now.Unix(), body)
	old := signatureHeader(testSecret, now.Add(-6*time.Minute).Unix(), body)
	future := signatureHeader(testSecret, now.Add(6*time.Minute).Unix(), body)
	otherSecret := signatureHeader("old secret", now.Unix(), body)
	_, v1, _ := strings.Cut(good, ",")
	_, oldV1, _ := strings.Cut(otherSecret, ",")
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"valid", good, nil},
		{"valid with spaces", strings.ReplaceAll(good, ",", " , "), nil},
		{"rotated secret: any v1 matches", otherSecret + "," + v1, nil},
		{"unknown scheme ignored", good + ",v0=abc", nil},
		{"within tolerance", signatureHeader(testSecret, now.Add(-4*time.Minute).Unix(), body), nil},
		{"old", old, ErrSignatureExpired},
		{"future", future, ErrSignatureExpired},
		{"other secret", otherSecret, ErrSignatureMismatch},
		{"timestamp changed", "t=" + strconv.FormatInt(now.Unix()+1, 10) + "," + v1, ErrSignatureMismatch},
		{"empty", "", ErrSignatureMalformed},
		{"no t", v1, ErrSignatureMalformed},
		{"no v1", "t=" + strconv.FormatInt(now.Unix(), 10), ErrSignatureMalformed},
		{"t twice", good + ",t=1", ErrSignatureMalformed},
		{"t signed", "t=+" + strconv.FormatInt(now.Unix(), 10) + "," + v1, ErrSignatureMalformed},
		{"t negative", "t=-1," + v1, ErrSignatureMalformed},
		{"t huge", "t=99999999999999999999," + v1, ErrSignatureMalformed},
		{"v1 short", "t=1,v1=abcd", ErrSignatureMalformed},
		{"v1 not hex", "t=1,v1=" + strings.Repeat("zz", 32), ErrSignatureMalformed},
		{"not key=value", "t=1,v1", ErrSignatureMalformed},
		{"too many v1", good + strings.Repeat(","+oldV1, maxSignatures), ErrSignatureMalformed},
		{"too long", good + strings.Repeat(" ", maxSignatureHeader), ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.header, body, testSecret, now, 5*time.Minute)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifySignature(%q) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
	if err := VerifySignature(good, body, "", now, 0); err == nil {
		t.Error("an empty secret verified")
	}
	// tolerance <= 0 means the default, not "anything goes".
	if err := VerifySignature(signatureHeader(testSecret, 0, body), body, testSecret, now, 0); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("a 1970 timestamp with the default tolerance: %v", err)
	}
}

func TestWebhookUsesInjectedClock(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	var sig atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		sig.Store(r.Header.Get(SignatureHeader))
	}))
	defer srv.Close()
	w := NewWebhook(WebhookOptions{AllowPrivate: true, Clock: fake})
	if err := w.Send(context.Background(), webhookOK, srv.URL, testSecret, "page.drill", map[string]any{"a": 1}); err != nil {
		t.Fatal(err)
	}
	want := "t=" + strconv.FormatInt(fake.Now().Unix(), 10) + ","
	if s, _ := sig.Load().(string); !strings.HasPrefix(s, want) {
		t.Errorf("signature header %q, want it to start with %q", s, want)
	}
}

func TestWebhookNon2xx(t *testing.T) {
	tests := []struct {
		status    int
		body      string
		permanent bool
	}{
		{http.StatusInternalServerError, "database down\n" + strings.Repeat("trace ", 1000), false},
		{http.StatusServiceUnavailable, "", false},
		{http.StatusTooManyRequests, "slow down", false},
		{http.StatusNotFound, "no such hook", true},
		{http.StatusUnauthorized, "bad signature", true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			err := localWebhook().Send(context.Background(), webhookOK, srv.URL+"/hooks/T0KEN-in-path?key=T0KEN-in-query", testSecret, "page", map[string]string{"a": "b"})
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want *SendError", err, err)
			}
			if se.Code != tt.status || se.Permanent != tt.permanent || se.Step != "response" {
				t.Errorf("SendError = %+v", se)
			}
			msg := err.Error()
			if !strings.Contains(msg, strconv.Itoa(tt.status)) {
				t.Errorf("error %q lacks the status", msg)
			}
			if first := strings.SplitN(tt.body, "\n", 2)[0]; first != "" && !strings.Contains(msg, first) {
				t.Errorf("error %q lacks the excerpt %q", msg, first)
			}
			if len(msg) > 400 {
				t.Errorf("error is %d bytes long; the excerpt should be short", len(msg))
			}
			if strings.Contains(msg, "T0KEN") {
				t.Errorf("error %q leaks the URL's token", msg)
			}
		})
	}
}

func TestWebhookRedirectNotFollowed(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	err := localWebhook().Send(context.Background(), webhookOK, srv.URL, testSecret, "page", map[string]string{})
	var se *SendError
	if !errors.As(err, &se) || se.Code != http.StatusTemporaryRedirect || !se.Permanent {
		t.Fatalf("error %v, want a permanent 307 failure", err)
	}
	if !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), strings.TrimPrefix(target.URL, "http://")) {
		t.Errorf("error %q should say where the redirect pointed", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestWebhookTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	w := NewWebhook(WebhookOptions{Timeout: 200 * time.Millisecond, AllowPrivate: true})
	start := time.Now()
	err := w.Send(context.Background(), webhookOK, srv.URL, testSecret, "page", nil)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Send took %v with a 200ms timeout", took)
	}
	var se *SendError
	if !errors.As(err, &se) || se.Step != "POST" || se.Permanent {
		t.Fatalf("error %v, want a temporary POST failure", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := localWebhook().Send(ctx, webhookOK, srv.URL, testSecret, "page", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
}

func TestWebhookGuardRefusesPrivateDestinations(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://127.0.0.1"), ":")
	guarded := NewWebhook(WebhookOptions{Timeout: 5 * time.Second})
	for _, u := range []string{
		srv.URL,                             // 127.0.0.1
		"http://localhost:" + port + "/",    // a name that resolves to loopback
		"http://[::1]:" + port + "/",        // IPv6 loopback
		"http://[::ffff:127.0.0.1]:" + port, // IPv4-mapped loopback
		// Never contacted: the guard refuses before the connection is
		// attempted, which the error proves (ErrBlockedAddress comes from
		// the dialer's Control hook, which runs before connect).
		"http://10.0.0.1:9/hook",
		"https://169.254.169.254/latest/meta-data/",
	} {
		start := time.Now()
		err := guarded.Send(context.Background(), webhookOK, u, testSecret, "page", map[string]string{})
		if !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("%s: error %v, want ErrBlockedAddress", u, err)
			continue
		}
		if !IsPermanent(err) {
			t.Errorf("%s: a refused destination must be permanent", u)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s: refusal took %v; the guard must refuse before connecting", u, time.Since(start))
		}
	}
	if hits.Load() != 0 {
		t.Fatal("a guarded request reached the loopback server")
	}
	// The same server is reachable when private destinations are allowed.
	if err := localWebhook().Send(context.Background(), webhookOK, srv.URL, testSecret, "page", map[string]string{}); err != nil {
		t.Fatal(err)
	}
}

func TestBlockReason(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.255.0.1", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"100.64.0.1", "100.127.255.254", "169.254.169.254", "0.0.0.0", "0.1.2.3", "224.0.0.1",
		"239.255.255.250", "255.255.255.255", "192.0.2.1", "198.51.100.1", "203.0.113.5", "198.18.0.1",
		"::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "2001:db8::1", "3fff::1",
		"::ffff:10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::a00:1", "64:ff9b:1::1", "2002:a00:1::1",
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8"}
	for _, s := range blocked {
		if blockReason(netip.MustParseAddr(s)) == "" {
			t.Errorf("%s is not blocked", s)
		}
	}
	for _, s := range allowed {
		if r := blockReason(netip.MustParseAddr(s)); r != "" {
			t.Errorf("%s is blocked (%s)", s, r)
		}
	}
	if guardControl("tcp", "not-an-address", nil) == nil {
		t.Error("guardControl accepted a non-IP address")
	}
}

func TestWebhookRefusesBadInput(t *testing.T) {
	w := localWebhook()
	tests := []struct {
		name, url, secret, event string
		payload                  any
		field                    string
	}{
		{"ftp", "ftp://hooks.example/x", testSecret, "page", nil, "url"},
		{"no scheme", "hooks.example/x", testSecret, "page", nil, "url"},
		{"no host", "https:///x", testSecret, "page", nil, "url"},
		{"unparsable", "http://[::1", testSecret, "page", nil, "url"},
		{"empty secret", "https://hooks.example/x", "", "page", nil, "secret"},
		{"bad event", "https://hooks.example/x", testSecret, "page\r\nX-Evil: 1", nil, "event"},
		{"empty event", "https://hooks.example/x", testSecret, "", nil, "event"},
		{"not JSON", "https://hooks.example/x", testSecret, "page", make(chan int), "payload"},
		{"too large", "https://hooks.example/x", testSecret, "page", strings.Repeat("a", maxWebhookBody), "payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFieldError(t, w.Send(context.Background(), webhookOK, tt.url, tt.secret, tt.event, tt.payload), tt.field)
		})
	}
}

// FuzzVerifySignature feeds the header parser what a receiver gets from the
// network: it must never panic, must accept only headers made with the
// secret, and must accept every header the sender makes.
func FuzzVerifySignature(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"pg-1"}`)
	good := signatureHeader(testSecret, now.Unix(), body)
	for _, s := range []string{good, "", "t=", "v1=", "t=1,v1=00", good + "," + good, "t=1800000000,v1=" + strings.Repeat("0", 64), ",,,", "t=1800000000 ,v1= ab"} {
		f.Add(s, body, int64(0))
	}
	f.Fuzz(func(t *testing.T, header string, body []byte, skew int64) {
		err := VerifySignature(header, body, testSecret, now, 5*time.Minute)
		if err == nil && !strings.Contains(header, "v1=") {
			t.Fatalf("accepted %q without a v1 signature", header)
		}
		if err != nil && !errors.Is(err, ErrSignatureMalformed) && !errors.Is(err, ErrSignatureMismatch) && !errors.Is(err, ErrSignatureExpired) {
			t.Fatalf("unclassified error %v", err)
		}
		ts := now.Unix() + skew%600
		made := signatureHeader(testSecret, ts, body)
		err = VerifySignature(made, body, testSecret, now, 10*time.Minute)
		if err != nil {
			t.Fatalf("our own header %q does not verify: %v", made, err)
		}
	})
}
