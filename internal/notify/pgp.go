package notify

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// maxArmoredKey bounds the armored key text we parse. Keys come from partner
// teams and users; a real key with a few subkeys and signatures is a few KiB,
// so 1 MiB leaves room for heavily certified keys without letting a pasted
// blob make the parser chew on megabytes.
const maxArmoredKey = 1 << 20

// pgpConfig is the one OpenPGP configuration for everything this package
// writes. EdDSA/Curve25519 (v4 keys, SEIPDv1) is read by every current
// OpenPGP client including GnuPG 2.2, which does not read RFC 9580 v6 keys or
// AEAD packets yet; partners must be able to decrypt a page on whatever they
// already run. AES-256 and SHA-256 are preferred. No compression: it saves
// little on short texts and compress-then-encrypt can leak length patterns.
//
// Time is left to the system clock on purpose: go-crypto refuses keys and
// signatures dated after "now", and the recipient's client judges validity
// against real time too, so an injected test clock must not reach here.
func pgpConfig() *packet.Config {
	return &packet.Config{
		Algorithm:              packet.PubKeyAlgoEdDSA,
		Curve:                  packet.Curve25519,
		DefaultHash:            crypto.SHA256,
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
	}
}

// GenerateKey creates a new OpenPGP key (EdDSA primary key for signing, X25519
// subkey for encryption) for a node or a person. The key does not expire: a
// hotline key that lapses silently would stop pages from being signed or read;
// rotation is an operator decision, made by generating a new key.
func GenerateKey(name, email string) (*openpgp.Entity, error) {
	if strings.ContainsAny(name, "()<>\x00\r\n") {
		return nil, fieldErr("name", "must not contain any of ()<> or control characters")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return nil, fieldErr("email", "%q is not a bare e-mail address", email)
	}
	e, err := openpgp.NewEntity(name, "", email, pgpConfig())
	if err != nil {
		return nil, fmt.Errorf("notify: generate OpenPGP key: %w", err)
	}
	return e, nil
}

// ArmorPublic returns the ASCII-armored public key (a "PUBLIC KEY BLOCK") of e,
// the form partners publish and exchange.
func ArmorPublic(e *openpgp.Entity) (string, error) {
	if e == nil || e.PrimaryKey == nil {
		return "", fieldErr("entity", "no key")
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return "", fmt.Errorf("notify: armor public key: %w", err)
	}
	if err := e.Serialize(w); err != nil {
		return "", fmt.Errorf("notify: serialize public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("notify: armor public key: %w", err)
	}
	return buf.String(), nil
}

// ArmorPrivate returns the ASCII-armored private key of e, for storing a
// node's signing key. The existing self-signatures are kept as they are (no
// re-signing), so a key read back is byte-for-byte the key that was generated
// and an encrypted private key can be serialized without its passphrase.
func ArmorPrivate(e *openpgp.Entity) (string, error) {
	if e == nil || e.PrimaryKey == nil || e.PrivateKey == nil {
		return "", fieldErr("entity", "no private key")
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return "", fmt.Errorf("notify: armor private key: %w", err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		return "", fmt.Errorf("notify: serialize private key: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("notify: armor private key: %w", err)
	}
	return buf.String(), nil
}

// ReadArmoredKey parses an armored public or private key block and returns
// its first key. Whether the key can encrypt is checked where it is used for
// encryption (Mailer.Send), since a signing-only key is fine for verifying.
func ReadArmoredKey(s string) (*openpgp.Entity, error) {
	if len(s) > maxArmoredKey {
		return nil, fieldErr("key", "armored key is %d bytes; the limit is %d", len(s), maxArmoredKey)
	}
	if strings.TrimSpace(s) == "" {
		return nil, fieldErr("key", "empty")
	}
	list, err := openpgp.ReadArmoredKeyRing(strings.NewReader(s))
	if err != nil {
		return nil, fieldErr("key", "not a readable armored OpenPGP key: %v", err)
	}
	if len(list) == 0 || list[0] == nil || list[0].PrimaryKey == nil {
		return nil, fieldErr("key", "the armored block holds no key")
	}
	return list[0], nil
}

// Fingerprint returns the fingerprint of the first key in an armored key
// block as upper-case hex without spaces (40 digits for a v4 key), the form
// people compare over the phone and that GnuPG prints with --with-colons.
func Fingerprint(armoredPublic string) (string, error) {
	e, err := ReadArmoredKey(armoredPublic)
	if err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint)), nil
}

// micalg names the hash of a detached signature for the micalg parameter of
// multipart/signed (RFC 3156 section 5), which must match the hash actually
// used; go-crypto may pick another hash than the configured one when the
// signing key's preferences say so, so it is read back from the signature.
func micalg(sig []byte) (string, error) {
	p, err := packet.Read(bytes.NewReader(sig))
	if err != nil {
		return "", fmt.Errorf("read back signature: %w", err)
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return "", errors.New("read back signature: not a signature packet")
	}
	switch s.Hash {
	case crypto.SHA256:
		return "pgp-sha256", nil
	case crypto.SHA384:
		return "pgp-sha384", nil
	case crypto.SHA512:
		return "pgp-sha512", nil
	case crypto.SHA224:
		return "pgp-sha224", nil
	case crypto.SHA3_256:
		return "pgp-sha3-256", nil
	case crypto.SHA3_512:
		return "pgp-sha3-512", nil
	}
	return "", fmt.Errorf("signature uses hash %v, which has no micalg name here", s.Hash)
}

// armorBytes wraps binary OpenPGP data in ASCII armor of the given block type.
func armorBytes(blockType string, data []byte) (string, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, blockType, nil)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}
