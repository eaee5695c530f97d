package app

import (
	"bytes"
	"net/http"
	"strings"

	"csirtlink/internal/auth"
	"csirtlink/internal/cvd"
	"csirtlink/internal/notify"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// csafProvider serves the node's CSAF advisories, signed with the node's OpenPGP key
// (the one its hotline mail is signed with), and lets this node's signed-in people
// read the folders behind authentication.
func csafProvider(s *cvd.Service, a *auth.Service, pgpKeyFile, pgpPublic string) (*cvd.Provider, error) {
	p := cvd.NewProvider(s)
	signer, err := readPGP(pgpKeyFile)
	if err != nil {
		return nil, err
	}
	p.PublicKey = pgpPublic
	p.Fingerprint, _ = notify.Fingerprint(pgpPublic)
	p.Sign = func(b []byte) (string, error) {
		var out bytes.Buffer
		if err := openpgp.ArmoredDetachSign(&out, signer, bytes.NewReader(b), nil); err != nil {
			return "", err
		}
		return out.String(), nil
	}
	p.Authenticated = func(r *http.Request) string {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return ""
		}
		if _, err := a.Authenticate(r.Context(), strings.TrimSpace(tok)); err != nil {
			return ""
		}
		return s.Self()
	}
	return p, nil
}
