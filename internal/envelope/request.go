package envelope

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"csirtlink/internal/identity"
)

// AuthHeader carries the signature of a node-to-node HTTP request. Envelopes are signed
// for evidence; the request is signed so that only a configured peer can talk to the
// federation endpoints at all, and a captured request cannot be replayed later or to
// another node.
//
// The header carries the SHA-256 of the body (h=) beside the signature, so the
// receiver verifies who sent a request before it reads a byte of the body: an
// anonymous client naming a real peer in from= costs a signature check, not memory.
// A random nonce (n=) makes every request unique, so the receiver can refuse one it
// has seen before even within the time window.
const AuthHeader = "Csirtlink-Signature"

// Window is how far a signed request's time may be from the receiver's clock.
const Window = 5 * time.Minute

// NonceSize is the number of random bytes in a request nonce.
const NonceSize = 16

// maxAuthHeader bounds the header; a well-formed one is about 350 bytes.
const maxAuthHeader = 512

func requestBytes(method, uri, from, to string, at time.Time, nonce [NonceSize]byte, bodyHash [sha256.Size]byte) []byte {
	return Canonical("csirtlink/request/v2", []byte(method), []byte(uri), []byte(from), []byte(to), FormatTime(at), nonce[:], bodyHash[:])
}

// SignRequest sets the auth header on a request from team from to team to, with a
// fresh nonce.
func SignRequest(req *http.Request, k identity.Key, from, to string, at time.Time, body []byte) {
	var nonce [NonceSize]byte
	rand.Read(nonce[:]) // crypto/rand.Read never fails (Go 1.24+)
	at = at.UTC()
	sum := sha256.Sum256(body)
	sig := k.Sign(requestBytes(req.Method, req.URL.RequestURI(), from, to, at, nonce, sum))
	req.Header.Set(AuthHeader, fmt.Sprintf("from=%s;to=%s;t=%s;n=%x;h=%x;sig=%x", from, to, at.Format(time.RFC3339Nano), nonce, sum, sig))
}

// RequestAuth is a parsed auth header.
type RequestAuth struct {
	From, To string
	Time     time.Time
	// Nonce is unique per request; a receiver refuses one it has seen within Window.
	Nonce    [NonceSize]byte
	bodyHash [sha256.Size]byte
	sig      []byte
}

// ParseRequestAuth reads the auth header of an incoming request.
func ParseRequestAuth(h string) (*RequestAuth, error) {
	if h == "" {
		return nil, errors.New("missing " + AuthHeader + " header")
	}
	if len(h) > maxAuthHeader {
		return nil, errors.New(AuthHeader + " header too long")
	}
	var a RequestAuth
	seen := map[string]bool{}
	for part := range strings.SplitSeq(h, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errors.New("malformed " + AuthHeader + " header")
		}
		if seen[k] {
			return nil, fmt.Errorf("%s header: %s given twice", AuthHeader, k)
		}
		seen[k] = true
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
		case "n":
			if err := decodeHex(a.Nonce[:], v); err != nil {
				return nil, fmt.Errorf("%s nonce: %w", AuthHeader, err)
			}
		case "h":
			if err := decodeHex(a.bodyHash[:], v); err != nil {
				return nil, fmt.Errorf("%s body hash: %w", AuthHeader, err)
			}
		case "sig":
			a.sig = make([]byte, ed25519.SignatureSize)
			if err := decodeHex(a.sig, v); err != nil {
				return nil, fmt.Errorf("%s sig: %w", AuthHeader, err)
			}
		default:
			return nil, fmt.Errorf("%s header: unknown field %q", AuthHeader, k)
		}
	}
	if !ValidTeamID(a.From) || !ValidTeamID(a.To) || a.Time.IsZero() || !seen["n"] || !seen["h"] || a.sig == nil {
		return nil, errors.New("incomplete " + AuthHeader + " header (from, to, t, n, h and sig are required)")
	}
	return &a, nil
}

// decodeHex fills dst from exactly len(dst) bytes of hex.
func decodeHex(dst []byte, s string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("want %d hex digits", 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return errors.New("not hex")
	}
	return nil
}

// Verify checks the request signature and that its time is within Window of now. It
// needs no body: the signature covers the body's hash as the header states it, and
// ReadBody checks the body against that hash.
func (a *RequestAuth) Verify(pub ed25519.PublicKey, method, uri string, now time.Time) error {
	if d := now.Sub(a.Time); d > Window || d < -Window {
		return fmt.Errorf("request time %s outside the %s window", a.Time.Format(time.RFC3339), Window)
	}
	if !identity.Verify(pub, requestBytes(method, uri, a.From, a.To, a.Time, a.Nonce, a.bodyHash), a.sig) {
		return errors.New("bad request signature")
	}
	return nil
}

// ErrBodyTooLarge is returned by ReadBody for a body over its limit.
var ErrBodyTooLarge = errors.New("body too large")

// ReadBody reads a body of at most max bytes and checks it against the hash the
// signed header names. Call it only after Verify. size is the length the request
// declared (-1 if none): a declared body over max is refused unread, and the buffer is
// sized once rather than doubled as it fills.
func (a *RequestAuth) ReadBody(r io.Reader, max, size int64) ([]byte, error) {
	if size > max {
		return nil, fmt.Errorf("%w: %d bytes declared, over %d", ErrBodyTooLarge, size, max)
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size))
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(&buf, h), io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if n > max {
		return nil, fmt.Errorf("%w: over %d bytes", ErrBodyTooLarge, max)
	}
	if !bytes.Equal(h.Sum(nil), a.bodyHash[:]) {
		return nil, errors.New("body does not match the signed hash")
	}
	return buf.Bytes(), nil
}
