package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/identity"
)

func signed(t testing.TB, k identity.Key) *Envelope {
	e := &Envelope{Origin: "cn", Destination: "jp", Seq: 7, Type: "entry.append", ObjectID: "cn-2026-0001",
		Time: time.Date(2026, 11, 22, 10, 0, 0, 123456000, time.UTC), TLP: "AMBER", Payload: []byte(`{"body":"<b>&"}`)}
	e.Sign(k)
	return e
}

func TestSignedEnvelopeSurvivesTransportAndDetectsEveryChange(t *testing.T) {
	k, _ := identity.Generate()
	pub, _ := identity.ParsePublic(k.Public())
	e := signed(t, k)
	got, err := Unmarshal(e.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(pub); err != nil {
		t.Fatalf("round trip broke the signature: %v", err)
	}
	if got.Digest() != e.Digest() {
		t.Fatal("digest changed in transport")
	}
	mutations := map[string]func(*Envelope){
		"origin":      func(e *Envelope) { e.Origin = "kr" },
		"destination": func(e *Envelope) { e.Destination = "kr" },
		"seq":         func(e *Envelope) { e.Seq++ },
		"type":        func(e *Envelope) { e.Type = "incident.upsert" },
		"object":      func(e *Envelope) { e.ObjectID = "cn-2026-0002" },
		"time":        func(e *Envelope) { e.Time = e.Time.Add(time.Microsecond) },
		"tlp":         func(e *Envelope) { e.TLP = "CLEAR" },
		"payload":     func(e *Envelope) { e.Payload = append(bytes.Clone(e.Payload), ' ') },
	}
	for name, mutate := range mutations {
		c := *got
		mutate(&c)
		if c.Verify(pub) == nil {
			t.Errorf("changing %s kept the signature valid", name)
		}
	}
	other, _ := identity.Generate()
	otherPub, _ := identity.ParsePublic(other.Public())
	if got.Verify(otherPub) == nil {
		t.Error("another key verified the signature")
	}
}

func TestCanonicalFieldsCannotBeShifted(t *testing.T) {
	// Without length prefixes "ab"+"c" and "a"+"bc" would sign the same bytes.
	if bytes.Equal(Canonical("d", []byte("ab"), []byte("c")), Canonical("d", []byte("a"), []byte("bc"))) {
		t.Fatal("field boundaries are ambiguous")
	}
	if bytes.Equal(Canonical("x", []byte("a")), Canonical("y", []byte("a"))) {
		t.Fatal("domain tag ignored")
	}
}

func TestReceiptVerifies(t *testing.T) {
	sender, _ := identity.Generate()
	receiver, _ := identity.Generate()
	rpub, _ := identity.ParsePublic(receiver.Public())
	e := signed(t, sender)
	r := NewReceipt(receiver, e, Applied, "", time.Now())
	var back Receipt
	if err := json.Unmarshal(r.Marshal(), &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Verify(rpub, e); err != nil {
		t.Fatalf("receipt: %v", err)
	}
	other := signed(t, sender)
	other.Seq = 8
	other.Sign(sender)
	if back.Verify(rpub, other) == nil {
		t.Fatal("receipt verified for another envelope")
	}
	back.Status = Rejected
	if back.Verify(rpub, e) == nil {
		t.Fatal("altered receipt status verified")
	}
}

func TestRequestAuth(t *testing.T) {
	k, _ := identity.Generate()
	pub, _ := identity.ParsePublic(k.Public())
	body := []byte(`{"envelopes":[]}`)
	now := time.Now()
	req, _ := http.NewRequest("POST", "http://127.0.0.1:7402/federation/v1/inbox", bytes.NewReader(body))
	SignRequest(req, k, "cn", "jp", now, body)
	a, err := ParseRequestAuth(req.Header.Get(AuthHeader))
	if err != nil {
		t.Fatal(err)
	}
	if a.From != "cn" || a.To != "jp" {
		t.Fatalf("parsed %+v", a)
	}
	// The signature is checked before, and without, the body.
	if err := a.Verify(pub, "POST", "/federation/v1/inbox", now); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got, err := a.ReadBody(bytes.NewReader(body), 1<<10, int64(len(body))); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read body: %q %v", got, err)
	}
	if got, err := a.ReadBody(bytes.NewReader(body), 1<<10, -1); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read body of unknown length: %q %v", got, err)
	}
	if _, err := a.ReadBody(strings.NewReader(`{}`), 1<<10, -1); err == nil {
		t.Error("another body accepted")
	}
	if _, err := a.ReadBody(bytes.NewReader(body), int64(len(body)-1), -1); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("body over the limit: %v", err)
	}
	if _, err := a.ReadBody(bytes.NewReader(body), int64(len(body)-1), int64(len(body))); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("declared body over the limit: %v", err)
	}
	if a.Verify(pub, "GET", "/federation/v1/inbox", now) == nil {
		t.Error("another method verified")
	}
	if a.Verify(pub, "POST", "/federation/v1/inbox?after=1", now) == nil {
		t.Error("another query verified")
	}
	if a.Verify(pub, "POST", "/federation/v1/inbox", now.Add(6*time.Minute)) == nil {
		t.Error("a stale request verified")
	}
	other, _ := identity.Generate()
	otherPub, _ := identity.ParsePublic(other.Public())
	if a.Verify(otherPub, "POST", "/federation/v1/inbox", now) == nil {
		t.Error("verified with another key")
	}

	// Each signed field is covered: changing any one in the header breaks the signature.
	h := req.Header.Get(AuthHeader)
	for _, field := range []string{"to", "t", "n", "h"} {
		forged := flipField(t, h, field)
		fa, err := ParseRequestAuth(forged)
		if err != nil {
			t.Fatalf("%s: %v", field, err)
		}
		if fa.Verify(pub, "POST", "/federation/v1/inbox", now) == nil {
			t.Errorf("header with %s changed verified", field)
		}
	}

	// Two requests with the same content differ by their nonce.
	req2, _ := http.NewRequest("POST", "http://127.0.0.1:7402/federation/v1/inbox", bytes.NewReader(body))
	SignRequest(req2, k, "cn", "jp", now, body)
	a2, _ := ParseRequestAuth(req2.Header.Get(AuthHeader))
	if a2.Nonce == a.Nonce {
		t.Error("two requests got the same nonce")
	}

	for name, bad := range map[string]string{
		"no hash":       removeField(h, "h"),
		"no nonce":      removeField(h, "n"),
		"short nonce":   strings.Replace(h, ";n=", ";n=00", 1),
		"field twice":   h + ";to=kr",
		"unknown field": h + ";x=1",
		"non-hex sig":   strings.Replace(h, ";sig=", ";sig=zz", 1)[:len(h)],
	} {
		if _, err := ParseRequestAuth(bad); err == nil {
			t.Errorf("%s: accepted %q", name, bad)
		}
	}
}

func removeField(h, field string) string {
	var keep []string
	for _, p := range strings.Split(h, ";") {
		if !strings.HasPrefix(p, field+"=") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ";")
}

// flipField changes one field of an auth header to another valid value.
func flipField(t *testing.T, h, field string) string {
	t.Helper()
	parts := strings.Split(h, ";")
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		if k != field {
			continue
		}
		switch field {
		case "to":
			v = "kr"
		case "t":
			tm, _ := time.Parse(time.RFC3339Nano, v)
			v = tm.Add(time.Second).Format(time.RFC3339Nano)
		default:
			b := []byte(v)
			if b[0] == '0' {
				b[0] = '1'
			} else {
				b[0] = '0'
			}
			v = string(b)
		}
		parts[i] = k + "=" + v
		return strings.Join(parts, ";")
	}
	t.Fatalf("no %s in %q", field, h)
	return ""
}

func TestDecodeBatchRejectsMalformedEnvelopes(t *testing.T) {
	k, _ := identity.Generate()
	good := signed(t, k)
	for name, mutate := range map[string]func(*Envelope){
		"zero seq":     func(e *Envelope) { e.Seq = 0 },
		"bad origin":   func(e *Envelope) { e.Origin = "CN!" },
		"short sig":    func(e *Envelope) { e.Signature = e.Signature[:10] },
		"missing time": func(e *Envelope) { e.Time = time.Time{} },
		"huge payload": func(e *Envelope) { e.Payload = make([]byte, MaxPayload+1) },
	} {
		c := *good
		mutate(&c)
		b, _ := json.Marshal(Batch{Envelopes: []*Envelope{&c}})
		if _, err := DecodeBatch(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := DecodeBatch([]byte(`{"envelopes":[null]}`)); err == nil {
		t.Error("null envelope accepted")
	}
}

func FuzzDecodeBatch(f *testing.F) {
	k, _ := identity.Generate()
	b, _ := json.Marshal(Batch{Envelopes: []*Envelope{signed(f, k)}})
	f.Add(b)
	f.Add([]byte(`{"envelopes":[]}`))
	f.Add([]byte(`{"envelopes":[{"seq":-1}]}`))
	f.Add([]byte(`[]`))
	envs := []*Envelope{signed(f, k)}
	envs[0].Signature = nil
	sb, _ := json.Marshal(Batch{Envelopes: envs, Seal: SealBatch(k, "cn", "jp", time.Now(), envs)})
	f.Add(sb)
	f.Fuzz(func(t *testing.T, data []byte) {
		bt, err := DecodeBatch(data)
		if err != nil {
			return
		}
		for _, e := range bt.Envelopes {
			if e.Check() != nil {
				t.Fatal("decoded an envelope that fails Check")
			}
			// Whatever decodes must re-encode and decode to the same signed content.
			again, err := Unmarshal(e.Marshal())
			if err != nil || again.Digest() != e.Digest() {
				t.Fatalf("re-encode changed the envelope: %v", err)
			}
		}
	})
}

func FuzzParseRequestAuth(f *testing.F) {
	k, _ := identity.Generate()
	req, _ := http.NewRequest("POST", "http://x/federation/v1/inbox", nil)
	SignRequest(req, k, "cn", "jp", time.Now(), nil)
	f.Add(req.Header.Get(AuthHeader))
	f.Add("from=cn;to=jp;t=2026-01-01T00:00:00Z;sig=zz")
	f.Add("from=cn;to=jp;t=2026-01-01T00:00:00Z;n=00;h=00;sig=00;n=11")
	f.Add(";;;=")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseRequestAuth(h)
		if err != nil {
			return
		}
		if a.From == "" || a.To == "" || a.Time.IsZero() || len(a.sig) != ed25519.SignatureSize {
			t.Fatalf("accepted incomplete header %q", h)
		}
	})
}

// A receipt from outside is checked field by field, and the error names the field:
// seq 0 once reached the database as an out-of-range number (a 500).
func TestDecodeReceiptsNamesTheField(t *testing.T) {
	k, _ := identity.Generate()
	good := NewReceipt(k, signed(t, k), Applied, "", time.Now())
	for field, mutate := range map[string]func(*Receipt){
		"receipts[0].seq":         func(r *Receipt) { r.Seq = 0 },
		"receipts[0].digest":      func(r *Receipt) { r.Digest = r.Digest[:5] },
		"receipts[0].status":      func(r *Receipt) { r.Status = "maybe" },
		"receipts[0].origin":      func(r *Receipt) { r.Origin = "" },
		"receipts[0].signature":   func(r *Receipt) { r.Signature = nil },
		"receipts[0].received_at": func(r *Receipt) { r.ReceivedAt = time.Time{} },
	} {
		c := *good
		mutate(&c)
		b, _ := json.Marshal(Receipts{Receipts: []*Receipt{&c}})
		_, err := DecodeReceipts(b)
		if err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("%s: got %v", field, err)
		}
	}
	b, _ := json.Marshal(Receipts{Receipts: []*Receipt{good}})
	if _, err := DecodeReceipts(b); err != nil {
		t.Fatalf("a good receipt: %v", err)
	}
}

func FuzzDecodeReceipts(f *testing.F) {
	f.Add([]byte(`{"receipts":[{"origin":"cn","seq":1}],"error":"gap"}`))
	f.Add([]byte(`{"receipts":[null]}`))
	k, _ := identity.Generate()
	e := signed(f, k)
	d := e.Digest()
	rb, _ := json.Marshal(Receipts{Ranges: []*RangeReceipt{NewRangeReceipt(k, "cn", "jp", 7, []RangeItem{{Digest: d[:], Status: Applied}}, time.Now())}})
	f.Add(rb)
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := DecodeReceipts(data)
		if err != nil {
			return
		}
		for _, r := range rs.Receipts {
			if r == nil || r.Check() != nil {
				t.Fatalf("malformed receipt accepted: %+v", r)
			}
		}
		for _, r := range rs.All() {
			if r.Check() != nil {
				t.Fatalf("a range expands to a malformed receipt: %+v", r)
			}
		}
	})
}
