package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"csirtlink/internal/clock"
	"csirtlink/internal/egress"
)

// Header names of a webhook request.
const (
	SignatureHeader = "X-Csirtlink-Signature"
	EventHeader     = "X-Csirtlink-Event"
)

const (
	defaultWebhookTimeout = 10 * time.Second
	// DefaultSignatureTolerance is the replay window VerifySignature uses
	// when given none: long enough for clock skew and a slow gateway, short
	// enough that a captured request is soon useless.
	DefaultSignatureTolerance = 5 * time.Minute
	maxWebhookBody            = 1 << 20  // bytes of JSON we send
	maxResponseRead           = 64 << 10 // bytes of a response we read before closing it
	maxExcerpt                = 200      // bytes of a response quoted in an error
	maxSignatureHeader        = 4096
	maxSignatures             = 8 // v1= entries accepted in one header (key rotation)
)

// WebhookOptions configures the outbound client.
type WebhookOptions struct {
	// Timeout bounds one whole request, from dialling to the end of the
	// response; 0 (or negative) = 10s.
	Timeout time.Duration
	// AllowPrivate lets webhooks reach loopback, private and other
	// non-public addresses: for tests, the demo, and gateways on an internal
	// network. Off, such destinations are refused at dial time.
	AllowPrivate bool
	// Clock timestamps the signatures; nil = the system clock.
	Clock clock.Clock
}

// Webhook posts signed JSON events. It holds one HTTP client (and its
// connection pool) for all webhooks and is safe for concurrent use.
type Webhook struct {
	client *http.Client
	clock  clock.Clock
}

// NewWebhook returns a Webhook with its own outbound client: timeouts on
// every phase, no redirects followed (a redirect would move a signed page to
// a destination nobody configured, past the address guard's intent), no
// proxy from the environment (the guard checks the address actually
// dialled, which with a proxy would be the proxy's), and the address guard
// unless AllowPrivate.
func NewWebhook(opts WebhookOptions) *Webhook {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultWebhookTimeout
	}
	dialer := &net.Dialer{Timeout: min(timeout, 5*time.Second), KeepAlive: 30 * time.Second}
	if !opts.AllowPrivate {
		dialer.Control = guardControl
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    min(timeout, 5*time.Second),
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConnsPerHost:    4,
		ForceAttemptHTTP2:      true,
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	return &Webhook{
		client: &http.Client{
			Transport: transport,
			Timeout:   timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		clock: clk,
	}
}

// Send posts payload as JSON to endpoint, signed with secret, announcing
// event, if d — egress.Decide's answer for this webhook — allows it; without
// such a decision nothing is sent. Any 2xx answer is success. Input errors are *FieldError; delivery
// errors are *SendError carrying the HTTP status and a short excerpt of the
// answer. Errors name the endpoint only by scheme and host, because chat
// webhook URLs often carry their access token in the path or query.
func (w *Webhook) Send(ctx context.Context, d egress.Decision, endpoint, secret, event string, payload any) error {
	if !d.Allowed() {
		return fieldErr("egress", "refused: %s", d.Reason())
	}
	if d.Kind() != egress.Webhook {
		return fieldErr("egress", "the decision is for %q, not for a webhook", d.Kind())
	}
	u, err := checkWebhookURL(endpoint)
	if err != nil {
		return err
	}
	if secret == "" {
		return fieldErr("secret", "empty: every webhook must be signed")
	}
	if !validEvent(event) {
		return fieldErr("event", "%q: want 1 to 64 of a-z, A-Z, 0-9, '.', '_', '-'", event)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fieldErr("payload", "cannot be encoded as JSON: %v", err)
	}
	if len(body) > maxWebhookBody {
		return fieldErr("payload", "encodes to %d bytes; the limit is %d", len(body), maxWebhookBody)
	}
	remote := u.Scheme + "://" + u.Host

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fieldErr("url", "cannot make a request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "csirtlink")
	req.Header.Set(EventHeader, event)
	req.Header.Set(SignatureHeader, signatureHeader(secret, w.clock.Now().Unix(), body))

	resp, err := w.client.Do(req)
	if err != nil {
		// *url.Error repeats the full URL, token included; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &SendError{Channel: "webhook", Remote: remote, Step: "POST", Err: err,
			Permanent: errors.Is(err, ErrBlockedAddress)}
	}
	excerpt := readAndDrain(resp.Body)
	_ = resp.Body.Close()

	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code >= 300 && code < 400:
		return &SendError{Channel: "webhook", Remote: remote, Step: "response", Code: code, Permanent: true,
			Err: fmt.Errorf("%s: redirect to %s not followed; configure the final URL", resp.Status, redirectTarget(resp))}
	default:
		permanent := code >= 400 && code < 500 &&
			code != http.StatusRequestTimeout && code != http.StatusTooEarly && code != http.StatusTooManyRequests
		e := errors.New(resp.Status)
		if excerpt != "" {
			e = fmt.Errorf("%s: %q", resp.Status, excerpt)
		}
		return &SendError{Channel: "webhook", Remote: remote, Step: "response", Code: code, Permanent: permanent, Err: e}
	}
}

func checkWebhookURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse's error quotes the URL; do not repeat a token into the record.
		return nil, fieldErr("url", "not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fieldErr("url", "scheme %q: want http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fieldErr("url", "no host")
	}
	return u, nil
}

func validEvent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// readAndDrain reads at most maxResponseRead bytes of a response, so that
// the connection can be reused after a small answer and a huge or endless
// answer costs us nothing, and returns a printable excerpt of its start.
func readAndDrain(r io.Reader) string {
	var head bytes.Buffer
	_, _ = io.Copy(&head, io.LimitReader(r, maxExcerpt+4))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, maxResponseRead))
	return excerpt(head.Bytes(), maxExcerpt)
}

// excerpt turns the start of a remote answer into one line of printable
// text: it goes into error messages, logs and the console.
func excerpt(b []byte, limit int) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// redirectTarget names where a redirect pointed, by scheme and host only.
func redirectTarget(resp *http.Response) string {
	loc, err := resp.Location()
	if err != nil || loc.Host == "" {
		return "an unnamed location"
	}
	return loc.Scheme + "://" + loc.Host
}

// signatureHeader builds "t=<unix>,v1=<hex>". The timestamp is inside the
// MAC so a receiver that checks its age refuses a replayed request; it comes
// first so the header is readable in logs.
func signatureHeader(secret string, t int64, body []byte) string {
	return "t=" + strconv.FormatInt(t, 10) + ",v1=" + hex.EncodeToString(signatureMAC(secret, t, body))
}

func signatureMAC(secret string, t int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of VerifySignature, for receivers that answer differently to each.
var (
	ErrSignatureMalformed = errors.New("malformed " + SignatureHeader + " header")
	ErrSignatureMismatch  = errors.New("signature does not match the body")
	ErrSignatureExpired   = errors.New("signature timestamp outside the tolerance")
)

// VerifySignature checks an X-Csirtlink-Signature header against the exact
// request body, for receivers (and tests). The header is
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">"; several v1 entries
// may be given (a sender rotating its secret) and any match is accepted;
// unknown keys are ignored so that later schemes can be added beside v1.
// The MAC is checked before the age, so ErrSignatureExpired means an
// authentic but old (possibly replayed) request. tolerance <= 0 means
// DefaultSignatureTolerance; it applies in both directions, for clock skew.
func VerifySignature(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return fieldErr("secret", "empty")
	}
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	t, sigs, err := parseSignatureHeader(header)
	if err != nil {
		return err
	}
	want := signatureMAC(secret, t, body)
	matched := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("notify: %w", ErrSignatureMismatch)
	}
	// time.Time.Sub saturates instead of overflowing, so absurd timestamps
	// are simply very old or very new.
	if age := now.Sub(time.Unix(t, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("notify: %w: signed at %d, %v from now (tolerance %v)", ErrSignatureExpired, t, age.Round(time.Second), tolerance)
	}
	return nil
}

func parseSignatureHeader(header string) (t int64, sigs [][]byte, err error) {
	bad := func(format string, args ...any) (int64, [][]byte, error) {
		return 0, nil, fmt.Errorf("notify: %w: %s", ErrSignatureMalformed, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(header) == "" {
		return bad("empty")
	}
	if len(header) > maxSignatureHeader {
		return bad("%d bytes; the limit is %d", len(header), maxSignatureHeader)
	}
	haveT := false
	for item := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return bad("item %q is not key=value", excerpt([]byte(item), 40))
		}
		switch k {
		case "t":
			if haveT {
				return bad("t given twice")
			}
			if v == "" || len(v) > 18 || strings.TrimLeft(v, "0123456789") != "" {
				return bad("t=%q is not a Unix time in seconds", excerpt([]byte(v), 40))
			}
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				return bad("t=%q is not a Unix time in seconds", v)
			}
			t, haveT = n, true
		case "v1":
			if len(sigs) == maxSignatures {
				return bad("more than %d v1 signatures", maxSignatures)
			}
			s, derr := hex.DecodeString(v)
			if derr != nil || len(s) != sha256.Size {
				return bad("v1 is not %d hex digits", 2*sha256.Size)
			}
			sigs = append(sigs, s)
		}
	}
	if !haveT {
		return bad("no t=")
	}
	if len(sigs) == 0 {
		return bad("no v1=")
	}
	return t, sigs, nil
}
