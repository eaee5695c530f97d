package misp

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// FeedPath is where a node serves its MISP feed; a MISP instance is configured with
// FeedPath as the feed's URL and the token as a custom header.
const FeedPath = "/misp/feed"

// FeedSource gives the events of a named feed: what its audience may have.
type FeedSource interface {
	FeedEvents(ctx context.Context, feed string) ([]Event, error)
}

// FeedToken is a feed as configured: its name and the hex SHA-256 of its token.
type FeedToken struct {
	Name string
	Hash string
}

// HashToken is the form a feed token is stored in: the hex SHA-256 of the token.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// ManifestEntry is one event in manifest.json, as MISP's feed reader expects: enough to
// list the event and to tell from its timestamp whether the copy it holds is current.
type ManifestEntry struct {
	Orgc          Org    `json:"Orgc"`
	Tag           []Tag  `json:"Tag"`
	Info          string `json:"info"`
	Date          string `json:"date"`
	Analysis      Num    `json:"analysis"`
	ThreatLevelID Num    `json:"threat_level_id"`
	Timestamp     Num    `json:"timestamp"`
}

// Manifest is manifest.json of events: one entry per event uuid.
func Manifest(events []Event) ([]byte, error) {
	m := map[string]ManifestEntry{}
	for _, e := range events {
		tags := e.Tags
		if tags == nil {
			tags = []Tag{}
		}
		m[e.UUID] = ManifestEntry{Orgc: e.Orgc, Tag: tags, Info: e.Info, Date: e.Date, Analysis: e.Analysis,
			ThreatLevelID: e.ThreatLevelID, Timestamp: e.Timestamp}
	}
	return Marshal(m)
}

// Hashes is hashes.csv of events: a line "md5 of the value,event uuid" for every
// attribute not deleted, which MISP uses to correlate without fetching the events.
func Hashes(events []Event) []byte {
	var b bytes.Buffer
	line := func(v, uuid string) {
		for _, part := range strings.Split(v, "|") {
			h := md5.Sum([]byte(part))
			fmt.Fprintf(&b, "%s,%s\n", hex.EncodeToString(h[:]), uuid)
		}
	}
	for _, e := range events {
		for _, a := range e.Attributes {
			if !a.Deleted {
				line(a.Value, e.UUID)
			}
		}
		for _, o := range e.Objects {
			for _, a := range o.Attributes {
				if !a.Deleted && !o.Deleted {
					line(a.Value, e.UUID)
				}
			}
		}
	}
	return b.Bytes()
}

// FeedHandler serves the feeds: manifest.json, hashes.csv and {uuid}.json under
// FeedPath, each to the bearer of a feed's token (in the Authorization header, with or
// without "Bearer ", as MISP's custom feed headers send it) and with that feed's events.
func FeedHandler(src FeedSource, feeds []FeedToken, log *slog.Logger) http.Handler {
	hashes := make([][]byte, len(feeds))
	for i, f := range feeds {
		hashes[i], _ = hex.DecodeString(f.Hash)
	}
	feedOf := func(r *http.Request) (string, bool) {
		tok := strings.TrimSpace(r.Header.Get("Authorization"))
		if v, ok := strings.CutPrefix(tok, "Bearer "); ok {
			tok = strings.TrimSpace(v)
		}
		if tok == "" {
			return "", false
		}
		h := sha256.Sum256([]byte(tok))
		name, found := "", 0
		for i, want := range hashes {
			if len(want) == sha256.Size && subtle.ConstantTimeCompare(h[:], want) == 1 {
				name, found = feeds[i].Name, found+1
			}
		}
		return name, found == 1
	}
	fail := func(w http.ResponseWriter, status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="csirtlink MISP feed"`)
		}
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
		w.Write(append(b, '\n'))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := feedOf(r)
		if !ok {
			fail(w, http.StatusUnauthorized, "unauthorized", "a MISP feed token is required in the Authorization header")
			return
		}
		file, ok := strings.CutPrefix(r.URL.Path, FeedPath+"/")
		if !ok || strings.Contains(file, "/") {
			fail(w, http.StatusNotFound, "not_found", "no such feed file")
			return
		}
		events, err := src.FeedEvents(r.Context(), name)
		if err != nil {
			log.Error("misp feed", "feed", name, "err", err)
			fail(w, http.StatusInternalServerError, "internal", "the feed could not be made")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		switch file {
		case "manifest.json":
			b, err := Manifest(events)
			if err != nil {
				fail(w, http.StatusInternalServerError, "internal", "the manifest could not be made")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
			return
		case "hashes.csv":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Write(Hashes(events))
			return
		}
		uuid, ok := strings.CutSuffix(file, ".json")
		if ok && ValidUUID(uuid) {
			for _, e := range events {
				if strings.EqualFold(e.UUID, uuid) {
					b, err := Encode(e)
					if err != nil {
						fail(w, http.StatusInternalServerError, "internal", "the event could not be made")
						return
					}
					w.Header().Set("Content-Type", "application/json")
					w.Write(b)
					return
				}
			}
		}
		fail(w, http.StatusNotFound, "not_found", "no such event in this feed")
	})
}

// ErrNoFeed is the error of a feed name that is not configured.
var ErrNoFeed = errors.New("misp: no such feed")
