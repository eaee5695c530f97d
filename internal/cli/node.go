package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"csirtlink/internal/app"
	"csirtlink/internal/auth"
	"csirtlink/internal/config"
	"csirtlink/internal/identity"
	"csirtlink/internal/misp"
	"csirtlink/internal/opmetrics"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/team"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	n, err := app.Open(ctx, cfg, app.Options{})
	if err != nil {
		return err
	}
	if err := n.ListenAndServe(); err != nil {
		n.Close()
		return err
	}
	<-ctx.Done()
	n.Log.Info("shutting down")
	return n.Close()
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	db, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, note := range db.PermissionNotes() {
		fmt.Fprintf(stderr, "warning: %s\n", note)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: schema at version %d\n", db.Where(), v)
	return nil
}

func runDB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "copy" {
		return fmt.Errorf("%w: db copy --config FILE --to DSN", errUsage)
	}
	fs := newFlags("db copy", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file` of the node to copy (stop it first)")
	to := fs.String("to", "", "the new, empty PostgreSQL database's `DSN` (a password may come from PGPASSWORD or ~/.pgpass instead)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *to == "" {
		return fmt.Errorf("%w: db copy needs --to DSN", errUsage)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	src, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := sqlstore.OpenPostgres(ctx, *to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer dst.Close()
	fmt.Fprintf(stdout, "copying %s to %s\n", src.Where(), dst.Where())
	counts, err := src.CopyTo(ctx, dst)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSOURCE\tTARGET\t")
	for _, c := range counts {
		if c.Skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-\tnot copied: %s\n", c.Table, c.Skipped)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", c.Table, c.Source, c.Target)
	}
	tw.Flush()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "every table's rows counted on both sides and equal. Set \"database\": {\"driver\": \"postgres\", \"dsn\": …} in %s to use it.\n", *path)
	return nil
}

func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	dir := fs.String("dir", "", "`directory` for the node's configuration, key and database (required)")
	id := fs.String("team", "", "team `id`, e.g. jp (required)")
	name := fs.String("name", "", "team `name`, e.g. JPCERT/CC (required)")
	tz := fs.String("timezone", "", "IANA time `zone`, e.g. Asia/Tokyo (required)")
	listen := fs.String("listen", "127.0.0.1:7400", "`address` to listen on")
	url := fs.String("url", "", "`URL` peers use to reach this node (default http://LISTEN)")
	email := fs.String("hotline-email", "", "the team's published hotline `address`")
	admin := fs.String("admin", "admin", "`name` of the first administrator")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" || *id == "" || *name == "" || *tz == "" {
		return fmt.Errorf("%w: init needs --dir, --team, --name and --timezone", errUsage)
	}
	if *url == "" {
		*url = "http://" + *listen
	}
	metricsToken := identity.RandomID(32)
	cfg := config.Config{Team: team.Team{ID: *id, Name: *name, Timezone: *tz, URL: *url, HotlineEmail: *email},
		Listen: *listen, DataDir: ".", KeyFile: "node.key", Peers: []team.Peer{},
		Metrics: config.Metrics{TokenHash: opmetrics.HashToken(metricsToken)}}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	cfgPath := filepath.Join(*dir, "csirtlink.json")
	if _, err := os.Stat(cfgPath); err == nil {
		return fmt.Errorf("%s exists; init never overwrites a node", cfgPath)
	}
	key, err := identity.Generate()
	if err != nil {
		return err
	}
	if err := key.Save(filepath.Join(*dir, "node.key")); err != nil {
		return err
	}
	if err := cfg.Save(cfgPath); err != nil {
		return err
	}
	loaded, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	n, err := app.Open(ctx, loaded, app.Options{})
	if err != nil {
		return err
	}
	defer n.Close()
	u, err := n.Auth.CreateUser(ctx, *admin, "", "", auth.Admin)
	if err != nil {
		return err
	}
	tok, _, err := n.Auth.IssueToken(ctx, *admin, "init", 0)
	if err != nil {
		return err
	}
	pw := auth.GeneratePassword()
	if err := auth.SetPassword(ctx, n.Store, u.ID, pw); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created node %s in %s\n\n", *id, *dir)
	fmt.Fprintf(stdout, "  config:     %s\n  public key: %s\n  admin:      %s\n  password:   %s   (for the web console; shown once)\n  token:      %s   (for the API and CLI; shown once; stored only as a hash)\n  metrics:    %s   (Prometheus' bearer token for GET /metrics; shown once; its hash is in the config)\n\n",
		cfgPath, key.Public(), *admin, pw, tok, metricsToken)
	fmt.Fprintf(stdout, "Give partners this entry for their \"peers\" list:\n")
	return printPeerEntry(stdout, cfg.Team, key.Public())
}

func printPeerEntry(w io.Writer, t team.Team, pub string) error {
	t.PublicKey = pub
	b, err := json.MarshalIndent(team.Peer{Team: t}, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func runIdentity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("identity", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	key, err := identity.Load(cfg.KeyFile)
	if err != nil {
		return err
	}
	return printPeerEntry(stdout, cfg.Team, key.Public())
}

func openForAdmin(ctx context.Context, path string) (*app.Node, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg, app.Options{})
}

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "create":
		return userCreate(ctx, args, stdout, stderr)
	case "password":
		return userPassword(ctx, args, os.Stdin, stdout, stderr)
	case "list":
		return userList(ctx, args, stdout, stderr)
	case "disable", "enable", "signout":
		return userStanding(ctx, sub, args, stdout, stderr)
	}
	return fmt.Errorf("%w: csirtlink user create|password|list|disable|enable|signout --config FILE [--name NAME]", errUsage)
}

func userCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("user create", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	name := fs.String("name", "", "login `name`")
	display := fs.String("display-name", "", "full `name`")
	email := fs.String("email", "", "e-mail `address`")
	role := fs.String("role", auth.Handler, "`role`: admin, duty_officer, handler or observer")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	u, err := n.Auth.CreateUser(ctx, *name, *display, *email, *role)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (%s)\n", u.Name, u.Role)
	return nil
}

// userList prints every person with their role, standing and last sign-in.
func userList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("user list", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	us, err := n.Auth.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tLAST SIGN-IN\tDISPLAY NAME")
	for _, u := range us {
		status, last := "active", "never"
		if u.DisabledAt != nil {
			status = "disabled since " + u.DisabledAt.Format(time.RFC3339)
		}
		if u.LastSigninAt != nil {
			last = u.LastSigninAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, status, last, u.DisplayName)
	}
	return tw.Flush()
}

// userStanding disables or enables a person, or signs them out everywhere.
func userStanding(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("user "+sub, stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	name := fs.String("name", "", "login `name`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("%w: csirtlink user %s --config FILE --name NAME", errUsage, sub)
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	change, done := n.Auth.Disable, "disabled %s: sign-in refused, sessions and API tokens stopped\n"
	switch sub {
	case "enable":
		change, done = n.Auth.Enable, "enabled %s\n"
	case "signout":
		change, done = n.Auth.SignOut, "signed %s out of every console session\n"
	}
	u, err := change(ctx, auth.CLI, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, done, u.Name)
	return nil
}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "list" {
		return tokenList(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "revoke" {
		return tokenRevoke(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%w: csirtlink token create|list|revoke --config FILE [flags]", errUsage)
	}
	fs := newFlags("token create", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	user := fs.String("user", "", "the user the token acts as")
	label := fs.String("label", "", "what the token is for")
	ttl := fs.Duration("ttl", 0, "lifetime, e.g. 720h (0: no expiry)")
	metrics := fs.Bool("metrics", false, "make a token for GET /metrics (Prometheus) instead: its hash goes in the configuration")
	mispFeed := fs.Bool("misp-feed", false, "make a token for a MISP instance to read this node's MISP feed instead: its hash goes in the configuration")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *mispFeed {
		// Like the metrics token: a MISP instance is no user, and the feed's audience is
		// configured beside the token's hash.
		tok := identity.RandomID(32)
		fmt.Fprintln(stdout, tok)
		fmt.Fprintf(stderr, "put its hash in %s with the feed's audience and restart the node:\n  \"misp_feeds\": [{\"name\": \"soc\", \"token_hash\": \"%s\", \"team\": \"outside\", \"audience\": \"GREEN\"}]\n", *path, misp.HashToken(tok))
		fmt.Fprintf(stderr, "in MISP: Sync Actions > Feeds > Add feed, source format MISP feed, URL <this node>%s, headers: Authorization: %s\n", misp.FeedPath, tok)
		return nil
	}
	if *metrics {
		// The metrics token lives in the configuration, as its hash, not in the
		// database: Prometheus needs no user, and rotating it is an edit and a restart.
		tok := identity.RandomID(32)
		fmt.Fprintln(stdout, tok)
		fmt.Fprintf(stderr, "put its hash in %s and restart the node:\n  \"metrics\": {\"token_hash\": \"%s\"}\n", *path, opmetrics.HashToken(tok))
		return nil
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	tok, t, err := n.Auth.IssueToken(ctx, *user, *label, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	if t.ExpiresAt != nil {
		fmt.Fprintf(stderr, "expires %s\n", t.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

func tokenList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token list", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	user := fs.String("user", "", "whose tokens")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	toks, err := n.Auth.Tokens(ctx, *user)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLABEL\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
	show := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format(time.RFC3339)
	}
	for _, t := range toks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Label, t.CreatedAt.Format(time.RFC3339), show(t.ExpiresAt), show(t.LastUsedAt), show(t.RevokedAt))
	}
	return tw.Flush()
}

func tokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token revoke", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	id := fs.String("id", "", "the token's id (from token list)")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.Auth.RevokeToken(ctx, *id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked token %s\n", *id)
	return nil
}

// userPassword sets a person's console password: a generated one (printed once), or
// one read from the first line of standard input, so it never appears in a process list.
// Whoever had signed in with the old one is signed out.
func userPassword(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("user password", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	name := fs.String("name", "", "login `name`")
	generate := fs.Bool("generate", false, "make a random password and print it")
	if err := parse(fs, args); err != nil {
		return err
	}
	pw := ""
	if *generate {
		pw = auth.GeneratePassword()
	} else {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		pw = strings.TrimRight(line, "\r\n")
		if pw == "" {
			return fmt.Errorf("%w: give the password on standard input, or use --generate", errUsage)
		}
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	u, err := n.Auth.SetPassword(ctx, auth.CLI, *name, pw)
	if err != nil {
		return err
	}
	if *generate {
		fmt.Fprintf(stdout, "%s\n", pw)
	}
	fmt.Fprintf(stderr, "password set for %s; their console sessions are ended\n", u.Name)
	return nil
}
