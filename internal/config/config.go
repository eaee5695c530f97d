// Package config reads and checks a node's configuration file.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"csirtlink/internal/team"
)

// Config is one node's configuration. Paths are relative to the file's directory.
type Config struct {
	// Team is this node's own team; its url is the address peers use to reach us.
	Team team.Team `json:"team"`
	// Listen is the address the HTTP server binds, e.g. "127.0.0.1:7401".
	Listen string `json:"listen"`
	// DataDir holds the database (on SQLite) and, by default, the key.
	DataDir string `json:"data_dir"`
	// Database is where the node keeps its records: SQLite in DataDir unless set.
	Database Database `json:"database,omitzero"`
	// KeyFile is the node's Ed25519 private key (PKCS#8 PEM).
	KeyFile string `json:"key_file"`
	// Peers are the teams we federate with.
	Peers []team.Peer `json:"peers"`
	// Federation tunes delivery.
	Federation Federation `json:"federation"`
	// Directory tunes the partner directory (docs/partners.md).
	Directory Directory `json:"directory,omitempty"`
	// SMTP is the relay hotline mail goes through; without it e-mail is not sent.
	SMTP *SMTP `json:"smtp,omitempty"`
	// Hotline tunes the hotline.
	Hotline Hotline `json:"hotline,omitempty"`
	// PGPKeyFile is the node's OpenPGP key (armored), which signs hotline mail. Made on
	// first start when missing.
	PGPKeyFile string `json:"pgp_key_file,omitempty"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level,omitempty"`
	// Metrics configures the operational metrics endpoint and the sharing of
	// collaboration aggregates with partners.
	Metrics Metrics `json:"metrics,omitempty"`
	// Feeds configures bulk feed ingestion.
	Feeds Feeds `json:"feeds,omitzero"`
	// Queue, when it names a NATS server, moves the routing of bulk feeds to workers
	// (csirtlink feed worker) through a JetStream work queue.
	Queue Queue `json:"queue,omitzero"`
	// MISPFeeds are the MISP feeds this node serves at /misp/feed/ (docs/misp.md), each
	// to the bearer of its token and with what egress lets its audience have.
	MISPFeeds []MISPFeed `json:"misp_feeds,omitempty"`
}

// MISPFeed is one MISP feed: a MISP instance subscribes to it with its token.
type MISPFeed struct {
	// Name names the feed in logs and the audit log.
	Name string `json:"name"`
	// TokenHash is the hex SHA-256 of the token the MISP instance sends in its
	// Authorization header (csirtlink token create --misp-feed makes one).
	TokenHash string `json:"token_hash"`
	// Team is who reads the feed: "outside" (default: our constituency, a SOC), our own
	// team, or a peer's id.
	Team string `json:"team,omitempty"`
	// Audience is the strictest label the feed carries: CLEAR, GREEN (default) or AMBER.
	Audience string `json:"audience,omitempty"`
}

// Queue configures the JetStream work queue between feed ingestion and routing workers.
type Queue struct {
	// NATSURL is the NATS server with JetStream (nats://host:4222; several,
	// comma-separated, for a cluster). Empty: feeds route in the ingesting process.
	NATSURL string `json:"nats_url,omitempty"`
	// Stream names the work-queue stream (default CSIRTLINK_FEED_ROUTE); nodes sharing
	// one NATS need one each.
	Stream string `json:"stream,omitempty"`
	// AckWait is how long a worker may hold a batch before it goes to another (default 60s).
	AckWait Duration `json:"ack_wait,omitempty"`
	// MaxDeliver is how many deliveries a batch gets before its run fails (default 5).
	MaxDeliver int `json:"max_deliver,omitempty"`
	// MaxBytes bounds the stream; ingestion waits while it is full (default 1 GiB).
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// Replicas is the stream's number of copies in a JetStream cluster (default 1).
	Replicas int `json:"replicas,omitempty"`
}

// Metrics configures metrics.
type Metrics struct {
	// TokenHash is the hex SHA-256 of the token Prometheus sends to GET /metrics
	// (csirtlink token create --metrics makes one). Without it /metrics answers 401.
	TokenHash string `json:"token_hash,omitempty"`
	// Share is the TLP label our collaboration aggregates (counts and percentiles, no
	// case content) go to partners under: "GREEN" (the default: community peers),
	// "CLEAR" (every peer) or "none" (not shared).
	Share string `json:"share,omitempty"`
}

// Feeds configures bulk feed ingestion: the reference data that fills in an event's AS
// number and country, and the largest file the API takes.
type Feeds struct {
	// ASNDB and CountryDB are MaxMind-format databases (GeoLite2-ASN, GeoLite2-Country);
	// RIRFiles are RIR delegated-extended statistics files. All optional; relative paths
	// are in data_dir.
	ASNDB     string   `json:"asn_db,omitempty"`
	CountryDB string   `json:"country_db,omitempty"`
	RIRFiles  []string `json:"rir_files,omitempty"`
	// MaxUpload caps a feed file uploaded to POST /api/v1/feeds/ingest, in bytes as sent
	// (0: 1 GiB). `csirtlink feed ingest` reads files of any size from disk.
	MaxUpload int64 `json:"max_upload,omitempty"`
	// Aggregate, when set ("1h"), folds repeats of an event (same source address,
	// report type and port within the window) into one with a count and first and
	// last seen, for runs that do not say otherwise. Empty: not aggregated.
	Aggregate Duration `json:"aggregate,omitempty"`
}

// Database chooses the node's database.
type Database struct {
	// Driver is "sqlite" (the default: one file in data_dir, one process) or "postgres"
	// (one database that several replicas of the node share).
	Driver string `json:"driver,omitempty"`
	// DSN is the PostgreSQL connection string, e.g.
	// "postgres://csirtlink@db.example:5432/csirtlink?sslmode=verify-full". It may hold a
	// password; the node never logs or prints it.
	DSN string `json:"dsn,omitempty"`
}

// Database drivers.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DriverName is the database driver, "sqlite" when none is set.
func (d Database) DriverName() string {
	if d.Driver == "" {
		return SQLite
	}
	return d.Driver
}

// SMTP is a mail relay.
type SMTP struct {
	Addr     string   `json:"addr"`
	From     string   `json:"from"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	TLS      string   `json:"tls,omitempty"` // starttls (default), opportunistic, none, implicit
	Timeout  Duration `json:"timeout,omitempty"`
}

// Hotline tunes the hotline; zero values take the defaults.
type Hotline struct {
	FallbackAfter  Duration `json:"fallback_after,omitempty"`
	DedupeWindow   Duration `json:"dedupe_window,omitempty"`
	RateLimit      int      `json:"rate_limit,omitempty"`
	CommCheckEvery Duration `json:"commcheck_every,omitempty"`
	// WebhookAllowPrivate lets webhooks reach private and loopback addresses (a gateway
	// on the team's own network); off, such addresses are refused.
	WebhookAllowPrivate bool     `json:"webhook_allow_private,omitempty"`
	EngineInterval      Duration `json:"engine_interval,omitempty"`
}

// Directory tunes the partner directory; zero values take the defaults.
type Directory struct {
	// Reverify is how often partners confirm their entries (default 90 days).
	Reverify Duration `json:"reverify,omitempty"`
	// Grace is how long a partner's rotated-away key still verifies (default 7 days).
	Grace Duration `json:"grace,omitempty"`
	// NoAsks stops this node asking its partners to confirm their entries. Meant for
	// test networks whose assertions count the envelopes that flow; a real node asks.
	NoAsks bool `json:"no_asks,omitempty"`
}

// Federation tunes delivery; zero values take the defaults.
type Federation struct {
	BatchSize    int      `json:"batch_size,omitempty"`
	RetryMin     Duration `json:"retry_min,omitempty"`
	RetryMax     Duration `json:"retry_max,omitempty"`
	PullInterval Duration `json:"pull_interval,omitempty"`
	Timeout      Duration `json:"timeout,omitempty"`
	// Retention is how long envelope copies are kept once delivered (outbox) or
	// received (inbox); receipts and digests stay as evidence (default 2160h, 90 days).
	Retention Duration `json:"retention,omitempty"`
}

// MinRetention is the shortest federation.retention accepted: envelope copies are
// evidence an operator may need after an incident, not a cache.
const MinRetention = 24 * time.Hour

// Duration is a time.Duration written as a string such as "30s".
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("must be a duration string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a positive duration", s)
	}
	*d = Duration(v)
	return nil
}

// DatabasePath is where the node's SQLite file lives (unused on PostgreSQL).
func (c Config) DatabasePath() string { return filepath.Join(c.DataDir, "csirtlink.db") }

// Load reads, resolves and checks a configuration file.
func Load(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if len(b) > 1<<20 {
		return c, fmt.Errorf("config %s: larger than 1 MiB", path)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	base := filepath.Dir(path)
	if c.DataDir == "" {
		c.DataDir = "."
	}
	if !filepath.IsAbs(c.DataDir) {
		c.DataDir = filepath.Join(base, c.DataDir)
	}
	if c.KeyFile == "" {
		c.KeyFile = "node.key"
	}
	if !filepath.IsAbs(c.KeyFile) {
		c.KeyFile = filepath.Join(c.DataDir, c.KeyFile)
	}
	if c.PGPKeyFile == "" {
		c.PGPKeyFile = "pgp.key"
	}
	if !filepath.IsAbs(c.PGPKeyFile) {
		c.PGPKeyFile = filepath.Join(c.DataDir, c.PGPKeyFile)
	}
	c.Feeds.ASNDB, c.Feeds.CountryDB = inDataDir(c.DataDir, c.Feeds.ASNDB), inDataDir(c.DataDir, c.Feeds.CountryDB)
	for i, f := range c.Feeds.RIRFiles {
		c.Feeds.RIRFiles[i] = inDataDir(c.DataDir, f)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Validate checks what the node cannot start without. Peers are checked in full when
// the team directory is built.
func (c Config) Validate() error {
	var errs []error
	if err := c.Team.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("team.%w", err))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen: %q: %v", c.Listen, err))
	}
	if c.SMTP != nil {
		if _, _, err := net.SplitHostPort(c.SMTP.Addr); err != nil {
			errs = append(errs, fmt.Errorf("smtp.addr: %q: %v", c.SMTP.Addr, err))
		}
		if c.SMTP.From == "" {
			errs = append(errs, errors.New("smtp.from: required"))
		}
	}
	switch c.Database.DriverName() {
	case SQLite:
		if c.Database.DSN != "" {
			errs = append(errs, errors.New("database.dsn: only for the postgres driver (SQLite lives in data_dir)"))
		}
	case Postgres:
		if c.Database.DSN == "" {
			errs = append(errs, errors.New("database.dsn: required for the postgres driver"))
		}
	default:
		errs = append(errs, fmt.Errorf("database.driver: %q is not sqlite or postgres", c.Database.Driver))
	}
	if r := c.Federation.Retention; r != 0 && time.Duration(r) < MinRetention {
		errs = append(errs, fmt.Errorf("federation.retention: %s is shorter than %s", time.Duration(r), MinRetention))
	}
	for i, p := range c.Peers {
		if err := CheckPeerURL(p); err != nil {
			errs = append(errs, fmt.Errorf("peers[%d].url: %w", i, err))
		}
	}
	if q := c.Queue; q.NATSURL != "" && !strings.HasPrefix(q.NATSURL, "nats://") && !strings.HasPrefix(q.NATSURL, "tls://") {
		errs = append(errs, errors.New("queue.nats_url: must be a nats:// or tls:// URL"))
	}
	if q := c.Queue; q.AckWait < 0 || q.MaxDeliver < 0 || q.MaxBytes < 0 || q.Replicas < 0 {
		errs = append(errs, errors.New("queue: ack_wait, max_deliver, max_bytes and replicas must not be negative"))
	}
	if c.Feeds.MaxUpload < 0 {
		errs = append(errs, errors.New("feeds.max_upload: must not be negative"))
	}
	if a := time.Duration(c.Feeds.Aggregate); a < 0 || a > 7*24*time.Hour {
		errs = append(errs, errors.New("feeds.aggregate: must be a duration from 0 (off) to 168h"))
	}
	if c.Hotline.RateLimit < 0 {
		errs = append(errs, errors.New("hotline.rate_limit: must not be negative"))
	}
	if h := c.Metrics.TokenHash; h != "" {
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			errs = append(errs, errors.New("metrics.token_hash: must be the 64 hex digits of a token's SHA-256 (csirtlink token create --metrics)"))
		}
	}
	seenFeeds := map[string]bool{}
	for i, f := range c.MISPFeeds {
		if strings.TrimSpace(f.Name) == "" || seenFeeds[f.Name] {
			errs = append(errs, fmt.Errorf("misp_feeds[%d].name: required, and each feed's its own", i))
		}
		seenFeeds[f.Name] = true
		if b, err := hex.DecodeString(f.TokenHash); err != nil || len(b) != sha256.Size {
			errs = append(errs, fmt.Errorf("misp_feeds[%d].token_hash: must be the 64 hex digits of a token's SHA-256 (csirtlink token create --misp-feed)", i))
		}
		switch strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(f.Audience)), "TLP:") {
		case "", "CLEAR", "GREEN", "AMBER":
		default:
			errs = append(errs, fmt.Errorf("misp_feeds[%d].audience: %q is not CLEAR, GREEN or AMBER (a MISP feed never carries AMBER+STRICT or RED)", i, f.Audience))
		}
	}
	switch c.Metrics.Share {
	case "", "GREEN", "CLEAR", "none":
	default:
		errs = append(errs, fmt.Errorf("metrics.share: %q is not GREEN, CLEAR or none", c.Metrics.Share))
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level: %q is not debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// CheckPeerURL refuses a peer URL that would carry federation traffic in clear over a
// network: http:// is accepted for loopback (a test network, or a TLS proxy on the
// same host) or when the peer's entry says "allow_insecure": true.
func CheckPeerURL(p team.Peer) error {
	if p.URL == "" {
		return nil
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return fmt.Errorf("%q: %v", p.URL, err)
	}
	if u.Scheme != "http" || p.AllowInsecure || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%q is http:// outside loopback; use https://, or set \"allow_insecure\": true for peer %q", p.URL, p.ID)
}

// isLoopback reports whether host is localhost or a loopback address. Names other than
// localhost are not resolved: what a name resolves to can change.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Save writes the configuration as indented JSON, readable only by its owner.
func (c Config) Save(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// inDataDir resolves a relative path in the data directory; "" stays "".
func inDataDir(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
