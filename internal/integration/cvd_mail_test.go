package integration

import (
	"bytes"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/testnet"
)

// TestCVDVendorMail: jp mails a vendor that has no account through the node's relay (a
// real SMTP server) from the case's own reply address, under the embargo; the relay
// hands the vendor's reply back to POST /api/v1/cvd/mail, which keeps it with the case
// at jp only and sets the statuses it states. A guessed or altered reply address, and
// a caller without the writer role, are turned away.
func TestCVDVendorMail(t *testing.T) {
	mb := startMailbox(t)
	opts := testnetOptions()
	opts.SMTP = &config.SMTP{Addr: mb.addr, From: "JPCERT/CC <cvd@jpcert.example>", TLS: "none"}
	n := startNet(t, opts)
	cn, jp := n.Nodes[0], n.Nodes[1]
	id := newCase(t, cn, "jp", "kr")
	waitCase(t, []*testnet.Node{jp}, id, "the case at jp", func(caseView) error { return nil })
	var prop caseView
	if code := call(t, cn, "POST", "/api/v1/cvd/cases/"+id+"/embargo", map[string]string{"publish_at": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, &prop); code != http.StatusOK {
		t.Fatalf("propose: %d", code)
	}
	var v struct{ ID string }
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors", map[string]any{"name": "OEM KK", "contact": "Suzuki", "email": "psirt@oem.example", "products": []string{"p2", "p3"}}, &v); code != http.StatusCreated {
		t.Fatalf("vendor: %d", code)
	}
	var sent struct{ ID, Direction string }
	if code := call(t, jp, "POST", "/api/v1/cvd/cases/"+id+"/vendors/"+v.ID+"/mail", map[string]string{"subject": "Command injection in RT-500", "body": "Please check RT-500 and RT-300.\nThe embargo ends in two days."}, &sent); code != http.StatusCreated || sent.Direction != "out" {
		t.Fatalf("mail the vendor: %d %+v", code, sent)
	}
	got := mb.to("psirt@oem.example")
	if len(got) != 1 {
		t.Fatalf("the vendor got %d mails", len(got))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].raw))
	if err != nil {
		t.Fatal(err)
	}
	replyTo, err := mail.ParseAddress(msg.Header.Get("Reply-To"))
	if err != nil || !strings.HasPrefix(replyTo.Address, "cvd+"+id+"."+v.ID+".") || !strings.HasSuffix(replyTo.Address, "@jpcert.example") {
		t.Fatalf("reply address %q (%v)", msg.Header.Get("Reply-To"), err)
	}
	if text, _ := readMail(t, got[0].raw, nil, nil); !strings.Contains(text, "Please check RT-500") || !strings.Contains(msg.Header.Get("Subject"), id) {
		t.Fatalf("the mail: %q %q", msg.Header.Get("Subject"), text)
	}

	// The vendor's reply, as the relay hands it over.
	reply := "From: Suzuki <suzuki@oem.example>\r\nTo: " + replyTo.Address + "\r\nSubject: =?UTF-8?B?UmU6IOS/ruato+a4iOOBvw==?=\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Fixed in 2.4.1; RT-300 never had the ping tool.\r\nstatus v1 p2 fixed 2.4.1\r\nSTATUS v1 p3 not_affected component_not_present\r\n" +
		"> Please check RT-500 and RT-300.\r\n> status v1 p2 affected\r\n"
	post := func(to, body string, token string) int {
		req, _ := http.NewRequest("POST", jp.URL+"/api/v1/cvd/mail?to="+url.QueryEscape(to), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "message/rfc822")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	forged := strings.Replace(replyTo.Address, "cvd+"+id+"."+v.ID+".", "cvd+"+id+"."+v.ID+".a", 1)
	for _, to := range []string{forged, "cvd+" + id + "." + v.ID + "@jpcert.example", "cvd@jpcert.example"} {
		if code := post(to, reply, jp.Token); code != http.StatusNotFound {
			t.Errorf("reply to %q: %d, want 404", to, code)
		}
	}
	if code := post(replyTo.Address, reply, "not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("reply without the relay's token: %d", code)
	}
	if code := post(replyTo.Address, reply, jp.Token); code != http.StatusCreated {
		t.Fatalf("the reply: %d", code)
	}
	var at struct {
		caseView
		VendorMail []struct{ Direction, Subject, Body, Author, Address string } `json:"vendor_mail"`
	}
	if code := call(t, jp, "GET", "/api/v1/cvd/cases/"+id, nil, &at); code != http.StatusOK {
		t.Fatal(code)
	}
	if len(at.VendorMail) != 2 || at.VendorMail[1].Direction != "in" || at.VendorMail[1].Subject != "Re: 修正済み" ||
		at.VendorMail[1].Address != "suzuki@oem.example" || at.VendorMail[1].Author != "OEM KK" {
		t.Fatalf("vendor mail at jp: %+v", at.VendorMail)
	}
	// The statuses go to every coordinator, with the reply as the statement; the
	// quoted status line counted for nothing.
	waitCase(t, []*testnet.Node{cn, n.Nodes[2]}, id, "the vendor's statuses", func(c caseView) error {
		if c.Matrix["v1"]["p2"].Status != "fixed" || c.Matrix["v1"]["p3"].Status != "not_affected" {
			return fmt.Errorf("%+v", c.Matrix["v1"])
		}
		return nil
	})
	var atCN struct {
		VendorMail []any `json:"vendor_mail"`
		Statuses   []struct {
			Statement    string
			FixedVersion string `json:"fixed_version"`
		}
	}
	call(t, cn, "GET", "/api/v1/cvd/cases/"+id, nil, &atCN)
	if len(atCN.VendorMail) != 0 || len(atCN.Statuses) != 2 || !strings.Contains(atCN.Statuses[0].Statement, "never had the ping tool") || atCN.Statuses[0].FixedVersion+atCN.Statuses[1].FixedVersion != "2.4.1" {
		t.Fatalf("at cn: %+v", atCN)
	}
}
