package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"csirtlink/internal/taxii"
)

const taxiiUsage = `Usage: csirtlink taxii COMMAND [flags]

TAXII 2.1 (docs/taxii.md), on this node's database (--config FILE):
  consumer create --name N --audience CLEAR|GREEN|AMBER [--team T] [--write]
                                 an account for a TAXII client; prints its password and token once
  consumer list | consumer rotate|disable|enable|delete --name N
  source add --id ID --url API-ROOT --collection C [--user U] [--secret S] [--tlp AMBER] [--interval 1h]
                                 a remote collection pulled on a schedule
  source list | source remove --id ID
  pull URL --collection ID [--source ID] [--user U] [--secret S] [--tlp AMBER]
                                 pull a remote collection now, from where the last pull stopped
`

func runTAXII(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, rest := "", args
	if len(args) > 0 {
		sub, rest = args[0], args[1:]
	}
	what := ""
	if (sub == "consumer" || sub == "source") && len(rest) > 0 {
		what, rest = rest[0], rest[1:]
	}
	switch sub + " " + what {
	case "consumer create":
		return taxiiConsumerCreate(ctx, rest, stdout, stderr)
	case "consumer list":
		return taxiiConsumerList(ctx, rest, stdout, stderr)
	case "consumer rotate", "consumer disable", "consumer enable", "consumer delete":
		return taxiiConsumerChange(ctx, what, rest, stdout, stderr)
	case "source add":
		return taxiiSourceAdd(ctx, rest, stdout, stderr)
	case "source list":
		return taxiiSourceList(ctx, rest, stdout, stderr)
	case "source remove":
		return taxiiSourceRemove(ctx, rest, stdout, stderr)
	case "pull ":
		return taxiiPull(ctx, rest, stdout, stderr)
	}
	fmt.Fprint(stderr, taxiiUsage)
	return fmt.Errorf("%w: csirtlink taxii consumer|source|pull", errUsage)
}

func printCredentials(w io.Writer, c taxii.Credentials) {
	fmt.Fprintf(w, "TAXII consumer %s\n  password: %s\n  token:    %s\n(shown once: only their hashes are kept)\n", c.Name, c.Password, c.Token)
}

func taxiiConsumerCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("taxii consumer create", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	name := fs.String("name", "", "account `name`")
	audience := fs.String("audience", "", "the strictest TLP `label` its audience may receive: CLEAR, GREEN or AMBER")
	team := fs.String("team", "", "the one `team` the consumer stands for, if any (ours or an active peer)")
	write := fs.Bool("write", false, "may POST to the inbox collection")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	c, err := n.TAXIIConsumers.Create(ctx, taxii.ConsumerInput{Name: *name, Ceiling: *audience, Team: *team, CanWrite: *write})
	if err != nil {
		return err
	}
	printCredentials(stdout, c)
	return nil
}

func taxiiConsumerList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("taxii consumer list", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	cs, err := n.TAXIIConsumers.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tAUDIENCE\tTEAM\tWRITE\tSTATUS")
	for _, c := range cs {
		status := "active"
		if c.DisabledAt != nil {
			status = "disabled since " + c.DisabledAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", c.Name, c.Ceiling, dash(c.Team), c.CanWrite, status)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func taxiiConsumerChange(ctx context.Context, what string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("taxii consumer "+what, stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	name := fs.String("name", "", "account `name`")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	switch what {
	case "rotate":
		c, err := n.TAXIIConsumers.Rotate(ctx, *name)
		if err != nil {
			return err
		}
		printCredentials(stdout, c)
		return nil
	case "delete":
		err = n.TAXIIConsumers.Delete(ctx, *name)
	default:
		err = n.TAXIIConsumers.SetDisabled(ctx, *name, what == "disable")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "TAXII consumer %s: %sd\n", *name, strings.TrimSuffix(what, "e"))
	return nil
}

type sourceFlags struct {
	path, id, url, collection, user, secret, tlp *string
	interval                                     *time.Duration
}

func newSourceFlags(name string, stderr io.Writer) (*sourceFlags, func([]string) error) {
	fs := newFlags(name, stderr)
	f := &sourceFlags{path: fs.String("config", "csirtlink.json", "configuration `file`"),
		id:         fs.String("id", "", "the source's `id` here"),
		url:        fs.String("url", "", "the remote API root's `URL`"),
		collection: fs.String("collection", "", "the remote collection's `id`"),
		user:       fs.String("user", "", "HTTP Basic `user` (without: --secret is a bearer token)"),
		secret:     fs.String("secret", "", "the password or token (`secret`)"),
		tlp:        fs.String("tlp", "AMBER", "the TLP `label` of pulled objects without a TLP marking"),
		interval:   fs.Duration("interval", time.Hour, "how often to pull (`duration`)")}
	return f, func(args []string) error { return parse(fs, args) }
}

func (f *sourceFlags) input() taxii.SourceInput {
	return taxii.SourceInput{ID: *f.id, URL: *f.url, Collection: *f.collection, Username: *f.user, Secret: *f.secret, TLP: *f.tlp, Interval: *f.interval}
}

func taxiiSourceAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, parseArgs := newSourceFlags("taxii source add", stderr)
	if err := parseArgs(args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *f.path)
	if err != nil {
		return err
	}
	defer n.Close()
	s, err := taxii.SaveSource(ctx, n.Store, f.input(), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "TAXII source %s: %s collection %s, every %s\n", s.ID, s.URL, s.Collection, s.Interval)
	return nil
}

func taxiiSourceList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("taxii source list", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	ss, err := n.Store.TAXIISources(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tCOLLECTION\tLAST PULL\tLAST\tTOTAL\tERROR")
	for _, s := range ss {
		last := "never"
		if s.LastPullAt != nil {
			last = s.LastPullAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", s.ID, s.URL, s.Collection, last, s.LastCount, s.Total, dash(s.LastError))
	}
	return tw.Flush()
}

func taxiiSourceRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("taxii source remove", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	id := fs.String("id", "", "the source's `id`")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	if err := n.Store.DeleteTAXIISource(ctx, *id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "TAXII source %s removed\n", *id)
	return nil
}

// taxiiPull saves the URL and collection as a source (so that the next pull, by hand or
// on the schedule, resumes where this one stopped) and pulls it now.
func taxiiPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, parseArgs := newSourceFlags("taxii pull", stderr)
	var pos []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := parseArgs(args); err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: csirtlink taxii pull URL --collection ID [flags]", errUsage)
	}
	*f.url = pos[0]
	if *f.id == "" {
		u, err := url.Parse(*f.url)
		if err != nil || u.Hostname() == "" {
			return fmt.Errorf("%w: URL %q is not an http(s) URL", errUsage, *f.url)
		}
		*f.id = strings.ToLower(strings.NewReplacer(":", "-", "[", "", "]", "").Replace(u.Host))
	}
	n, err := openForAdmin(ctx, *f.path)
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := taxii.SaveSource(ctx, n.Store, f.input(), time.Now()); err != nil {
		return err
	}
	res, err := n.TAXIIPuller.PullSource(ctx, *f.id)
	fmt.Fprintf(stdout, "pulled %d objects in %d pages from %s (source %s): %d indicators shared, %d kept as they came, %d repeats ignored\n",
		res.Objects, res.Pages, *f.url, *f.id, res.Imported, res.Kept, res.Repeated)
	if res.Stopped != "" {
		fmt.Fprintf(stdout, "stopped: %s\n", res.Stopped)
	}
	return err
}
