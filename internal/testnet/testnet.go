// Package testnet runs N federated csirtlink nodes in one process on loopback. The demo
// and the integration tests both use it, so what the demo shows is what the tests check.
package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"csirtlink/internal/app"
	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/config"
	"csirtlink/internal/identity"
	"csirtlink/internal/misp"
	"csirtlink/internal/opmetrics"
	"csirtlink/internal/problem"
	"csirtlink/internal/team"
)

// Default is the three teams of the joint operation.
var Default = []team.Team{
	{ID: "cn", Name: "CNCERT/CC", Countries: []string{"CN"}, Networks: []string{"192.0.2.0/24", "2001:db8:c000::/40"}, ASNs: []uint32{64496}, Domains: []string{"cn"},
		Timezone: "Asia/Shanghai", Languages: []string{"zh-Hans", "en"}, HotlineEmail: "hotline@cn.csirtlink.test"},
	{ID: "jp", Name: "JPCERT/CC", Countries: []string{"JP"}, Networks: []string{"198.51.100.0/24", "2001:db8:a000::/40"}, ASNs: []uint32{64497}, Domains: []string{"jp"},
		Timezone: "Asia/Tokyo", Languages: []string{"ja", "en"}, HotlineEmail: "hotline@jp.csirtlink.test"},
	{ID: "kr", Name: "KrCERT/CC", Countries: []string{"KR"}, Networks: []string{"203.0.113.0/24", "2001:db8:b000::/40"}, ASNs: []uint32{64498}, Domains: []string{"kr"},
		Timezone: "Asia/Seoul", Languages: []string{"ko", "en"}, HotlineEmail: "hotline@kr.csirtlink.test"},
}

// Options describe a network.
type Options struct {
	Dir        string      // each node gets Dir/<team>/
	BasePort   int         // node i listens on BasePort+i+1; 0 picks free ports
	Teams      []team.Team // default: Default
	PullOnly   []string    // teams that accept no inbound connections and pull instead
	Federation config.Federation
	Hotline    config.Hotline
	SMTP       *config.SMTP // the relay every node sends hotline mail through
	// MailDir, if set, runs an SMTP server that files every message there as .eml,
	// and every node sends its hotline mail to it.
	MailDir string
	// Databases gives a team's node another database than SQLite in its directory,
	// e.g. {"jp": {Driver: "postgres", DSN: …}}.
	Databases map[string]config.Database
	Clock     clock.Clock
	Logger    *slog.Logger
	// Strangers start every node knowing no peer: they onboard each other through the
	// partner directory (docs/partners.md).
	Strangers bool
	// Directory tunes the partner directory of every node.
	Directory config.Directory
	// Reverify lets partners ask each other to confirm their entries (the demo does);
	// off, unless Directory.Reverify is set, no directory.verify envelopes flow, so
	// tests count only the envelopes they cause.
	Reverify bool
}

// Node is one node of the network.
type Node struct {
	Team     string
	URL      string
	Token    string // an admin's API token
	User     string // the web console's duty officer
	Password string // their password, made when the node is first opened in this process
	// MetricsToken is the bearer token of the node's GET /metrics, new on every Start.
	MetricsToken string
	// MISPFeedToken is the token of the node's MISP feed "soc" (audience: outside, up
	// to GREEN), new on every Start.
	MISPFeedToken string
	ConfigPath    string
	App           *app.Node // nil while stopped
	addr          string
}

// Net is a running network.
type Net struct {
	Nodes []*Node
	opts  Options
	sink  *mailSink
}

// Start creates (or reopens) and starts every node.
func Start(ctx context.Context, opts Options) (*Net, error) {
	if opts.Teams == nil {
		opts.Teams = Default
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Net{opts: opts}
	if opts.MailDir != "" {
		sink, err := startMailSink(opts.MailDir)
		if err != nil {
			return nil, fmt.Errorf("testnet: mail sink: %w", err)
		}
		n.sink = sink
		n.opts.SMTP = &config.SMTP{Addr: sink.addr, From: "csirtlink hotline <hotline@csirtlink.test>", TLS: "none"}
	}
	lns := make([]net.Listener, len(opts.Teams))
	keys := make([]identity.Key, len(opts.Teams))
	pgpKeys := make([]string, len(opts.Teams))
	for i, t := range opts.Teams {
		addr := "127.0.0.1:0"
		if opts.BasePort > 0 {
			addr = "127.0.0.1:" + strconv.Itoa(opts.BasePort+i+1)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(lns)
			return nil, fmt.Errorf("testnet: %s: %w", t.ID, err)
		}
		lns[i] = ln
		dir := filepath.Join(opts.Dir, t.ID)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			closeAll(lns)
			return nil, err
		}
		key, err := loadOrCreateKey(filepath.Join(dir, "node.key"))
		if err != nil {
			closeAll(lns)
			return nil, err
		}
		keys[i] = key
		if pgpKeys[i], err = app.LoadOrCreatePGP(filepath.Join(dir, "pgp.key"), t.Name, t.HotlineEmail); err != nil {
			closeAll(lns)
			return nil, err
		}
		n.Nodes = append(n.Nodes, &Node{Team: t.ID, URL: "http://" + ln.Addr().String(), addr: ln.Addr().String(),
			ConfigPath: filepath.Join(dir, "config.json"), MetricsToken: identity.RandomID(32), MISPFeedToken: identity.RandomID(32)})
	}
	for i, t := range opts.Teams {
		cfg := n.config(i, t, keys, pgpKeys)
		if err := cfg.Save(n.Nodes[i].ConfigPath); err != nil {
			closeAll(lns)
			return nil, err
		}
	}
	for i, nd := range n.Nodes {
		if err := n.open(ctx, nd, lns[i]); err != nil {
			closeAll(lns[i+1:])
			n.Close()
			return nil, err
		}
	}
	return n, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		if ln != nil {
			ln.Close()
		}
	}
}

func loadOrCreateKey(path string) (identity.Key, error) {
	if k, err := identity.Load(path); err == nil {
		return k, nil
	}
	k, err := identity.Generate()
	if err != nil {
		return k, err
	}
	return k, k.Save(path)
}

func (n *Net) config(i int, t team.Team, keys []identity.Key, pgpKeys []string) config.Config {
	t.URL = n.Nodes[i].URL
	dir := n.opts.Directory
	dir.NoAsks = dir.NoAsks || (!n.opts.Reverify && dir.Reverify == 0)
	cfg := config.Config{Team: t, Listen: n.Nodes[i].addr, DataDir: ".", KeyFile: "node.key", Federation: n.opts.Federation,
		Hotline: n.opts.Hotline, SMTP: n.opts.SMTP, Database: n.opts.Databases[t.ID], Directory: dir,
		Metrics:   config.Metrics{TokenHash: opmetrics.HashToken(n.Nodes[i].MetricsToken)},
		MISPFeeds: []config.MISPFeed{{Name: "soc", TokenHash: misp.HashToken(n.Nodes[i].MISPFeedToken), Team: "outside", Audience: "GREEN"}}}
	if n.opts.Strangers {
		return cfg
	}
	selfPulls := slices.Contains(n.opts.PullOnly, t.ID)
	for j, o := range n.opts.Teams {
		if j == i {
			continue
		}
		o.URL = n.Nodes[j].URL
		o.PublicKey, o.PGPKey = keys[j].Public(), pgpKeys[j]
		p := team.Peer{Team: o, Delivery: team.Push, PullFrom: selfPulls}
		if slices.Contains(n.opts.PullOnly, o.ID) {
			p.Delivery = team.Pull
		}
		cfg.Peers = append(cfg.Peers, p)
	}
	return cfg
}

// open opens a node from its config file, makes sure it has an admin with a token, and
// serves on ln.
func (n *Net) open(ctx context.Context, nd *Node, ln net.Listener) error {
	cfg, err := config.Load(nd.ConfigPath)
	if err != nil {
		ln.Close()
		return err
	}
	a, err := app.Open(ctx, cfg, app.Options{Clock: n.opts.Clock, Logger: n.opts.Logger})
	if err != nil {
		ln.Close()
		return err
	}
	if nd.Token == "" {
		// A reopened directory already has its admin; it gets a fresh token.
		_, err := a.Auth.CreateUser(ctx, "admin", "Duty admin ("+nd.Team+")", "", auth.Admin)
		if err == nil || isConflict(err) {
			nd.Token, _, err = a.Auth.IssueToken(ctx, "admin", "testnet", 0)
		}
		if err != nil {
			a.Close()
			ln.Close()
			return err
		}
	}
	if nd.Password == "" {
		// The web console's duty officer gets a fresh password, as the admin a fresh token.
		nd.User, nd.Password = "duty", auth.GeneratePassword()
		_, err := a.Auth.CreateUser(ctx, nd.User, "Duty officer ("+nd.Team+")", "", auth.DutyOfficer)
		if err == nil || isConflict(err) {
			u, uerr := a.Store.UserByName(ctx, nd.User)
			err = uerr
			if err == nil {
				err = auth.SetPassword(ctx, a.Store, u.ID, nd.Password)
			}
		}
		if err != nil {
			a.Close()
			ln.Close()
			return err
		}
	}
	a.Serve(ln)
	nd.App = a
	return nil
}

// Node returns the node of a team.
func (n *Net) Node(teamID string) *Node {
	for _, nd := range n.Nodes {
		if nd.Team == teamID {
			return nd
		}
	}
	return nil
}

// Stop shuts one node down; its files stay, so Restart brings it back as it was.
func (n *Net) Stop(teamID string) error {
	nd := n.Node(teamID)
	if nd == nil || nd.App == nil {
		return fmt.Errorf("testnet: %s is not running", teamID)
	}
	err := nd.App.Close()
	nd.App = nil
	return err
}

// Restart starts a stopped node again on its old address.
func (n *Net) Restart(ctx context.Context, teamID string) error {
	nd := n.Node(teamID)
	if nd == nil || nd.App != nil {
		return fmt.Errorf("testnet: %s is not stopped", teamID)
	}
	// A killed process's socket can linger for a moment; try again briefly.
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", nd.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("testnet: restart %s: %w", teamID, err)
	}
	return n.open(ctx, nd, ln)
}

// Close stops every running node.
func (n *Net) Close() error {
	var errs []error
	if n.sink != nil {
		defer n.sink.Close()
	}
	for _, nd := range n.Nodes {
		if nd.App != nil {
			errs = append(errs, nd.App.Close())
			nd.App = nil
		}
	}
	return errors.Join(errs...)
}

func isConflict(err error) bool {
	p, ok := problem.As(err)
	return ok && p.Status == http.StatusConflict
}
