// Package client is a small typed client for a csirtlink node's JSON API (/api/v1).
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/federation"
	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
)

const (
	// Timeout bounds every request, connection to last byte.
	Timeout = 30 * time.Second
	// MaxResponse caps how much of a response body is read.
	MaxResponse = 16 << 20
)

// Client calls one node's API with one user's bearer token. It is safe for concurrent use.
//
// Every POST carries an Idempotency-Key, fresh for each call (or the caller's, see
// WithIdempotencyKey), so a call whose answer was lost can be sent again without
// doing it twice; the client does so itself, up to Attempts times, when the connection
// fails, the node or a proxy in front of it is unavailable (502, 503, 504), or the
// node says the first try is still running. GETs are tried again on a failed
// connection.
type Client struct {
	base  string
	token string
	http  *http.Client
	// wait sleeps before try n (1-based) of a call; tests make it instant.
	wait func(ctx context.Context, n int) error
}

// Attempts is how many times the client sends one call at most.
const Attempts = 4

// New makes a client for the node at baseURL (such as "https://csirt.example:8443"),
// authenticating with token.
func New(baseURL, token string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: &http.Client{Timeout: Timeout}, wait: backoff}
}

// backoff waits 250 ms before the second try, then twice as long each time.
func backoff(ctx context.Context, n int) error {
	t := time.NewTimer(250 * time.Millisecond << (n - 2))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// IdempotencyHeader is the header that carries a call's key.
const IdempotencyHeader = "Idempotency-Key"

type keyCtx struct{}

// WithIdempotencyKey makes the POST made with ctx use key instead of a fresh one: a
// call repeated with the key of one that may or may not have been carried out (see
// IncompleteError) is carried out once. A key names one request; sent with another,
// the node refuses it (422).
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyCtx{}, key)
}

// NewIdempotencyKey makes a random key.
func NewIdempotencyKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IncompleteError is a call that got no answer, however often it was sent: it may or
// may not have been carried out. Sent again with Key (WithIdempotencyKey) it is
// carried out once, and its first answer comes back.
type IncompleteError struct {
	Method, Path, Key string
	Err               error
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("client: %s %s: no answer after %d tries (%v); it may have been carried out: send it again with %s %s to have it carried out once",
		e.Method, e.Path, Attempts, e.Err, IdempotencyHeader, e.Key)
}

func (e *IncompleteError) Unwrap() error { return e.Err }

// Error is an answer outside 2xx, with the API's error code, message and field.
type Error struct {
	Status  int    // HTTP status
	Code    string // the API's machine-readable code, such as "invalid"
	Message string
	Field   string // the request field at fault, if any
}

// Error reads like "422 invalid: title: required".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Teams is this node's own team and its configured peers.
type Teams struct {
	Self  team.Team   `json:"self"`
	Peers []team.Peer `json:"peers"`
}

// Caller is who the token belongs to.
type Caller struct {
	User string `json:"user"`
	Role string `json:"role"`
	Team string `json:"team"`
}

// ListIncidents lists the incidents this node holds that match f.
func (c *Client) ListIncidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "severity": f.Severity, "category": f.Category, "tlp": f.TLP, "team": f.Team} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	path := "/api/v1/incidents"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Incidents []store.Incident `json:"incidents"`
	}
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Incidents, err
}

// CreateIncident opens an incident coordinated by the node's team.
func (c *Client) CreateIncident(ctx context.Context, n incident.NewIncident) (store.Incident, error) {
	var out store.Incident
	err := c.do(ctx, http.MethodPost, "/api/v1/incidents", n, &out)
	return out, err
}

// GetIncident returns an incident with its participants and timeline.
func (c *Client) GetIncident(ctx context.Context, id string) (store.Incident, error) {
	var out store.Incident
	p, err := incidentPath(id, "")
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// AddEntry adds a comment or an observable to an incident's timeline.
func (c *Client) AddEntry(ctx context.Context, id string, n incident.NewEntry) (store.Entry, error) {
	return c.postEntry(ctx, id, "/timeline", n)
}

// SetStatus changes an incident's status (open, in_progress, mitigated, closed), with
// an optional note; only the coordinating node may.
func (c *Client) SetStatus(ctx context.Context, id, status, note string) (store.Entry, error) {
	return c.postEntry(ctx, id, "/status", map[string]string{"status": status, "note": note})
}

// SetParticipation sets the node's own team's status in an incident (acknowledged,
// working, done).
func (c *Client) SetParticipation(ctx context.Context, id, status string) (store.Entry, error) {
	return c.postEntry(ctx, id, "/participation", map[string]string{"status": status})
}

// AddParticipant invites a team into an incident this node coordinates.
func (c *Client) AddParticipant(ctx context.Context, id, team string) (store.Entry, error) {
	return c.postEntry(ctx, id, "/participants", map[string]string{"team": team})
}

func (c *Client) postEntry(ctx context.Context, id, suffix string, body any) (store.Entry, error) {
	var out store.Entry
	p, err := incidentPath(id, suffix)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodPost, p, body, &out)
	return out, err
}

// Peers reports the state of the node's federation link with each peer.
func (c *Client) Peers(ctx context.Context) ([]federation.LinkState, error) {
	var out struct {
		Peers []federation.LinkState `json:"peers"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/peers", nil, &out)
	return out.Peers, err
}

// RetryPeer asks the node to try its link with a peer again now, with the link's
// back-off reset (admin or duty officer; recorded in the audit log).
func (c *Client) RetryPeer(ctx context.Context, peer string) error {
	if strings.TrimSpace(peer) == "" {
		return errors.New("client: peer id required")
	}
	return c.do(ctx, http.MethodPost, "/api/v1/peers/"+url.PathEscape(peer)+"/retry", nil, nil)
}

// Teams returns the node's own team and its peers.
func (c *Client) Teams(ctx context.Context) (Teams, error) {
	var out Teams
	err := c.do(ctx, http.MethodGet, "/api/v1/teams", nil, &out)
	return out, err
}

// WhoAmI tells whose token the client holds.
func (c *Client) WhoAmI(ctx context.Context) (Caller, error) {
	var out Caller
	err := c.do(ctx, http.MethodGet, "/api/v1/whoami", nil, &out)
	return out, err
}

// PageDetail is a page as GET /api/v1/pages/{id} returns it: on the node that received
// it, with its escalation there and every attempt to reach a person.
type PageDetail = hotline.Detail

// OnCall is who is on call in each of the node team's rotations at an instant.
type OnCall struct {
	At        time.Time           `json:"at"`
	Timezone  string              `json:"timezone"` // the node team's IANA zone
	Rotations []hotline.OnCallNow `json:"rotations"`
}

// SendPage pages one or more partner teams (or "all") through the hotline.
func (c *Client) SendPage(ctx context.Context, n hotline.NewPage) (store.Page, error) {
	var out store.Page
	err := c.do(ctx, http.MethodPost, "/api/v1/pages", n, &out)
	return out, err
}

// ListPages lists pages, newest first. state is "open", "waiting" (received and not yet
// acknowledged here) or "all"/""; direction is "in", "out" or "" for both; limit 0
// takes the node's default.
func (c *Client) ListPages(ctx context.Context, state, direction string, limit int) ([]store.Page, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if direction != "" {
		q.Set("direction", direction)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/v1/pages"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Pages []store.Page `json:"pages"`
	}
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Pages, err
}

// GetPage returns a page with, where the node received it, its escalation and
// notification attempts.
func (c *Client) GetPage(ctx context.Context, id string) (PageDetail, error) {
	var out PageDetail
	p, err := pagePath(id, "")
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// AckPage acknowledges, for the node's team, a page a partner sent it.
func (c *Client) AckPage(ctx context.Context, id string) (store.Page, error) {
	return c.postPage(ctx, id, "/ack")
}

// ResolvePage closes, at every recipient, a page the node's team sent.
func (c *Client) ResolvePage(ctx context.Context, id string) (store.Page, error) {
	return c.postPage(ctx, id, "/resolve")
}

func (c *Client) postPage(ctx context.Context, id, suffix string) (store.Page, error) {
	var out store.Page
	p, err := pagePath(id, suffix)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodPost, p, nil, &out)
	return out, err
}

// RunCommCheck sends a drill page to the teams named (nil or empty: every peer) and
// records it as a comm check.
func (c *Client) RunCommCheck(ctx context.Context, to []string) (store.CommCheck, error) {
	var out store.CommCheck
	err := c.do(ctx, http.MethodPost, "/api/v1/commchecks", map[string][]string{"to": to}, &out)
	return out, err
}

// CommCheckReport returns the last limit comm checks (0: the node's default) and a
// summary per partner.
func (c *Client) CommCheckReport(ctx context.Context, limit int) (hotline.Report, error) {
	path := "/api/v1/commchecks"
	if limit != 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var out hotline.Report
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// OnCallNow reports who is on call, and next, in each rotation at an instant (the
// zero time: now, by the node's clock).
func (c *Client) OnCallNow(ctx context.Context, at time.Time) (OnCall, error) {
	path := "/api/v1/oncall/now"
	if !at.IsZero() {
		path += "?" + url.Values{"at": {at.Format(time.RFC3339Nano)}}.Encode()
	}
	var out OnCall
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// OnCallConfig returns the team's rotations, overrides and escalation policies.
func (c *Client) OnCallConfig(ctx context.Context) (hotline.OnCallConfig, error) {
	var out hotline.OnCallConfig
	err := c.do(ctx, http.MethodGet, "/api/v1/oncall", nil, &out)
	return out, err
}

func pagePath(id, suffix string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", errors.New("client: page id required")
	}
	return "/api/v1/pages/" + url.PathEscape(id) + suffix, nil
}

func incidentPath(id, suffix string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", errors.New("client: incident id required")
	}
	return "/api/v1/incidents/" + url.PathEscape(id) + suffix, nil
}

// do sends body (if not nil) as JSON and decodes a 2xx answer into out. Any other
// answer is an *Error; a POST never answered is an *IncompleteError.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("client: encode request: %w", err)
		}
		payload = b
	}
	key := ""
	if method == http.MethodPost {
		key, _ = ctx.Value(keyCtx{}).(string)
		if key == "" {
			key = NewIdempotencyKey()
		}
	}
	var err error
	for n := 1; ; n++ {
		var again bool
		again, err = c.try(ctx, method, path, key, body != nil, payload, out)
		if !again || n == Attempts || (method != http.MethodGet && key == "") || c.wait(ctx, n+1) != nil {
			break
		}
	}
	var netErr *netError
	if key != "" && errors.As(err, &netErr) {
		return &IncompleteError{Method: method, Path: path, Key: key, Err: netErr.err}
	}
	if netErr != nil {
		return fmt.Errorf("client: %s %s: %w", method, path, netErr.err)
	}
	return err
}

// netError is a try that got no answer.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }

// try sends the request once, and reports whether it may be sent again: the answer
// was lost, or says the node is briefly unable or still running the first try.
func (c *Client) try(ctx context.Context, method, path, key string, hasBody bool, payload []byte, out any) (again bool, err error) {
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return false, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set(IdempotencyHeader, key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The caller's own end (cancel, deadline) is no reason to try again.
		return ctx.Err() == nil, &netError{err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return ctx.Err() == nil, &netError{fmt.Errorf("read response: %w", err)}
	}
	if len(data) > MaxResponse {
		return false, fmt.Errorf("client: %s %s: response larger than %d bytes", method, path, MaxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := errorFrom(resp.StatusCode, data)
		switch {
		case key == "":
		case e.Status == http.StatusBadGateway, e.Status == http.StatusServiceUnavailable, e.Status == http.StatusGatewayTimeout:
			again = true
		case e.Status == http.StatusConflict && e.Code == "in_progress":
			again = true
		}
		return again, e
	}
	if out == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return false, fmt.Errorf("client: %s %s: decode response: %w", method, path, err)
	}
	return false, nil
}

// errorFrom reads the API's {"error":{...}} body; anything else (a proxy's page, say)
// becomes the status text with a short, single-line excerpt of the body.
func errorFrom(status int, data []byte) *Error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && (body.Error.Code != "" || body.Error.Message != "") {
		return &Error{Status: status, Code: body.Error.Code, Message: body.Error.Message, Field: body.Error.Field}
	}
	msg := http.StatusText(status)
	if s := strings.Join(strings.Fields(string(data)), " "); s != "" {
		if len(s) > 200 {
			s = strings.ToValidUTF8(s[:200], "") + "…"
		}
		msg = strings.TrimSpace(msg + " " + strconv.Quote(s))
	}
	return &Error{Status: status, Message: msg}
}
