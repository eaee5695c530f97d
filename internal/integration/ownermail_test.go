package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/netip"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/emersion/go-smtp"

	"csirtlink/internal/config"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/notify"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

// mailParts walks a received message's MIME tree, decrypting with key where it is
// PGP/MIME encrypted, and returns its text and its attachments by file name.
func mailParts(t *testing.T, raw []byte, key *openpgp.Entity) (text string, files map[string][]byte, encrypted bool) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	files = map[string][]byte{}
	var walk func(h textproto.MIMEHeader, body io.Reader)
	walk = func(h textproto.MIMEHeader, body io.Reader) {
		mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
		switch {
		case mt == "multipart/encrypted":
			encrypted = true
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				b, _ := io.ReadAll(p)
				if !bytes.Contains(b, []byte("BEGIN PGP MESSAGE")) {
					continue
				}
				if key == nil {
					t.Fatal("encrypted mail but no key")
				}
				block, err := armor.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				md, err := openpgp.ReadMessage(block.Body, openpgp.EntityList{key}, nil, nil)
				if err != nil {
					t.Fatalf("decrypt: %v", err)
				}
				plain, _ := io.ReadAll(md.UnverifiedBody)
				inner, err := mail.ReadMessage(bytes.NewReader(plain))
				if err != nil {
					t.Fatal(err)
				}
				walk(textproto.MIMEHeader(inner.Header), inner.Body)
			}
		case strings.HasPrefix(mt, "multipart/"):
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				walk(p.Header, p)
			}
		case mt == "application/pgp-signature":
			// the signature of a signed mail, not a file of the report
		default:
			b, _ := io.ReadAll(body)
			if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
				b, _ = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
			} else if r := decodeCTE(h.Get("Content-Transfer-Encoding"), bytes.NewReader(b)); r != nil {
				b, _ = io.ReadAll(r)
			}
			if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
				files[dp["filename"]] = b
			} else if mt == "text/plain" {
				text += string(b)
			}
		}
	}
	walk(textproto.MIMEHeader(msg.Header), msg.Body)
	return text, files, encrypted
}

type ownerSpec struct {
	id, network, lang, format string
	key                       *openpgp.Entity
}

func addOwnerWithContact(t *testing.T, nd *testnet.Node, o ownerSpec) {
	t.Helper()
	c := map[string]any{"email": "abuse@" + o.id + ".example", "language": o.lang, "format": o.format, "schedule": "immediate"}
	if o.key != nil {
		pub, err := notify.ArmorPublic(o.key)
		if err != nil {
			t.Fatal(err)
		}
		c["pgp_key"] = pub
	}
	mustCall(t, nd, "POST", "/api/v1/owners", map[string]any{"id": o.id, "name": strings.ToUpper(o.id), "networks": []string{o.network},
		"contacts": []map[string]any{c}}, 201)
}

// Every owner, at home and at the partner's node, gets one mail in its language with
// exactly its events attached — decrypted with its own key where it has one — and
// nobody gets anyone else's.
func TestOwnersGetExactlyTheirEvents(t *testing.T) {
	mb := startMailbox(t)
	opts := testnetOptions()
	opts.SMTP = &config.SMTP{Addr: mb.addr, From: "csirtlink <feeds@csirtlink.test>", TLS: "none"}
	n := startNet(t, opts)
	cn, jp := n.Node("cn"), n.Node("jp")
	cn.App.Feeds.SetPartners(partnersOf)
	keyA, err := notify.GenerateKey("JP-A abuse", "abuse@jp-a.example")
	if err != nil {
		t.Fatal(err)
	}
	keyCN, _ := notify.GenerateKey("CN ISP abuse", "abuse@cn-isp.example")
	owners := map[string]ownerSpec{
		"jp-a":   {"jp-a", "198.51.100.0/25", "ja", "csv", keyA},
		"jp-b":   {"jp-b", "198.51.100.128/25", "ko", "json", nil},
		"cn-isp": {"cn-isp", "192.0.2.0/24", "zh-Hans", "csv", keyCN},
	}
	addOwnerWithContact(t, jp, owners["jp-a"])
	addOwnerWithContact(t, jp, owners["jp-b"])
	addOwnerWithContact(t, cn, owners["cn-isp"])

	ingest(t, cn, shadowserverReport(map[string]int{"192.0.2.0/24": 40, "198.51.100.0/24": 500, "100.64.0.0/16": 5}), "AMBER")
	eventually(t, 20*time.Second, "three owners mailed", func() error {
		for id := range owners {
			if len(mb.to("abuse@"+id+".example")) == 0 {
				return fmt.Errorf("no mail to %s yet", id)
			}
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // a second mail to anyone would show now
	words := map[string]string{"ja": "パートナーチーム cn から転送", "ko": "파트너 팀 cn에서 전달", "zh-Hans": "条来自 Shadowserver"}
	for id, o := range owners {
		got := mb.to("abuse@" + id + ".example")
		if len(got) != 1 {
			t.Fatalf("%s got %d mails", id, len(got))
		}
		text, files, encrypted := mailParts(t, got[0].raw, o.key)
		if encrypted != (o.key != nil) {
			t.Fatalf("%s: encrypted %v", id, encrypted)
		}
		if !strings.Contains(text, words[o.lang]) || !strings.Contains(text, "TLP:AMBER") {
			t.Fatalf("%s: summary not in %s:\n%s", id, o.lang, text)
		}
		if len(files) != 1 {
			t.Fatalf("%s: %d attachments", id, len(files))
		}
		var ips []string
		for name, data := range files {
			if !strings.HasSuffix(name, "."+o.format) {
				t.Fatalf("%s: attachment %s, want %s", id, name, o.format)
			}
			ips = attachedIPs(t, o.format, data)
		}
		nd := jp
		if id == "cn-isp" {
			nd = cn
		}
		var reports struct{ Reports []store.OwnerReport }
		call(t, nd, "GET", "/api/v1/owners/"+id+"/reports", nil, &reports)
		if len(reports.Reports) != 1 || reports.Reports[0].State != store.ReportSent || reports.Reports[0].Events != int64(len(ips)) {
			t.Fatalf("%s: reports %+v, %d events attached", id, reports.Reports, len(ips))
		}
		pfx := netip.MustParsePrefix(o.network)
		for _, ip := range ips {
			if !pfx.Contains(netip.MustParseAddr(ip)) {
				t.Fatalf("%s got %s, not in its network %s", id, ip, pfx)
			}
		}
		want := map[string]int{"jp-a": 254, "jp-b": 246, "cn-isp": 40}[id] // .1-.127 and .128-.250 of 500 cycled
		if len(ips) != want {
			t.Fatalf("%s: %d events attached, want %d", id, len(ips), want)
		}
	}
	if len(mb.msgs) != 3 {
		t.Fatalf("%d mails in all, want 3", len(mb.msgs))
	}
}

func attachedIPs(t *testing.T, format string, data []byte) []string {
	t.Helper()
	var ips []string
	if format == "json" {
		var evs []struct {
			IP       string `json:"ip"`
			FromTeam string `json:"from_team"`
			Raw      string `json:"raw"`
		}
		if err := json.Unmarshal(data, &evs); err != nil {
			t.Fatalf("json attachment: %v", err)
		}
		for _, e := range evs {
			if e.FromTeam != "cn" || !strings.Contains(e.Raw, e.IP) {
				t.Fatalf("event %+v", e)
			}
			ips = append(ips, e.IP)
		}
		return ips
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv attachment: %v (%d rows)", err, len(rows))
	}
	ipCol, rawCol := slices.Index(rows[0], "ip"), slices.Index(rows[0], "raw")
	for _, r := range rows[1:] {
		if !strings.Contains(r[rawCol], r[ipCol]) {
			t.Fatalf("row %v", r)
		}
		ips = append(ips, r[ipCol])
	}
	return ips
}

// holdingSession is an SMTP session whose first DATA waits until released: a relay
// that takes its time while the node is killed.
type holdingSession struct {
	mailSession
	reached chan<- struct{}
	release <-chan struct{}
	held    *atomic.Bool
}

func (s *holdingSession) Data(r io.Reader) error {
	if s.held.CompareAndSwap(false, true) {
		s.reached <- struct{}{}
		<-s.release
	}
	return s.mailSession.Data(r)
}

// cn's node is killed (SIGKILL) while it sends an owner's report. After the restart
// the routed events are all stored, the interrupted report is marked unknown and never
// sent again, and the next run's report goes out as usual.
func TestKilledWhileMailingAnOwnerSendsNoReportTwice(t *testing.T) {
	mb := &mailbox{}
	reached, release := make(chan struct{}, 1), make(chan struct{})
	var held atomic.Bool
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &holdingSession{mailSession: mailSession{mb: mb}, reached: reached, release: release, held: &held}, nil
	}))
	srv.Domain, srv.ErrorLog = "localhost", log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })

	opts := testnetOptions()
	opts.SMTP = &config.SMTP{Addr: l.Addr().String(), From: "csirtlink <feeds@csirtlink.test>", TLS: "none"}
	n := startNet(t, opts)
	ctx := t.Context()
	cn := n.Node("cn")
	addOwnerWithContact(t, cn, ownerSpec{"cn-isp", "192.0.2.0/24", "en", "csv", nil})
	child, childErr := runAsChild(t, n, "cn")
	run := ingest(t, cn, shadowserverReport(map[string]int{"192.0.2.0/24": 5000}), "AMBER")
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatalf("the report was never sent\n%s", childErr.String())
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	once.Do(func() { close(release) })
	if err := n.Restart(ctx, "cn"); err != nil {
		t.Fatalf("restart cn: %v\n%s", err, childErr.String())
	}
	cn = n.Node("cn")

	var stored int
	if err := cn.App.Feeds.Events(ctx, run.ID, store.ChunkOwner, "cn-isp", func(feedrun.Record) error { stored++; return nil }); err != nil || stored != 5000 {
		t.Fatalf("after the kill cn holds %d of 5000 routed events: %v", stored, err)
	}
	var reports struct{ Reports []store.OwnerReport }
	eventually(t, 40*time.Second, "the interrupted report marked unknown (once the dead process's engine lease ends)", func() error {
		call(t, cn, "GET", "/api/v1/owners/cn-isp/reports", nil, &reports)
		if len(reports.Reports) != 1 || reports.Reports[0].State != store.ReportUnknown {
			return fmt.Errorf("%+v", reports.Reports)
		}
		return nil
	})
	// The next run's report goes out, alone: the interrupted one is not sent again.
	ingest(t, cn, shadowserverReport(map[string]int{"192.0.2.0/24": 7}), "AMBER")
	eventually(t, 20*time.Second, "the next report sent", func() error {
		if got := mb.to("abuse@cn-isp.example"); len(got) != 1 {
			return fmt.Errorf("%d mails", len(got))
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	got := mb.to("abuse@cn-isp.example")
	_, files, _ := mailParts(t, got[len(got)-1].raw, nil)
	for _, data := range files {
		if n := len(attachedIPs(t, "csv", data)); n != 7 {
			t.Fatalf("the mail after the restart holds %d events, want the next run's 7", n)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d mails to cn-isp after the restart, want 1", len(got))
	}
	call(t, cn, "GET", "/api/v1/owners/cn-isp/reports", nil, &reports)
	states := map[string]int{}
	for _, r := range reports.Reports {
		states[r.State]++
	}
	if states[store.ReportUnknown] != 1 || states[store.ReportSent] != 1 || len(reports.Reports) != 2 {
		t.Fatalf("reports: %+v", reports.Reports)
	}
}
