package partner

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"csirtlink/internal/identity"
	"csirtlink/internal/team"
	"csirtlink/internal/wire"
)

// IntroductionPath is where a node publishes its signed introduction.
const IntroductionPath = "/federation/v1/introduction"

// Domain tags: what each signature is over, so that no signature made for one
// purpose can be replayed for another.
const (
	tagIntroduction = "csirtlink/introduction/v1\x00"
	tagRotation     = "csirtlink/key-rotation/v1\x00"
)

// signDocument signs a document's bytes under tag.
func signDocument(sign func([]byte) []byte, tag string, doc []byte) []byte {
	return sign(append([]byte(tag), doc...))
}

func verifyDocument(pub ed25519.PublicKey, tag string, doc, sig []byte) bool {
	return identity.Verify(pub, append([]byte(tag), doc...), sig)
}

// Introduction is this node's introduction document, signed with its node key.
func (s *Service) Introduction(ctx context.Context) ([]byte, error) {
	own, err := s.Own(ctx)
	if err != nil {
		return nil, err
	}
	self := s.dir.Self
	doc, err := wire.EncodeIntroduction(wire.Introduction{Team: self.ID, Name: self.Name, URL: self.URL,
		PublicKey: s.key.Public(), PGPKey: self.PGPKey, HotlineEmail: self.HotlineEmail, Timezone: self.Timezone,
		Languages: nonNil(self.Languages), Constituency: own, At: s.clock.Now().UTC()})
	if err != nil {
		return nil, err
	}
	return wire.EncodeSignedDocument(wire.SignedDocument{Document: doc, Signature: signDocument(s.key.Sign, tagIntroduction, doc)})
}

// IntroductionHandler serves GET /federation/v1/introduction. It needs no signature
// from the caller: what it says is public, and the reader trusts it only after the
// safety number is read out over another channel.
func (s *Service) IntroductionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := s.Introduction(r.Context())
		if err != nil {
			s.log.Error("introduction", "err", err)
			http.Error(w, "introduction unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	})
}

// ParseIntroduction decodes a signed introduction and checks it is signed by the key it
// names, and that the team it describes is well formed.
func ParseIntroduction(b []byte) (wire.Introduction, error) {
	sd, err := wire.DecodeSignedDocument(b)
	if err != nil {
		return wire.Introduction{}, err
	}
	in, err := wire.DecodeIntroduction(sd.Document)
	if err != nil {
		return in, err
	}
	pub, err := identity.ParsePublic(in.PublicKey)
	if err != nil {
		return in, fmt.Errorf("introduction: public_key: %w", err)
	}
	if !verifyDocument(pub, tagIntroduction, sd.Document, sd.Signature) {
		return in, errors.New("introduction: signature does not verify with the key it names")
	}
	if in.Constituency.Team != in.Team {
		return in, fmt.Errorf("introduction: constituency: team %q, not %q", in.Constituency.Team, in.Team)
	}
	if err := peerOf(in).Validate(); err != nil {
		return in, fmt.Errorf("introduction: %w", err)
	}
	return in, nil
}

// peerOf is the directory entry an introduction describes.
func peerOf(in wire.Introduction) team.Peer {
	c := in.Constituency
	vu := c.ValidUntil
	return team.Peer{Team: team.Team{ID: in.Team, Name: in.Name, URL: in.URL, PublicKey: in.PublicKey, PGPKey: in.PGPKey,
		HotlineEmail: in.HotlineEmail, Timezone: in.Timezone, Languages: in.Languages,
		Countries: c.Countries, ASNs: c.ASNs, Networks: c.Networks, Domains: c.Domains},
		ConstituencyVersion: c.Serial, ValidUntil: &vu}
}

// fetchIntroduction reads a node's introduction from its federation URL.
func (s *Service) fetchIntroduction(ctx context.Context, base string) (wire.Introduction, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+IntroductionPath, nil)
	if err != nil {
		return wire.Introduction{}, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return wire.Introduction{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return wire.Introduction{}, fmt.Errorf("%s answered %s", base, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxSignedDocument+1))
	if err != nil {
		return wire.Introduction{}, err
	}
	return ParseIntroduction(b)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// SignIntroduction makes a signed introduction document for a team whose key is key:
// what a node serves, for tools and the demo that hand one over without a node.
func SignIntroduction(key identity.Key, in wire.Introduction) ([]byte, error) {
	in.PublicKey = key.Public()
	doc, err := wire.EncodeIntroduction(in)
	if err != nil {
		return nil, err
	}
	return wire.EncodeSignedDocument(wire.SignedDocument{Document: doc, Signature: signDocument(key.Sign, tagIntroduction, doc)})
}
