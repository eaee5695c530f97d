package cvd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/csaf"
	"csirtlink/internal/egress"
	"csirtlink/internal/tlp"
)

// Provider serves this node's advisories as a CSAF trusted provider (section 7):
// /.well-known/csaf/provider-metadata.json, a folder per TLP label and year with
// index.txt and changes.csv, a ROLIE feed per label, and beside each document its
// SHA-256, SHA-512 and OpenPGP signature. An advisory is listed and served only when
// the egress decision lets it go: TLP:WHITE (CLEAR) to anyone after the instant, other
// labels to an authenticated person of a team the label allows, after the instant too.
type Provider struct {
	s *Service
	// Sign makes the armored detached OpenPGP signature of a document; PublicKey is the
	// armored key it is checked with, and Fingerprint its fingerprint.
	Sign        func([]byte) (string, error)
	PublicKey   string
	Fingerprint string
	// Authenticated reports the team of the person a request is signed in as (a
	// bearer token), or "" for an anonymous request.
	Authenticated func(*http.Request) string
}

// NewProvider serves s's advisories.
func NewProvider(s *Service) *Provider { return &Provider{s: s} }

// Register mounts the provider's paths.
func (p *Provider) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/csaf/provider-metadata.json", p.metadata)
	mux.HandleFunc("GET /.well-known/csaf/openpgp/key.asc", p.key)
	mux.HandleFunc("GET /.well-known/csaf/{folder}/{rest...}", p.folder)
	mux.HandleFunc("GET /.well-known/security.txt", p.securityTxt)
}

func (p *Provider) base(r *http.Request) string {
	if u := p.s.dir.Self.URL; u != "" {
		return strings.TrimSuffix(u, "/")
	}
	return "http://" + r.Host
}

// file is one published document.
type file struct {
	path    string // folder/year/name.json
	doc     csaf.Document
	body    []byte
	release time.Time
	title   string
}

// files lists the documents in a TLP folder that the egress decision lets go to the
// requester now.
func (p *Provider) files(ctx context.Context, folder, team string) ([]file, error) {
	to := egress.Destination{Kind: egress.Publication}
	if folder != "white" {
		if team == "" {
			return nil, nil
		}
		to = egress.Destination{Kind: egress.Export, Team: team, Ceiling: tlp.Red}
	}
	cases, err := p.s.Publishable(ctx, to)
	if err != nil {
		return nil, err
	}
	var out []file
	for _, c := range cases {
		if tlpFolder(c.AdvisoryTLP) != folder {
			continue
		}
		for _, lang := range p.s.MyLanguages(c) {
			for _, cat := range []string{csaf.SecurityAdvisory, csaf.VEX} {
				doc := p.s.Advisory(c, lang, cat)
				body, err := json.MarshalIndent(doc, "", "  ")
				if err != nil {
					return nil, fmt.Errorf("cvd: advisory %s: %w", doc.Document.Tracking.ID, err)
				}
				out = append(out, file{path: AdvisoryPath(c, lang, cat), doc: doc, body: body,
					release: doc.Document.Tracking.CurrentReleaseDate, title: doc.Document.Title})
			}
		}
	}
	// Newest first, as changes.csv wants them.
	slices.SortFunc(out, func(a, b file) int {
		if c := b.release.Compare(a.release); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	return out, nil
}

var folders = []string{"white", "green", "amber", "red"}

func (p *Provider) metadata(w http.ResponseWriter, r *http.Request) {
	base := p.base(r)
	m := csaf.ProviderMetadata{CanonicalURL: base + "/.well-known/csaf/provider-metadata.json", MetadataVersion: "2.0",
		Role: "csaf_trusted_provider", ListOnCSAFAggregators: true, MirrorOnCSAFAggregators: true,
		Publisher: p.s.Advisory(Case{}, "en", csaf.SecurityAdvisory).Document.Publisher, LastUpdated: p.s.clock.Now().UTC().Truncate(time.Second)}
	var feeds []csaf.FeedInfo
	for _, f := range folders {
		feeds = append(feeds, csaf.FeedInfo{Summary: "TLP:" + strings.ToUpper(f) + " advisories", TLPLabel: strings.ToUpper(f),
			URL: base + "/.well-known/csaf/" + f + "/feed-tlp-" + f + ".json"})
	}
	m.Distributions = []csaf.DistributionInfo{{DirectoryURL: base + "/.well-known/csaf/white/", ROLIE: &csaf.ROLIE{Feeds: feeds}}}
	if p.PublicKey != "" {
		m.PublicOpenPGPKeys = []csaf.OpenPGPKey{{Fingerprint: p.Fingerprint, URL: base + "/.well-known/csaf/openpgp/key.asc"}}
	}
	// The listing of the white folder's newest advisory dates the metadata.
	if fs, err := p.files(r.Context(), "white", ""); err == nil && len(fs) > 0 && fs[0].release.After(time.Time{}) {
		m.LastUpdated = fs[0].release
	}
	writeJSONFile(w, m)
}

func (p *Provider) key(w http.ResponseWriter, _ *http.Request) {
	if p.PublicKey == "" {
		http.NotFound(w, nil)
		return
	}
	w.Header().Set("Content-Type", "application/pgp-keys")
	w.Write([]byte(p.PublicKey))
}

func (p *Provider) securityTxt(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Contact: mailto:%s\nCSAF: %s/.well-known/csaf/provider-metadata.json\n", p.s.dir.Self.HotlineEmail, p.base(r))
}

// folder serves index.txt, changes.csv, the ROLIE feed and each document with its hash
// and signature files. Anything not listed now answers 404: before the instant a
// document does not exist as far as any reader can tell.
func (p *Provider) folder(w http.ResponseWriter, r *http.Request) {
	folder, rest := r.PathValue("folder"), r.PathValue("rest")
	if !slices.Contains(folders, folder) {
		http.NotFound(w, r)
		return
	}
	team := ""
	if folder != "white" {
		if p.Authenticated != nil {
			team = p.Authenticated(r)
		}
		if team == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="csirtlink"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	fs, err := p.files(r.Context(), folder, team)
	if err != nil {
		p.s.log.Error("csaf provider", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	base := p.base(r) + "/.well-known/csaf/"
	switch rest {
	case "index.txt":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, f := range fs {
			fmt.Fprintln(w, strings.TrimPrefix(f.path, folder+"/"))
		}
		return
	case "changes.csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		for _, f := range fs {
			fmt.Fprintf(w, "%q,%q\n", strings.TrimPrefix(f.path, folder+"/"), f.release.UTC().Format(time.RFC3339))
		}
		return
	case "feed-tlp-" + folder + ".json":
		feed := csaf.Feed{Feed: csaf.FeedBody{ID: p.s.Self() + "-csaf-feed-tlp-" + folder, Title: p.s.dir.Self.Name + " CSAF feed (TLP:" + strings.ToUpper(folder) + ")",
			Link:     []csaf.Link{{Rel: "self", Href: base + folder + "/" + rest}},
			Category: []csaf.Category{{Scheme: "urn:ietf:params:rolie:category:information-type", Term: "csaf"}},
			Updated:  p.s.clock.Now().UTC().Truncate(time.Second), Entry: []csaf.FeedEntry{}}}
		for _, f := range fs {
			u := base + f.path
			feed.Feed.Entry = append(feed.Feed.Entry, csaf.FeedEntry{ID: f.doc.Document.Tracking.ID, Title: f.title,
				Link:      []csaf.Link{{Rel: "self", Href: u}, {Rel: "hash", Href: u + ".sha256"}, {Rel: "hash", Href: u + ".sha512"}, {Rel: "signature", Href: u + ".asc"}},
				Published: f.release, Updated: f.release, Content: csaf.Content{Type: "application/json", Src: u},
				Format: csaf.Format{Schema: "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json", Version: "2.0"}})
		}
		writeJSONFile(w, feed)
		return
	}
	for _, f := range fs {
		name := strings.TrimPrefix(f.path, folder+"/")
		switch rest {
		case name:
			w.Header().Set("Content-Type", "application/json")
			w.Write(f.body)
		case name + ".sha256":
			sum := sha256.Sum256(f.body)
			fmt.Fprintf(w, "%s  %s\n", hex.EncodeToString(sum[:]), lastPart(name))
		case name + ".sha512":
			sum := sha512.Sum512(f.body)
			fmt.Fprintf(w, "%s  %s\n", hex.EncodeToString(sum[:]), lastPart(name))
		case name + ".asc":
			if p.Sign == nil {
				http.NotFound(w, r)
				return
			}
			sig, err := p.Sign(f.body)
			if err != nil {
				p.s.log.Error("csaf provider: sign", "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/pgp-signature")
			w.Write([]byte(sig))
		default:
			continue
		}
		return
	}
	http.NotFound(w, r)
}

func lastPart(p string) string { return p[strings.LastIndex(p, "/")+1:] }

func writeJSONFile(w http.ResponseWriter, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}
