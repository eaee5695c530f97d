package wire

import (
	"os"
	"strings"
	"testing"
	"time"
)

// A "directory.verify" payload from before the code field still decodes, and one with
// a code keeps it.
func TestVerifyAskCodeIsOptional(t *testing.T) {
	old, err := os.ReadFile("testdata/directory.verify.golden")
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeVerifyAsk(old)
	if err != nil || v.Kind != "ask" || v.Code != "" {
		t.Fatalf("old payload: %+v %v", v, err)
	}
	b, err := EncodeVerifyAsk(VerifyAsk{Team: "jp", Kind: VerifyHotline, Code: "ABCD2345", At: time.Unix(0, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if v, err = DecodeVerifyAsk(b); err != nil || v.Code != "ABCD2345" || v.Kind != VerifyHotline {
		t.Fatalf("hotline payload: %+v %v", v, err)
	}
	if strings.Contains(string(old), "code") {
		t.Fatal("the golden payload is meant to be one without a code")
	}
}
