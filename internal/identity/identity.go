// Package identity holds a node's Ed25519 signing key and verifies other nodes' signatures.
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Key is a node's private signing key. Copies of a Key share it: after Rotate, every
// holder (federation, services, the audit checkpointer) signs with the new key, so a
// node changes its key without a restart.
type Key struct {
	s *keyState
}

type keyState struct {
	mu   sync.RWMutex
	priv ed25519.PrivateKey
}

func newKey(priv ed25519.PrivateKey) Key { return Key{s: &keyState{priv: priv}} }

func (k Key) private() ed25519.PrivateKey {
	k.s.mu.RLock()
	defer k.s.mu.RUnlock()
	return k.s.priv
}

// Rotate makes next's private key this key's (for every copy), and returns a Key
// holding the former one.
func (k Key) Rotate(next Key) (old Key) {
	np := next.private()
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	old = newKey(k.s.priv)
	k.s.priv = np
	return old
}

// PublicKey is the public half of the key.
func (k Key) PublicKey() ed25519.PublicKey { return k.private().Public().(ed25519.PublicKey) }

// Generate makes a new random key.
func Generate() (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("identity: generate key: %w", err)
	}
	return newKey(priv), nil
}

// Sign signs msg.
func (k Key) Sign(msg []byte) []byte { return ed25519.Sign(k.private(), msg) }

// Public returns the public key in the form peers put in their configuration.
func (k Key) Public() string {
	return EncodePublic(k.PublicKey())
}

// Save writes the key as a PKCS#8 PEM file readable only by its owner.
func (k Key) Save(path string) error {
	der, err := x509.MarshalPKCS8PrivateKey(k.private())
	if err != nil {
		return fmt.Errorf("identity: encode key: %w", err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	// O_EXCL: never overwrite an existing identity by accident; peers trust its public half.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("identity: save key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("identity: save key: %w", err)
	}
	return f.Close()
}

// Replace writes the key to path in place of the one there, atomically (a new file
// renamed over the old): a rotated key must never be half-written.
func (k Key) Replace(path string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
	os.Remove(tmp)
	if err := k.Save(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("identity: replace key: %w", err)
	}
	return nil
}

// Load reads a key written by Save.
func Load(path string) (Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("identity: load key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return Key{}, fmt.Errorf("identity: load key %s: no PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return Key{}, fmt.Errorf("identity: load key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return Key{}, fmt.Errorf("identity: load key %s: not an Ed25519 key", path)
	}
	return newKey(priv), nil
}

// EncodePublic renders a public key as unpadded standard base64.
func EncodePublic(pub ed25519.PublicKey) string {
	return base64.RawStdEncoding.EncodeToString(pub)
}

// ParsePublic reads a public key written by EncodePublic (padding optional).
func ParsePublic(s string) (ed25519.PublicKey, error) {
	b, err := base64.RawStdEncoding.DecodeString(trimPad(s))
	if err != nil {
		return nil, fmt.Errorf("identity: public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, errors.New("identity: public key: want 32 bytes")
	}
	return ed25519.PublicKey(b), nil
}

func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// Verify reports whether sig is pub's signature of msg.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
}

// RandomID returns n random bytes in hex: the ids of records a node makes (entries,
// notifications, tokens), unguessable and unique without coordination.
func RandomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
