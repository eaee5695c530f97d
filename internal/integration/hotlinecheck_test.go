package integration

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/notify"
	"csirtlink/internal/testnet"
)

type hotlineView struct {
	Address    string     `json:"address"`
	Verified   bool       `json:"verified"`
	VerifiedAt *time.Time `json:"verified_at"`
	CodeSentAt *time.Time `json:"code_sent_at"`
}

func partnerHotline(t *testing.T, at *testnet.Node, id string) hotlineView {
	t.Helper()
	var got struct {
		Partner struct {
			Hotline *hotlineView `json:"hotline"`
		} `json:"partner"`
	}
	if code := call(t, at, "GET", "/api/v1/partners/"+id, nil, &got); code != http.StatusOK || got.Partner.Hotline == nil {
		t.Fatalf("%s's entry at %s: %d %+v", id, at.Team, code, got)
	}
	return *got.Partner.Hotline
}

var mailedCode = regexp.MustCompile(`Code: ([2-9A-Z]{4}-[2-9A-Z]{4})`)

// A partner's hotline address is proved by a code mailed to it when the partner is
// approved: the partner returns it signed through federation, or reads it out and we
// enter it. A wrong code is refused naming the field, and the address stays unverified.
func TestHotlineAddressCheckedByMailedCode(t *testing.T) {
	mb := startMailbox(t)
	dir := t.TempDir()
	n := startNet(t, testnet.Options{Dir: dir, Teams: testnet.Default[:2], Strangers: true,
		SMTP: &config.SMTP{Addr: mb.addr, From: "csirtlink <hotline@csirtlink.test>", TLS: "none"}})
	cn, jp := n.Nodes[0], n.Nodes[1]
	onboard(t, cn, jp)

	// Each side mailed a code to the other's published address, encrypted to its key.
	codeTo := func(team, addr string) string {
		t.Helper()
		var got []gotMail
		eventually(t, 10*time.Second, "a code mailed to "+addr, func() error {
			if got = mb.to(addr); len(got) != 1 {
				return fmt.Errorf("%d mails", len(got))
			}
			return nil
		})
		b, err := readFile(filepath.Join(dir, team, "pgp.key"))
		if err != nil {
			t.Fatal(err)
		}
		key, err := notify.ReadArmoredKey(string(b))
		if err != nil {
			t.Fatal(err)
		}
		text, _ := readMail(t, got[0].raw, key, nil)
		m := mailedCode.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no code in the mail to %s:\n%s", addr, text)
		}
		return m[1]
	}
	toJP := codeTo("jp", "hotline@jp.csirtlink.test")
	toCN := codeTo("cn", "hotline@cn.csirtlink.test")
	if toJP == toCN {
		t.Fatalf("both codes are %s", toJP)
	}

	h := partnerHotline(t, cn, "jp")
	if h.Verified || h.CodeSentAt == nil || h.Address != "hotline@jp.csirtlink.test" {
		t.Fatalf("before the code comes back, jp's address at cn: %+v", h)
	}

	// A wrong code, entered at cn, is refused naming the field.
	var perr apiError
	if code := call(t, cn, "POST", "/api/v1/directory/hotline-code", map[string]string{"partner": "jp", "code": "ZZZZ-ZZZZ"}, &perr); code != http.StatusUnprocessableEntity || perr.Error.Field != "code" {
		t.Fatalf("a wrong code: %d %+v", code, perr)
	}
	// A wrong code returned through federation changes nothing either.
	if code := call(t, jp, "POST", "/api/v1/directory/hotline-code/return", map[string]string{"team": "cn", "code": "ZZZZ-ZZZZ"}, nil); code != http.StatusAccepted {
		t.Fatalf("return a wrong code: %d", code)
	}
	time.Sleep(500 * time.Millisecond)
	if h := partnerHotline(t, cn, "jp"); h.Verified {
		t.Fatalf("a wrong code verified jp's address: %+v", h)
	}

	// jp's admin returns the right code, signed by jp's node.
	if code := call(t, jp, "POST", "/api/v1/directory/hotline-code/return", map[string]string{"team": "cn", "code": toJP}, nil); code != http.StatusAccepted {
		t.Fatalf("return the code: %d", code)
	}
	eventually(t, 10*time.Second, "jp's address verified at cn", func() error {
		if h := partnerHotline(t, cn, "jp"); !h.Verified || h.VerifiedAt == nil {
			return fmt.Errorf("%+v", h)
		}
		return nil
	})

	// cn's admin reads jp's code out over the phone; jp's admin enters it.
	if code := call(t, jp, "POST", "/api/v1/directory/hotline-code", map[string]string{"partner": "cn", "code": toCN}, nil); code != http.StatusOK {
		t.Fatalf("enter the code read out: %d", code)
	}
	if h := partnerHotline(t, jp, "cn"); !h.Verified {
		t.Fatalf("cn's address at jp: %+v", h)
	}
	// A code is good once.
	if code := call(t, jp, "POST", "/api/v1/directory/hotline-code", map[string]string{"partner": "cn", "code": toCN}, &perr); code != http.StatusUnprocessableEntity || perr.Error.Field != "code" {
		t.Fatalf("the same code again: %d %+v", code, perr)
	}
}

// A relay that fails does not make the re-verification module mail a code on every
// round: a failed attempt is tried again a day later, and the failure is shown.
func TestHotlineCodeNotRetriedEveryRound(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var attempts atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			c.Write([]byte("554 5.3.2 not today\r\n"))
			c.Close()
		}
	}()
	n := startNet(t, testnet.Options{Teams: testnet.Default[:2], Strangers: true,
		Directory: config.Directory{Reverify: config.Duration(time.Hour)},
		Hotline:   config.Hotline{EngineInterval: config.Duration(20 * time.Millisecond)},
		SMTP:      &config.SMTP{Addr: l.Addr().String(), From: "csirtlink <hotline@csirtlink.test>", TLS: "none", Timeout: config.Duration(2 * time.Second)}})
	cn, jp := n.Nodes[0], n.Nodes[1]
	onboard(t, cn, jp)
	time.Sleep(time.Second) // some fifty engine rounds
	// One attempt from each side's approval; the engines' rounds add none.
	if got := attempts.Load(); got != 2 {
		t.Errorf("%d attempts to mail a code through a failing relay, want 2", got)
	}
	var got struct {
		Partner struct {
			Hotline struct {
				Verified bool   `json:"verified"`
				Error    string `json:"error"`
			} `json:"hotline"`
		} `json:"partner"`
	}
	call(t, cn, "GET", "/api/v1/partners/jp", nil, &got)
	if got.Partner.Hotline.Verified || got.Partner.Hotline.Error == "" {
		t.Errorf("a code that could not be mailed: %+v", got.Partner.Hotline)
	}
}
