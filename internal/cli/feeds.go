package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"csirtlink/internal/feed/pipeline"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/owner"
	"csirtlink/internal/routequeue"
	"csirtlink/internal/store"
)

// The bulk feed commands run on the node's own database (--config), like `user`: an
// import or a run of millions of events goes at disk speed, with a progress line, and
// is audited as the operator ("cli").

const cliActor = "cli"

func runOwner(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "list":
		return ownerList(ctx, args, stdout, stderr)
	case "add":
		return ownerAdd(ctx, args, stdout, stderr)
	case "import":
		return ownerImport(ctx, args, stdout, stderr)
	case "reports":
		return ownerReports(ctx, args, stdout, stderr)
	case "resend":
		return ownerResend(ctx, args, stdout, stderr)
	}
	return fmt.Errorf("%w: csirtlink owner list|add|import --config FILE [OWNERS.csv]\n"+
		"       csirtlink owner reports --config FILE OWNER\n"+
		"       csirtlink owner resend --config FILE [--contact EMAIL] OWNER REPORT", errUsage)
}

// ownerReports lists an owner's reports: state, attempts, events.
func ownerReports(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("owner reports", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, "csirtlink owner reports --config FILE OWNER", args, 1, 1)
	if err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	if _, err := n.Owners.Get(ctx, pos[0]); err != nil {
		return err
	}
	list, err := n.OwnerMail.Reports(ctx, pos[0], 100)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, map[string]any{"reports": list})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPORT\tCONTACT\tSTATE\tATTEMPTS\tEVENTS\tCREATED\tRESEND OF")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", clean(r.ID), clean(r.Contact), r.State, r.Attempts, r.Events,
			r.CreatedAt.Local().Format("2006-01-02 15:04"), clean(r.ResendOf))
	}
	return tw.Flush()
}

// ownerResend sends one of an owner's reports again (the same events, of that owner
// only), to its contact or another contact of the owner; the node's engine sends it.
func ownerResend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("owner resend", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	email := fs.String("contact", "", "send to this contact `address` of the owner (default: the report's)")
	pos, err := parseArgs(fs, "csirtlink owner resend --config FILE [--contact EMAIL] OWNER REPORT", args, 2, 2)
	if err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	r, err := n.OwnerMail.Resend(ctx, cliActor, pos[0], pos[1], *email)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report %s queued: %s again to %s\n", r.ID, r.ResendOf, r.Contact)
	return nil
}

func ownerList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("owner list", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	list, err := n.Owners.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, map[string]any{"owners": list})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tNETWORKS\tASNS\tDOMAINS\tCONTACTS")
	for _, o := range list {
		var mails []string
		for _, c := range o.Contacts {
			mails = append(mails, c.Email+" ("+c.Schedule+")")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", clean(o.ID), truncate(clean(o.Name), 40), len(o.Networks), len(o.ASNs), len(o.Domains), clean(strings.Join(mails, ", ")))
	}
	return tw.Flush()
}

func ownerAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("owner add", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	id := fs.String("id", "", "the owner's `id` (a-z, 0-9, . _ -)")
	name := fs.String("name", "", "the organisation's `name`")
	var nets, asns, doms stringList
	fs.Var(&nets, "network", "a `CIDR` network it holds (repeat)")
	fs.Var(&asns, "asn", "an AS `number` it holds (repeat)")
	fs.Var(&doms, "domain", "a `domain` it holds (repeat)")
	email := fs.String("email", "", "the abuse contact's e-mail `address`")
	pgpFile := fs.String("pgp-key", "", "`file` with the contact's armored OpenPGP public key")
	lang := fs.String("language", "en", "the contact's `language`: en, zh-Hans, ja, ko")
	format := fs.String("format", "csv", "attachment `format`: csv or json")
	schedule := fs.String("schedule", "daily", "`schedule`: immediate or daily")
	digestAt := fs.String("digest-at", "", "local `time` of the daily digest, HH:MM (default 08:00)")
	tz := fs.String("timezone", "", "IANA `zone` of --digest-at (default UTC)")
	business := fs.Bool("business-days", false, "daily digest on business days only")
	if err := parse(fs, args); err != nil {
		return err
	}
	o := store.NetOwner{ID: *id, Name: *name, Networks: nets, Domains: doms,
		Contacts: []store.OwnerContact{{Email: *email, Language: *lang, Format: *format, Schedule: *schedule, DigestAt: *digestAt, Timezone: *tz, BusinessDays: *business}}}
	for _, a := range asns {
		var v uint32
		if _, err := fmt.Sscanf(strings.TrimPrefix(strings.ToUpper(a), "AS"), "%d", &v); err != nil {
			return fmt.Errorf("%w: --asn %q is not an AS number", errUsage, a)
		}
		o.ASNs = append(o.ASNs, v)
	}
	if *pgpFile != "" {
		b, err := os.ReadFile(*pgpFile)
		if err != nil {
			return fmt.Errorf("--pgp-key: %w", err)
		}
		o.Contacts[0].PGPKey = string(b)
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	o, err = n.Owners.Create(ctx, cliActor, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "owner %s added: %d networks, %d AS numbers, %d domains\n", o.ID, len(o.Networks), len(o.ASNs), len(o.Domains))
	return nil
}

func ownerImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("owner import", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	pos, err := parseArgs(fs, "csirtlink owner import --config FILE OWNERS.csv", args, 1, 1)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	owners, err := owner.ParseCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	res, err := n.Owners.Import(ctx, cliActor, owners)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	fmt.Fprintf(stdout, "%d owners created, %d updated\n", res.Created, res.Updated)
	return nil
}

func runFeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "ingest":
		return feedIngest(ctx, args, stdout, stderr)
	case "worker":
		return feedWorker(ctx, args, stderr)
	}
	return fmt.Errorf("%w: csirtlink feed ingest --config FILE --format shadowserver|intelmq|csv [--report TYPE] [--map MAP] FILE\n"+
		"       csirtlink feed worker --config FILE [--name NAME]", errUsage)
}

func feedIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("feed ingest", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	var req feedrun.Request
	fs.StringVar(&req.Format, "format", "", "`format`: shadowserver, intelmq or csv (default: detect)")
	fs.StringVar(&req.Report, "report", "", "report `type`, e.g. scan_telnet (default: from a Shadowserver file name)")
	fs.StringVar(&req.Map, "map", "", "csv's column `mapping`, e.g. ip=src,time=ts,port=dport")
	fs.StringVar(&req.Feed, "feed", "", "the feed's `name`")
	fs.StringVar(&req.TLP, "tlp", "AMBER", "the feed's TLP `label`")
	fs.StringVar(&req.Classification, "classification", "", "RSIT `class/type` for rows that carry none")
	fs.StringVar(&req.Aggregate, "aggregate", "", "fold repeats (same source, report type and port) within this `window` (1h) into one event with a count; off turns the node's default off")
	asJSON := fs.Bool("json", false, "print the finished run as JSON")
	quiet := fs.Bool("quiet", false, "no progress line")
	noWait := fs.Bool("no-wait", false, "with queue.nats_url: return once the batches are queued, not when the workers have routed them")
	pos, err := parseArgs(fs, "csirtlink feed ingest --config FILE --format FORMAT FILE", args, 1, 1)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	req.FileName = filepath.Base(pos[0])
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()

	var prog pipeline.Progress
	done := make(chan struct{})
	stopped := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		if *quiet {
			<-done
			return
		}
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintf(stderr, "\r%s\n", progressLine(&prog, time.Since(start)))
				return
			case <-t.C:
				fmt.Fprintf(stderr, "\r%s", progressLine(&prog, time.Since(start)))
			}
		}
	}()
	run, err := n.Feeds.Ingest(ctx, cliActor, req, f, &prog)
	if err == nil && n.Queue != nil && !*noWait {
		// The workers route the queued batches; the run is done when they have.
		run, err = waitForRun(ctx, n.Feeds, run)
	}
	close(done)
	<-stopped
	if err != nil && run.ID == "" {
		return err
	}
	if *asJSON {
		if perr := printJSON(stdout, run); perr != nil {
			return perr
		}
	} else {
		printRunSummary(stdout, run)
	}
	if err != nil {
		return err
	}
	if run.State != store.RunDone {
		return fmt.Errorf("run %s %s: %s", run.ID, run.State, run.Failure)
	}
	return nil
}

func progressLine(p *pipeline.Progress, d time.Duration) string {
	ev := p.Events.Load()
	rate := float64(ev) / max(d.Seconds(), 0.001)
	return fmt.Sprintf("%d events  %.0f/s  owners %d  partners %d  unrouted %d  errors %d", ev, rate,
		p.Owners.Load(), p.Partners.Load(), p.Unrouted.Load(), p.Malformed.Load())
}

func printRunSummary(w io.Writer, r store.FeedRun) {
	fmt.Fprintf(w, "run %s: %s, %d events: %d to owners, %d to partners, %d unrouted, %d malformed\n",
		r.ID, r.State, r.Events, r.RoutedOwners, r.RoutedPartners, r.Unrouted, r.Malformed)
	if r.Aggregate != "" {
		fmt.Fprintf(w, "repeats within %s aggregated: %d events folded into others (%d read)\n", r.Aggregate, r.Merged, r.Events+r.Merged)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECIPIENT\tKIND\tEVENTS")
	for _, id := range slices.Sorted(maps.Keys(r.Owners)) {
		fmt.Fprintf(tw, "%s\towner\t%d\n", clean(id), r.Owners[id])
	}
	for _, id := range slices.Sorted(maps.Keys(r.Partners)) {
		fmt.Fprintf(tw, "%s\tpartner\t%d\n", clean(id), r.Partners[id])
	}
	tw.Flush()
	for _, e := range r.Errors {
		fmt.Fprintf(w, "line %d: %s: %s\n", e.Line, clean(e.Field), clean(e.Message))
	}
	if r.Capped {
		fmt.Fprintf(w, "(%d malformed rows; the first %d shown)\n", r.Malformed, len(r.Errors))
	}
}

// waitForRun polls a queued run until the workers have routed it.
func waitForRun(ctx context.Context, f *feedrun.Service, run store.FeedRun) (store.FeedRun, error) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for run.State == store.RunRunning {
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-t.C:
		}
		var err error
		if run, err = f.Get(ctx, run.ID); err != nil {
			return run, err
		}
	}
	return run, nil
}

// feedWorker routes queued batches until it is stopped (SIGINT, SIGTERM). Run any
// number, on any machine that reaches the database and NATS, with the node's
// configuration file.
func feedWorker(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("feed worker", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	host, _ := os.Hostname()
	name := fs.String("name", fmt.Sprintf("%s-%d", host, os.Getpid()), "the worker's `name`, recorded with each batch it routes")
	if _, err := parseArgs(fs, "csirtlink feed worker --config FILE [--name NAME]", args, 0, 0); err != nil {
		return err
	}
	n, err := openForAdmin(ctx, *path)
	if err != nil {
		return err
	}
	defer n.Close()
	if n.Queue == nil {
		return fmt.Errorf("%w: feed worker needs queue.nats_url in %s", errUsage, *path)
	}
	r := n.Feeds.BatchRouter(*name)
	n.Log.Info("feed worker started", "worker", *name)
	return n.Queue.Work(ctx, func(ctx context.Context, b routequeue.Batch, last bool) error {
		return r.Route(ctx, b.RunID, b.Seq, b.Events, last)
	})
}
