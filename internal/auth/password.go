package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Argon2id parameters for new hashes: OWASP's first recommendation (19 MiB, 2 passes,
// 1 lane), about 30 ms on one core. Stored hashes carry their own parameters, so these
// can be raised later; CheckPassword then reports that a hash needs rehashing.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Password length limits, in characters. The upper one bounds the work a sign-in
// attempt can cause.
const (
	MinPassword = 12
	MaxPassword = 256
)

// ErrBadPassword means a password does not match its hash.
var ErrBadPassword = errors.New("auth: wrong password")

// HashPassword returns the argon2id hash of password in the PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	return hashWith(password, salt, argonMemory, argonTime, argonThreads)
}

func hashWith(password string, salt []byte, mem, iter uint32, threads uint8) (string, error) {
	key := argon2.IDKey([]byte(password), salt, iter, mem, threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, mem, iter, threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash (nil, or ErrBadPassword), and
// whether the hash was made with other parameters than today's and should be replaced.
func CheckPassword(hash, password string) (rehash bool, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errors.New("auth: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("auth: argon2 version %q", parts[2])
	}
	var mem, iter uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil {
		return false, fmt.Errorf("auth: argon2 parameters %q", parts[3])
	}
	// Bound what a hash found in the database can make us spend.
	if mem < 8 || mem > 1<<21 || iter < 1 || iter > 16 || threads < 1 {
		return false, fmt.Errorf("auth: argon2 parameters %q out of range", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("auth: argon2 salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, errors.New("auth: argon2 key")
	}
	got := argon2.IDKey([]byte(password), salt, iter, mem, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, ErrBadPassword
	}
	rehash = mem != argonMemory || iter != argonTime || threads != argonThreads || len(want) != argonKeyLen
	return rehash, nil
}

// dummyHash is checked when a sign-in names no known user, so that the answer takes as
// long as for a real user and does not tell which names exist.
var dummyHash, _ = HashPassword("csirtlink dummy password")

// WastePasswordCheck spends the time of one password check.
func WastePasswordCheck(password string) { CheckPassword(dummyHash, password) }

// ValidatePassword checks a new password's length.
func ValidatePassword(field, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return problem.Invalid(field, "not valid UTF-8")
	case n < MinPassword:
		return problem.Invalid(field, "shorter than %d characters", MinPassword)
	case n > MaxPassword:
		return problem.Invalid(field, "longer than %d characters", MaxPassword)
	}
	return nil
}

// SetPassword stores a new password hash for a user. It ends no session: Service.SetPassword,
// for an administrator's reset, does; the console ends the others when a person changes their own.
func SetPassword(ctx context.Context, st store.Passwords, userID, password string) error {
	if err := ValidatePassword("password", password); err != nil {
		return err
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	return st.SetPasswordHash(ctx, userID, h)
}

// GeneratePassword makes a random password of 20 characters from an alphabet without
// look-alikes (no 0/O, 1/l/I), readable over the phone at 3 a.m.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY23456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:5]) + "-" + string(b[5:10]) + "-" + string(b[10:15]) + "-" + string(b[15:])
}
