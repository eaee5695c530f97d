package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/store"
)

// The administrator's commands on the node: a password set from the command line ends
// the person's sessions; disable stops their sessions and tokens, enable lets them back,
// signout ends their sessions; list shows it all.
func TestUserCommands(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "jp")
	var out, errOut bytes.Buffer
	run := func(args ...string) string {
		t.Helper()
		out.Reset()
		errOut.Reset()
		if err := Run(ctx, args, &out, &errOut); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	run("init", "--dir", dir, "--team", "jp", "--name", "JPCERT/CC", "--timezone", "Asia/Tokyo", "--listen", "127.0.0.1:0", "--hotline-email", "hotline@jp.example")
	cfg := filepath.Join(dir, "csirtlink.json")
	run("user", "create", "--config", cfg, "--name", "sato", "--role", "handler")
	tok := strings.TrimSpace(run("token", "create", "--config", cfg, "--user", "sato"))

	// session makes a console session for sato, as signing in would; live reports
	// whether it still stands, and check whether sato's token works.
	session := func(hash string) {
		t.Helper()
		n, err := openForAdmin(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		u, err := n.Store.UserByName(ctx, "sato")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := n.Store.CreateSession(ctx, store.Session{Hash: hash, UserID: u.ID, Created: now, LastSeen: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	state := func(hash string) (sessionLive bool, tokenErr error) {
		t.Helper()
		n, err := openForAdmin(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		_, _, err = n.Store.SessionByHash(ctx, hash, time.Now())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		_, tokenErr = n.Auth.Authenticate(ctx, tok)
		return err == nil, tokenErr
	}

	session("s1")
	run("user", "password", "--config", cfg, "--name", "sato", "--generate")
	if live, _ := state("s1"); live {
		t.Fatal("a session survived a password set from the command line")
	}

	session("s2")
	if got := run("user", "disable", "--config", cfg, "--name", "sato"); !strings.Contains(got, "disabled sato") {
		t.Errorf("disable printed %q", got)
	}
	if live, err := state("s2"); live || !errors.Is(err, auth.ErrBadToken) {
		t.Fatalf("after disable: session live %v, token %v", live, err)
	}
	if got := run("user", "list", "--config", cfg); !strings.Contains(got, "sato") || !strings.Contains(got, "disabled since") {
		t.Errorf("list after disable:\n%s", got)
	}
	run("user", "enable", "--config", cfg, "--name", "sato")
	if _, err := state("s2"); err != nil {
		t.Fatalf("token after enable: %v", err)
	}
	session("s3")
	run("user", "signout", "--config", cfg, "--name", "sato")
	if live, err := state("s3"); live || err != nil {
		t.Fatalf("after signout: session live %v, token %v (tokens are not sessions)", live, err)
	}

	if err := Run(ctx, []string{"user", "disable", "--config", cfg, "--name", "nobody"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), `no user "nobody"`) {
		t.Errorf("disable an unknown user: %v", err)
	}
	if err := Run(ctx, []string{"user", "disable", "--config", cfg}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("disable without --name: %v", err)
	}
	if err := Run(ctx, []string{"user", "disable", "--config", cfg, "--name", "admin"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "last enabled administrator") {
		t.Errorf("disable the only admin: %v", err)
	}
}
