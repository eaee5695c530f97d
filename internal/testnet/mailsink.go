package testnet

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// mailSink is an SMTP server on loopback that files every message it receives as an
// .eml file: the demo's stand-in for the teams' mail servers, so that hotline e-mail
// can be read (and decrypted) without any set-up.
type mailSink struct {
	srv  *smtp.Server
	addr string
	dir  string
	seq  atomic.Int64
}

func startMailSink(dir string) (*mailSink, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ms := &mailSink{dir: dir}
	ms.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{ms: ms}, nil }))
	ms.srv.Domain = "localhost"
	ms.srv.ReadTimeout, ms.srv.WriteTimeout = time.Minute, time.Minute
	ms.srv.MaxMessageBytes = 4 << 20
	ms.srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ms.addr = ln.Addr().String()
	go ms.srv.Serve(ln)
	return ms, nil
}

func (ms *mailSink) Close() error { return ms.srv.Close() }

type sinkSession struct {
	ms *mailSink
	to []string
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range s.to {
		name := fmt.Sprintf("%s-%04d-%s.eml", time.Now().UTC().Format("20060102T150405"), s.ms.seq.Add(1),
			strings.NewReplacer("@", "_at_", "/", "_").Replace(to))
		if err := os.WriteFile(filepath.Join(s.ms.dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (s *sinkSession) Reset()        { s.to = nil }
func (s *sinkSession) Logout() error { return nil }
