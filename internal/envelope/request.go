package envelope

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"csirtlink/internal/identity"
)

// AuthHeader carries the signature of a node-to-node HTTP request. Envelopes are signed
// for evidence; the request is signed so that only a configured peer can talk to the
// federation endpoints at all, and a captured request cannot be replayed later or to
// another node.
const AuthHeader = "Csirtlink-Signature"

// Window is how far a signed request's time may be from the receiver's clock.
const Window = 5 * time.Minute

func requestBytes(method, path, from, to string, at time.Time, body []byte) []byte {
	sum := sha256.Sum256(body)
	return Canonical("csirtlink/request/v1", []byte(method), []byte(path), []byte(from), []byte(to), FormatTime(at), sum[:])
}

// SignRequest sets the auth header on a request from team from to team to.
func SignRequest(req *http.Request, k identity.Key, from, to string, at time.Time, body []byte) {
	at = at.UTC()
	sig := k.Sign(requestBytes(req.Method, req.URL.RequestURI(), from, to, at, body))
	req.Header.Set(AuthHeader, fmt.Sprintf("from=%s;to=%s;t=%s;sig=%x", from, to, at.Format(time.RFC3339Nano), sig))
}

// RequestAuth is a parsed auth header.
type RequestAuth struct {
	From, To string
	Time     time.Time
	sig      []byte
}

// ParseRequestAuth reads the auth header of an incoming request.
func ParseRequestAuth(h string) (*RequestAuth, error) {
	if h == "" {
		return nil, errors.New("missing " + AuthHeader + " header")
	}
	if len(h) > 512 {
		return nil, errors.New(AuthHeader + " header too long")
	}
	var a RequestAuth
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errors.New("malformed " + AuthHeader + " header")
		}
		switch k {
		case "from":
			a.From = v
		case "to":
			a.To = v
		case "t":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, fmt.Errorf("%s time: %w", AuthHeader, err)
			}
			a.Time = t
		case "sig":
			if _, err := fmt.Sscanf(v, "%x", &a.sig); err != nil {
				return nil, fmt.Errorf("%s sig: %w", AuthHeader, err)
			}
		}
	}
	if !ValidTeamID(a.From) || !ValidTeamID(a.To) || a.Time.IsZero() || len(a.sig) != ed25519.SignatureSize {
		return nil, errors.New("incomplete " + AuthHeader + " header")
	}
	return &a, nil
}

// Verify checks the request signature and that its time is within Window of now.
func (a *RequestAuth) Verify(pub ed25519.PublicKey, method, uri string, now time.Time, body []byte) error {
	if d := now.Sub(a.Time); d > Window || d < -Window {
		return fmt.Errorf("request time %s outside the %s window", a.Time.Format(time.RFC3339), Window)
	}
	if !identity.Verify(pub, requestBytes(method, uri, a.From, a.To, a.Time, body), a.sig) {
		return errors.New("bad request signature")
	}
	return nil
}
