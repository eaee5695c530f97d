package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not PHC argon2id with today's parameters", h)
	}
	if rehash, err := CheckPassword(h, "correct horse battery staple"); err != nil || rehash {
		t.Errorf("right password: rehash %v, err %v", rehash, err)
	}
	if _, err := CheckPassword(h, "correct horse battery stapler"); !errors.Is(err, ErrBadPassword) {
		t.Errorf("wrong password: %v", err)
	}
	h2, _ := HashPassword("correct horse battery staple")
	if h == h2 {
		t.Errorf("two hashes of one password are equal: salt missing")
	}
	// A hash made with other parameters still checks, and asks to be replaced.
	old := "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$" // RFC 9106-style parameters
	if _, err := CheckPassword(old+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x"); !errors.Is(err, ErrBadPassword) {
		t.Errorf("foreign-parameter hash: %v", err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$a$b", "$argon2id$v=19$m=99999999,t=1,p=1$YQ$YWFhYWFhYWFhYWFhYWFhYQ"} {
		if _, err := CheckPassword(bad, "x"); err == nil || errors.Is(err, ErrBadPassword) {
			t.Errorf("malformed hash %q: %v", bad, err)
		}
	}
}

func TestPasswordRehash(t *testing.T) {
	// A known argon2id hash of "password" with m=16,t=1,p=1 (small, so the test is fast).
	key := "$argon2id$v=19$m=16,t=1,p=1$"
	h, err := hashWith("password", []byte("saltsaltsaltsalt"), 16, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, key) {
		t.Fatalf("hash %q", h)
	}
	if rehash, err := CheckPassword(h, "password"); err != nil || !rehash {
		t.Errorf("weak hash: rehash %v, err %v", rehash, err)
	}
}

func TestGeneratePassword(t *testing.T) {
	p := GeneratePassword()
	if err := ValidatePassword("password", p); err != nil {
		t.Errorf("generated %q: %v", p, err)
	}
	if p == GeneratePassword() {
		t.Errorf("two generated passwords are equal")
	}
	if ValidatePassword("password", "short") == nil {
		t.Errorf("short password accepted")
	}
}
