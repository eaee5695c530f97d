package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Envelope types of the partner directory.
const (
	TypeConstituency = "constituency.update"
	TypeKeyRotation  = "key.rotate"
	TypeVerifyAsk    = "directory.verify"
)

// Not envelope kinds: documents a node publishes and signs by itself.
const (
	TypeIntroduction = "introduction"
)

// PartnerVersion is the version of the partner directory's payloads this node speaks.
const PartnerVersion = 1

// Constituency is what a team answers for, as it publishes it: the
// "constituency.update" payload (TLP:GREEN, to every community peer) and part of its
// introduction. Version increases with every change; ValidUntil is when the team
// promises to have confirmed it again.
type Constituency struct {
	Version    int       `json:"v"`
	Team       string    `json:"team"`
	Serial     int64     `json:"serial"`
	Countries  []string  `json:"countries"`
	ASNs       []uint32  `json:"asns"`
	Networks   []string  `json:"networks"`
	Domains    []string  `json:"domains"`
	ValidUntil time.Time `json:"valid_until"`
}

func (c *Constituency) version() int { return c.Version }

// EncodeConstituency encodes a "constituency.update" payload.
func EncodeConstituency(c Constituency) ([]byte, error) {
	c.Version = PartnerVersion
	return encode(TypeConstituency, c)
}

// DecodeConstituency decodes a "constituency.update" payload.
func DecodeConstituency(b []byte) (Constituency, error) {
	var c Constituency
	err := decode(TypeConstituency, b, &c, PartnerVersion)
	return c, err
}

// Introduction is what a node publishes at GET /federation/v1/introduction, signed
// with its node key: enough for another team to add it as a pending partner.
type Introduction struct {
	Version      int          `json:"v"`
	Team         string       `json:"team"`
	Name         string       `json:"name"`
	URL          string       `json:"url"`
	PublicKey    string       `json:"public_key"`
	PGPKey       string       `json:"pgp_key"`
	HotlineEmail string       `json:"hotline_email"`
	Timezone     string       `json:"timezone"`
	Languages    []string     `json:"languages"`
	Constituency Constituency `json:"constituency"`
	At           time.Time    `json:"at"`
}

func (i *Introduction) version() int { return i.Version }

// EncodeIntroduction encodes an introduction at the current version.
func EncodeIntroduction(i Introduction) ([]byte, error) {
	i.Version = PartnerVersion
	i.Constituency.Version = PartnerVersion
	return encode(TypeIntroduction, i)
}

// DecodeIntroduction decodes an introduction (its signature is checked by the caller,
// who knows the key it claims).
func DecodeIntroduction(b []byte) (Introduction, error) {
	var i Introduction
	if err := decode(TypeIntroduction, b, &i, PartnerVersion); err != nil {
		return i, err
	}
	if i.Constituency.Version != PartnerVersion {
		return i, fmt.Errorf("wire: introduction: constituency version %d, this node speaks %d", i.Constituency.Version, PartnerVersion)
	}
	return i, nil
}

// KeyRotation is the "key.rotate" payload: a team's statement that it signs with a new
// key from At on, signed by the old key and by the new one (each over the statement's
// canonical bytes), so that neither a thief of the old key alone nor a holder of a new
// key alone can make one.
type KeyRotation struct {
	Version int       `json:"v"`
	Team    string    `json:"team"`
	OldKey  string    `json:"old_key"`
	NewKey  string    `json:"new_key"`
	At      time.Time `json:"at"`
	OldSig  []byte    `json:"old_sig"`
	NewSig  []byte    `json:"new_sig"`
}

func (k *KeyRotation) version() int { return k.Version }

// EncodeKeyRotation encodes a "key.rotate" payload.
func EncodeKeyRotation(k KeyRotation) ([]byte, error) {
	k.Version = PartnerVersion
	return encode(TypeKeyRotation, k)
}

// DecodeKeyRotation decodes a "key.rotate" payload (signatures are checked by the caller).
func DecodeKeyRotation(b []byte) (KeyRotation, error) {
	var k KeyRotation
	err := decode(TypeKeyRotation, b, &k, PartnerVersion)
	return k, err
}

// VerifyAsk is the "directory.verify" payload: a partner asks us to confirm the entry
// it holds for us (a low-severity task for our admins), or we answer that we did.
type VerifyAsk struct {
	Version int       `json:"v"`
	Team    string    `json:"team"`
	Kind    string    `json:"kind"` // ask, confirm or hotline
	Serial  int64     `json:"serial"`
	At      time.Time `json:"at"`
	// Code, for kind hotline, is the code the receiver mailed to our hotline address,
	// returned to prove the address reaches us. Optional: payloads before it decode.
	Code string `json:"code,omitempty"`
}

// VerifyHotline is the VerifyAsk kind that returns a mailed hotline code.
const VerifyHotline = "hotline"

func (v *VerifyAsk) version() int { return v.Version }

// EncodeVerifyAsk encodes a "directory.verify" payload.
func EncodeVerifyAsk(v VerifyAsk) ([]byte, error) {
	v.Version = PartnerVersion
	return encode(TypeVerifyAsk, v)
}

// DecodeVerifyAsk decodes a "directory.verify" payload.
func DecodeVerifyAsk(b []byte) (VerifyAsk, error) {
	var v VerifyAsk
	err := decode(TypeVerifyAsk, b, &v, PartnerVersion)
	return v, err
}

// SignedDocument is how a node serves a document it signs by itself: the document's
// exact bytes (base64) and the signature over them under a domain tag.
type SignedDocument struct {
	Document  []byte `json:"document"`
	Signature []byte `json:"signature"`
}

// MaxSignedDocument caps a signed document fetched from another node.
const MaxSignedDocument = 256 << 10

// DecodeSignedDocument reads a signed document strictly.
func DecodeSignedDocument(b []byte) (SignedDocument, error) {
	var d SignedDocument
	if len(b) > MaxSignedDocument {
		return d, fmt.Errorf("wire: signed document larger than %d bytes", MaxSignedDocument)
	}
	if err := decodeStrict("signed document", b, &d); err != nil {
		return d, err
	}
	if len(d.Document) == 0 || len(d.Signature) == 0 {
		return d, errors.New("wire: signed document: document and signature required")
	}
	return d, nil
}

// EncodeSignedDocument encodes a signed document.
func EncodeSignedDocument(d SignedDocument) ([]byte, error) { return json.Marshal(d) }
