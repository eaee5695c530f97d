// Package taxii is the node's TAXII 2.1 server (OASIS TAXII 2.1, at /taxii2/) and
// client.
//
// The server serves collections of STIX objects: our shared indicators (mapped by
// internal/stix) and an inbox consumers may POST to. Consumers are outside clients
// with an account (HTTP Basic or a bearer token; only hashes of the secrets are kept)
// and an audience an admin sets: the strictest label it may receive, and optionally the
// one team it stands for. Which objects a consumer sees is egress.Decide's answer for
// each object, so AMBER+STRICT and RED never reach a consumer.
//
// Paging uses a stateless cursor: each object version takes the next number of its
// collection when it is added (sqlstore hands the numbers out in commit order), and
// `next` is the last number a page held. Nothing is kept between requests, any replica
// can serve the next page, and an object added while a client pages appears after the
// cursor: none is skipped or repeated (docs/taxii.md).
package taxii

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/stix"
	"csirtlink/internal/tlp"
)

// MediaType is TAXII 2.1's media type.
const MediaType = "application/taxii+json;version=2.1"

// Collection ids: fixed, so a client configured against one node's collection finds
// the same collection on every node.
const (
	// IndicatorsCollection holds our shared indicators.
	IndicatorsCollection = "3c1a0f6e-5b2d-4c8e-9f71-2a6d0b9e4c10"
	// InboxCollection takes what consumers with write access POST.
	InboxCollection = "9e7d4b21-6a3c-4f05-8d1e-7b5c2f0a3e98"
)

// Limits on requests.
const (
	// MaxPage is the most objects one page holds, and the page size when the client
	// names none.
	MaxPage = 1000
	// MaxContentLength bounds a POST body.
	MaxContentLength = 10 << 20
	// maxMatch bounds the values of one match filter.
	maxMatch = 100
)

var labels = []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red}

// timestampLayout is how TAXII timestamps (date_added) are written: microseconds, so
// that each object's date_added is its own (the store keeps them strictly increasing).
const timestampLayout = "2006-01-02T15:04:05.000000Z"

func formatAdded(t time.Time) string { return t.UTC().Format(timestampLayout) }

// formatVersion writes an object's version as its modified property is most likely
// written: milliseconds unless it has finer digits.
func formatVersion(t time.Time) string {
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.UTC().Format(stix.TimestampLayout)
	}
	return formatAdded(t)
}

func parseTimestamp(field, s string) (time.Time, error) {
	if !strings.HasSuffix(s, "Z") {
		return time.Time{}, fmt.Errorf("%s: %q is not a UTC timestamp ending in Z", field, s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 timestamp", field, s)
	}
	return t.UTC(), nil
}

// Cursor is the position a `next` names: after object number Seq of Collection.
type Cursor struct {
	Collection string
	Seq        int64
}

// Encode writes the cursor as an opaque token.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte("c1:" + c.Collection + ":" + strconv.FormatInt(c.Seq, 10)))
}

var errCursor = errors.New("next: not a cursor this server issued")

// DecodeCursor reads a token Encode wrote.
func DecodeCursor(s string) (Cursor, error) {
	if len(s) > 200 {
		return Cursor{}, errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, errCursor
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "c1" || parts[1] == "" {
		return Cursor{}, errCursor
	}
	seq, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || seq < 0 || strconv.FormatInt(seq, 10) != parts[2] {
		return Cursor{}, errCursor
	}
	return Cursor{Collection: parts[1], Seq: seq}, nil
}
