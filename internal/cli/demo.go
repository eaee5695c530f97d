package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/misp"
	"csirtlink/internal/store"
	"csirtlink/internal/taxii"
	"csirtlink/internal/testnet"
)

// demoFile is what demo writes for scripts and for people: each node's URL and token.
type demoFile struct {
	Nodes []demoNode `json:"nodes"`
}

type demoNode struct {
	Team  string `json:"team"`
	Name  string `json:"name"`
	URL   string `json:"url"`
	Token string `json:"token"`
	// The web console's duty officer at URL, and their password (new on every start).
	User     string `json:"user"`
	Password string `json:"password"`
	// MetricsToken is the bearer token of the node's GET /metrics (Prometheus).
	MetricsToken string `json:"metrics_token"`
	// A TAXII 2.1 consumer of the node with a GREEN audience (docs/taxii.md), and the
	// collection of its shared indicators.
	TAXIIUser       string `json:"taxii_user"`
	TAXIIPassword   string `json:"taxii_password"`
	TAXIICollection string `json:"taxii_collection"`
	// MISPFeedURL and MISPFeedToken are the node's MISP feed (audience: outside, up to
	// GREEN) and the token a MISP instance sends in its Authorization header.
	MISPFeedURL   string `json:"misp_feed_url"`
	MISPFeedToken string `json:"misp_feed_token"`
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	dir := fs.String("dir", "", "`directory` for the three nodes' files (default: a new temporary directory)")
	basePort := fs.Int("base-port", 7400, "nodes listen on `port`+1, +2, +3")
	verbose := fs.Bool("v", false, "log every node's activity to stderr")
	months := fs.Int("history", 4, "`months` of collaboration history to play through a new demo first (0: none)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *months < 0 || *months > 24 {
		return fmt.Errorf("%w: --history must be from 0 to 24 months", errUsage)
	}
	if *basePort < 1 || *basePort > 65530 {
		return fmt.Errorf("%w: --base-port must be from 1 to 65530", errUsage)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "csirtlink-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	if *verbose {
		level.Set(slog.LevelInfo)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// A new demo first plays months of history through the three nodes, on a clock set
	// back that then catches up with the real one, so that the metrics and the joint
	// report show something real; a demo directory reopened has its history.
	_, statErr := os.Stat(filepath.Join(*dir, "cn", "csirtlink.db"))
	fresh := errors.Is(statErr, iofs.ErrNotExist) && *months > 0
	now := time.Now().UTC()
	historyStart := now.AddDate(0, -*months, 0).Truncate(24 * time.Hour)
	var clk clock.Clock = clock.Real{}
	offset := clock.NewOffset(historyStart.Add(-time.Hour))
	if fresh {
		clk = offset
	}
	n, err := testnet.Start(ctx, testnet.Options{Dir: *dir, BasePort: *basePort, Logger: logger, MailDir: filepath.Join(*dir, "mail"), Clock: clk,
		Reverify: true})
	if err != nil {
		return err
	}
	defer n.Close()
	existing, err := n.Node("cn").App.Store.ListIncidents(ctx, store.IncidentFilter{Limit: 1})
	if err != nil {
		return err
	}
	if fresh {
		fmt.Fprintf(stdout, "playing %d months of collaboration history (%s to now) through the three nodes…\n", *months, historyStart.Format("2006-01-02"))
		// While the clock leaps forward, requests signed just before a leap arrive out
		// of the time window and are retried: expected, and not worth a warning each.
		quiet := level.Level()
		level.Set(slog.LevelError)
		if err := n.Play(ctx, offset, testnet.DemoHistory(historyStart, now.Add(-6*time.Hour))); err != nil {
			return fmt.Errorf("seed history: %w", err)
		}
		offset.Set(time.Now())
		level.Set(quiet)
	}
	for _, nd := range n.Nodes {
		nd.App.Feeds.SetPartners(testnet.Partners(nd.Team))
	}
	var feeds *testnet.FeedCounts
	if len(existing) == 0 {
		if err := n.Seed(ctx); err != nil {
			return fmt.Errorf("seed scenario: %w", err)
		}
		fc, err := n.SeedFeeds(ctx)
		if err != nil {
			return fmt.Errorf("seed feeds: %w", err)
		}
		feeds = &fc
		at := time.Now().Add(5 * time.Minute).UTC().Truncate(time.Second)
		id, err := n.SeedCVD(ctx, at)
		if err != nil {
			return fmt.Errorf("seed vulnerability case: %w", err)
		}
		fmt.Fprintf(stdout, "vulnerability case %s: embargo agreed by cn, jp and kr until %s (in 5 minutes); each node publishes its CSAF advisory then at /.well-known/csaf/\n",
			id, at.Format(time.RFC3339))
	}
	for _, nd := range n.Nodes {
		if _, err := nd.App.Publisher.Publish(ctx); err != nil {
			return fmt.Errorf("publish %s's figures: %w", nd.Team, err)
		}
	}
	var df demoFile
	for _, nd := range n.Nodes {
		t, _ := nd.App.Fed.Directory().Team(nd.Team)
		taxiiCred, err := demoTAXIIConsumer(ctx, nd.App.TAXIIConsumers)
		if err != nil {
			return fmt.Errorf("%s's TAXII consumer: %w", nd.Team, err)
		}
		df.Nodes = append(df.Nodes, demoNode{Team: nd.Team, Name: t.Name, URL: nd.URL, Token: nd.Token,
			User: nd.User, Password: nd.Password, MetricsToken: nd.MetricsToken,
			TAXIIUser: taxiiCred.Name, TAXIIPassword: taxiiCred.Password, TAXIICollection: taxii.IndicatorsCollection,
			MISPFeedURL: nd.URL + misp.FeedPath, MISPFeedToken: nd.MISPFeedToken})
	}
	b, _ := json.MarshalIndent(df, "", "  ")
	demoPath := filepath.Join(*dir, "demo.json")
	if err := os.WriteFile(demoPath, append(b, '\n'), 0o600); err != nil {
		return err
	}
	printDemo(stdout, n, df, demoPath)
	if feeds != nil {
		printFeeds(stdout, feeds)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping the three nodes…")
	return nil
}

func printDemo(w io.Writer, n *testnet.Net, df demoFile, demoPath string) {
	now := time.Now()
	fmt.Fprintf(w, "csirtlink demo: three federated CSIRT nodes on this machine\n\n")
	for _, d := range df.Nodes {
		t, _ := n.Node(d.Team).App.Fed.Directory().Team(d.Team)
		fmt.Fprintf(w, "  %-3s %-10s %-24s %-14s local time %s\n", d.Team, d.Name, d.URL, t.Timezone, now.In(t.Location()).Format("15:04 MST"))
	}
	jp := df.Nodes[1]
	fmt.Fprintf(w, "\nWeb console (open in a browser; sign in as the team's duty officer):\n")
	for _, d := range df.Nodes {
		fmt.Fprintf(w, "  %-3s %s/   user %s   password %s\n", d.Team, d.URL, d.User, d.Password)
	}
	fmt.Fprintf(w, "\nURLs, admin tokens and console passwords: %s\n\n", demoPath)
	fmt.Fprintf(w, "Try, in another terminal (as JPCERT/CC's duty officer):\n")
	fmt.Fprintf(w, "  export CSIRTLINK_URL=%s CSIRTLINK_TOKEN=%s\n", jp.URL, jp.Token)
	fmt.Fprintf(w, "  go run ./cmd/csirtlink incident list\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink incident show ID\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink incident comment ID \"Takedown done\" --tlp AMBER\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink stix export --incident ID --team outside --audience AMBER   # STIX 2.1 for a SOC: no AMBER+STRICT, no RED\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink iodef export --incident ID --out incident.xml   # IODEF 2.0; iodef import FILE reads one\n")
	fmt.Fprintf(w, "  curl -u %s:%s -H 'Accept: application/taxii+json;version=2.1' %s/taxii2/api/collections/%s/objects/?limit=10   # TAXII 2.1, GREEN audience\n",
		jp.TAXIIUser, jp.TAXIIPassword, jp.URL, jp.TAXIICollection)
	fmt.Fprintf(w, "  go run ./cmd/csirtlink misp export --incident ID --team outside   # a MISP event; misp import FILE [--as incident] reads one\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink peers\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink page list --state waiting   # cn's page about the botnet C2, escalating now\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink page ack ID\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink oncall show\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink commcheck report\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink indicator list --author cn --seen yes   # partners' indicators someone saw\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink search 192.0.2.77   # inside a network cn shares\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink cvd list                     # the router case, its embargo and countdown in /cvd\n")
	fmt.Fprintf(w, "  curl %s/.well-known/csaf/white/index.txt     # empty until the instant, then jp's advisory in Japanese\n", jp.URL)
	fmt.Fprintf(w, "  go run ./cmd/csirtlink cvd show ID                  # at jp: the mail with Nishikawa Networks, whose reply set a status by mail\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink cvd texts show ID --lang ja  # the advisory texts kept at this node\n")
	fmt.Fprintf(w, "  go run ./cmd/csirtlink report --period %d --lang ja --out report-%d   # the joint report of the year\n", now.Year(), now.Year())
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer %s\" %s/metrics   # Prometheus\n", jp.MetricsToken, jp.URL)
	fmt.Fprintf(w, "  curl -H \"Authorization: %s\" %s/manifest.json   # the MISP feed a MISP instance subscribes to (GREEN and CLEAR indicators)\n", jp.MISPFeedToken, jp.MISPFeedURL)
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $CSIRTLINK_TOKEN\" $CSIRTLINK_URL/api/v1/incidents\n")
	fmt.Fprintf(w, "\nThe comment appears at cn and kr within a second. Hotline e-mail lands in %s as .eml files:\n", filepath.Join(filepath.Dir(demoPath), "mail"))
	fmt.Fprintf(w, "jp's on-call officer is mailed now; unacknowledged, the page reaches jp's lead after 2 minutes.\n")
	fmt.Fprintf(w, "Ctrl-C stops the demo.\n")
}

// printFeeds shows where the demo's Shadowserver report went, node by node.
func printFeeds(w io.Writer, fc *testnet.FeedCounts) {
	r := fc.Run
	fmt.Fprintf(w, "\nBulk feed routing: cn ingested a Shadowserver scan_telnet report (%s), %d events:\n", r.ID, r.Events)
	fmt.Fprintf(w, "  cn  %d to its owners %v, unrouted %d, to partners %v\n", r.RoutedOwners, r.Owners, r.Unrouted, r.Partners)
	for _, team := range []string{"jp", "kr"} {
		in := fc.Received[team]
		fmt.Fprintf(w, "  %s  received %d from cn as a signed bulk report: %d to its owners %v, unrouted %d\n",
			team, in.Events, in.RoutedOwners, in.Owners, in.Unrouted)
	}
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $CSIRTLINK_TOKEN\" \"$CSIRTLINK_URL/api/v1/feeds/reports?partner=cn\"\n")
	fmt.Fprintf(w, "Owners' reports (in their language, CSV or JSON attached) land in the mail folder as well.\n")
}

// demoTAXIIConsumer is the demo's TAXII consumer "soc" with a GREEN audience: made on
// the first start, given a new password on every later one (only its hash is kept).
func demoTAXIIConsumer(ctx context.Context, c *taxii.Consumers) (taxii.Credentials, error) {
	cred, err := c.Create(ctx, taxii.ConsumerInput{Name: "soc", Ceiling: "GREEN"})
	if err == nil {
		return cred, nil
	}
	if _, uerr := c.Update(ctx, taxii.ConsumerInput{Name: "soc", Ceiling: "GREEN"}); uerr != nil {
		return cred, err
	}
	return c.Rotate(ctx, "soc")
}
