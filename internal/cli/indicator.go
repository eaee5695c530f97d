package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"csirtlink/internal/indicator"
)

const indicatorUsage = `Usage: csirtlink indicator COMMAND [flags]

Shared indicators (docs/indicators.md), through the node's API:
  list [--type T --tlp L --author TEAM --seen yes|no --expired yes|no]
  show ID                        the indicator, with who saw it, how often, what was done
  add VALUE --category C --tlp L [--type T --share-with TEAM … --confidence N --valid-until TIME]
  revoke ID                      a signed tombstone to every team that got it
  sighting ID --kind seen|false-positive|taken-down|blocked [--count N --first-seen T --last-seen T]
  import FILE [--format csv|lines --map theirs:ours,… and defaults as for add]
                                 all lines or none; a summary names each invalid line
  export [--format csv|json and the filters of list] > FILE
`

func runIndicator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "list":
		return indicatorList(ctx, args, stdout, stderr)
	case "show":
		return indicatorShow(ctx, args, stdout, stderr)
	case "add":
		return indicatorAdd(ctx, args, stdout, stderr)
	case "revoke":
		return indicatorRevoke(ctx, args, stdout, stderr)
	case "sighting":
		return indicatorSighting(ctx, args, stdout, stderr)
	case "import":
		return indicatorImport(ctx, args, stdout, stderr)
	case "export":
		return indicatorExport(ctx, args, stdout, stderr)
	}
	fmt.Fprint(stderr, indicatorUsage)
	return fmt.Errorf("%w: csirtlink indicator list|show|add|revoke|sighting|import|export", errUsage)
}

// filterFlags are list's and export's selection.
func filterFlags(fs *flag.FlagSet) func() url.Values {
	names := []string{"type", "category", "tlp", "author", "value", "seen", "expired"}
	vals := make([]*string, len(names))
	for i, n := range names {
		vals[i] = fs.String(n, "", "only indicators with this "+n)
	}
	return func() url.Values {
		q := url.Values{}
		for i, n := range names {
			if *vals[i] != "" {
				q.Set(n, *vals[i])
			}
		}
		return q
	}
}

func indicatorList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink indicator list [filters]"
	fs, af := apiFlagSet("indicator list", use, stderr)
	query := filterFlags(fs)
	c, _, err := af.connect(fs, use, args, 0, 0, stderr)
	if err != nil {
		return err
	}
	list, err := c.ListIndicators(ctx, query())
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, map[string]any{"indicators": list})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAUTHOR\tTYPE\tVALUE\tCATEGORY\tTLP\tCONF\tVALID UNTIL")
	for _, in := range list {
		until := "-"
		if in.ValidUntil != nil {
			until = in.ValidUntil.Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", in.ID, in.Author, in.Type, truncate(clean(in.Value), 60), in.Category, in.TLP, in.Confidence, until)
	}
	return tw.Flush()
}

func indicatorShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink indicator show ID"
	fs, af := apiFlagSet("indicator show", use, stderr)
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	v, err := c.GetIndicator(ctx, pos[0])
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, v)
	}
	loc := af.location(ctx, c)
	if v.Revoked {
		fmt.Fprintf(stdout, "%s by %s: REVOKED (version %d)\n", v.ID, v.Author, v.Version)
		return nil
	}
	fmt.Fprintf(stdout, "%s %s  by %s, version %d, TLP:%s\n", v.Type, clean(v.Value), v.Author, v.Version, v.TLP)
	fmt.Fprintf(stdout, "%s, confidence %d", v.Category, v.Confidence)
	if v.ValidUntil != nil {
		fmt.Fprintf(stdout, ", valid until %s", v.ValidUntil.In(loc).Format(timeLayout))
	}
	if v.Expired {
		fmt.Fprint(stdout, " (expired)")
	}
	fmt.Fprintln(stdout)
	if v.Description != "" {
		fmt.Fprintln(stdout, clean(v.Description))
	}
	fmt.Fprintf(stdout, "Sightings: %d teams, seen %d times, %d false positive, %d taken down, %d blocked\n",
		len(v.Summary.Teams), v.Summary.Seen, v.Summary.FalsePositive, v.Summary.TakenDown, v.Summary.Blocked)
	for _, x := range v.Sightings {
		fmt.Fprintf(stdout, "  %s  %-4s %-14s", x.At.In(loc).Format(timeLayout), x.Team, x.Kind)
		if x.Kind == "seen" {
			fmt.Fprintf(stdout, " ×%d", x.Count)
		}
		if x.Constituency != "" {
			fmt.Fprintf(stdout, " in %s", clean(x.Constituency))
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// inputFlags are the fields of an indicator a command line can give (add, and import's
// defaults).
type inputFlags struct {
	typ, category, tlp, description, until *string
	confidence                             *int
	share, tags, incidents                 stringList
}

func newInputFlags(fs *flag.FlagSet) *inputFlags {
	f := &inputFlags{typ: fs.String("type", "", "observable `type` (detected when not given)"),
		category: fs.String("category", "", "RSIT `category`, e.g. malicious-code/c2-server"),
		tlp:      fs.String("tlp", "AMBER", "TLP `label`"), description: fs.String("description", "", "description `text`"),
		until:      fs.String("valid-until", "", "end of validity (`time`: 2026-06-01 or RFC 3339)"),
		confidence: fs.Int("confidence", -1, "confidence 0–100 (default 50)")}
	fs.Var(&f.share, "share-with", "a `team` to name (repeat): AMBER's partners, AMBER+STRICT's and RED's recipients")
	fs.Var(&f.tags, "tag", "a `tag` (repeat)")
	fs.Var(&f.incidents, "incident", "a related incident `id` (repeat)")
	return f
}

func (f *inputFlags) input() (indicator.Input, error) {
	in := indicator.Input{Type: *f.typ, Category: *f.category, TLP: *f.tlp, Description: *f.description,
		ShareWith: f.share, Tags: f.tags, Incidents: f.incidents}
	if *f.confidence >= 0 {
		in.Confidence = f.confidence
	}
	if *f.until != "" {
		t, err := indicator.ParseTime(*f.until)
		if err != nil {
			return in, fmt.Errorf("%w: --valid-until: %v", errUsage, err)
		}
		in.ValidUntil = &t
	}
	return in, nil
}

func indicatorAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink indicator add VALUE --category C --tlp L [flags]"
	fs, af := apiFlagSet("indicator add", use, stderr)
	f := newInputFlags(fs)
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	in, err := f.input()
	if err != nil {
		return err
	}
	in.Value = pos[0]
	ind, err := c.CreateIndicator(af.keyed(ctx), in)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, ind)
	}
	fmt.Fprintf(stdout, "%s shared: %s %s TLP:%s\n", ind.ID, ind.Type, clean(ind.Value), ind.TLP)
	return nil
}

func indicatorRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink indicator revoke ID"
	fs, af := apiFlagSet("indicator revoke", use, stderr)
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	if err := c.RevokeIndicator(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s revoked: a tombstone goes to every team that got it\n", pos[0])
	return nil
}

func indicatorSighting(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink indicator sighting ID --kind seen|false-positive|taken-down|blocked [flags]"
	fs, af := apiFlagSet("indicator sighting", use, stderr)
	kind := fs.String("kind", "seen", "`kind`: seen, false-positive, taken-down, blocked")
	count := fs.Int64("count", 0, "how many times it was seen")
	first := fs.String("first-seen", "", "first seen (`time`)")
	last := fs.String("last-seen", "", "last seen (`time`)")
	where := fs.String("constituency", "", "in whose constituency")
	note := fs.String("note", "", "a note")
	label := fs.String("tlp", "", "the sighting's own TLP `label` (default AMBER+STRICT to the author)")
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	in := indicator.SightingInput{Kind: *kind, Count: *count, Constituency: *where, Note: *note, TLP: *label}
	for flag, p := range map[string]struct {
		v   string
		dst **time.Time
	}{"first-seen": {*first, &in.FirstSeen}, "last-seen": {*last, &in.LastSeen}} {
		if p.v != "" {
			t, err := indicator.ParseTime(p.v)
			if err != nil {
				return fmt.Errorf("%w: --%s: %v", errUsage, flag, err)
			}
			*p.dst = &t
		}
	}
	x, err := c.ReportSighting(af.keyed(ctx), pos[0], in)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, x)
	}
	fmt.Fprintf(stdout, "sighting %s (%s) reported to %s's author\n", x.ID, x.Kind, pos[0])
	return nil
}

// progressReader counts what has been read, for the progress bar.
type progressReader struct {
	r    io.Reader
	done atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done.Add(int64(n))
	return n, err
}

// bar draws a progress bar of done out of total bytes.
func bar(done, total int64) string {
	const width = 30
	if total <= 0 {
		return fmt.Sprintf("%d bytes", done)
	}
	n := int(done * width / total)
	return fmt.Sprintf("[%s%s] %3d%%", strings.Repeat("#", n), strings.Repeat(".", width-n), done*100/total)
}

func indicatorImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink indicator import FILE [--format csv|lines] [--map theirs:ours,…] [defaults]"
	fs, af := apiFlagSet("indicator import", use, stderr)
	format := fs.String("format", "", "`csv` (a header names the columns) or lines (one value a line); detected when not given")
	mapping := fs.String("map", "", "column `mapping`: theirs:ours pairs, comma-separated (ours - ignores a column)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	f := newInputFlags(fs)
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	in, err := f.input()
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"format": *format, "map": *mapping, "type": in.Type, "category": in.Category, "tlp": in.TLP,
		"description": in.Description, "share_with": strings.Join(in.ShareWith, ","), "tags": strings.Join(in.Tags, ","),
		"incidents": strings.Join(in.Incidents, ",")} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if in.Confidence != nil {
		q.Set("confidence", strconv.Itoa(*in.Confidence))
	}
	if in.ValidUntil != nil {
		q.Set("valid_until", in.ValidUntil.Format(time.RFC3339))
	}
	file, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	pr := &progressReader{r: file}
	stop := make(chan struct{})
	drawn := make(chan struct{})
	go func() {
		defer close(drawn)
		if *quiet {
			return
		}
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprintf(stderr, "\r%s sent; checked and shared\n", bar(pr.done.Load(), st.Size()))
				return
			case <-t.C:
				d := pr.done.Load()
				if d >= st.Size() {
					fmt.Fprintf(stderr, "\r%s sent; the node is checking and sharing…", bar(d, st.Size()))
				} else {
					fmt.Fprintf(stderr, "\r%s", bar(d, st.Size()))
				}
			}
		}
	}()
	res, err := c.ImportIndicators(ctx, pr, q)
	close(stop)
	<-drawn
	if af.json && (err == nil || res.Lines > 0) {
		if perr := printJSON(stdout, res); perr != nil {
			return perr
		}
		return err
	}
	if res.Lines > 0 || err == nil {
		fmt.Fprintf(stdout, "%d lines: %d added, %d updated, %d unchanged, %d invalid\n", res.Lines, res.Added, res.Updated, res.Unchanged, res.Invalid)
		for _, e := range res.Errors {
			field := ""
			if e.Field != "" {
				field = e.Field + ": "
			}
			fmt.Fprintf(stdout, "  line %d: %s%s\n", e.Line, field, clean(e.Reason))
		}
		if len(res.Errors) < res.Invalid {
			fmt.Fprintf(stdout, "  … and %d more\n", res.Invalid-len(res.Errors))
		}
	}
	return err
}

func indicatorExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink indicator export [--format csv|json] [filters] > FILE"
	fs, af := apiFlagSet("indicator export", use, stderr)
	format := fs.String("format", "csv", "`csv` or json")
	query := filterFlags(fs)
	c, _, err := af.connect(fs, use, args, 0, 0, stderr)
	if err != nil {
		return err
	}
	q := query()
	q.Set("format", *format)
	return c.ExportIndicators(ctx, q, stdout)
}

func runSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink search VALUE   (an address, network, domain, URL, e-mail address or hash)"
	fs, af := apiFlagSet("search", use, stderr)
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	hits, err := c.Search(ctx, pos[0])
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, map[string]any{"q": pos[0], "hits": hits})
	}
	if len(hits) == 0 {
		fmt.Fprintln(stdout, "nothing known about it on this node")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tMATCH\tVALUE\tTLP\tTEAM\tID\tSIGHTINGS")
	for _, h := range hits {
		id, seen := h.IndicatorID, ""
		if h.Source == "incident" {
			id = h.IncidentID
		}
		if h.Sightings != nil {
			seen = fmt.Sprintf("%d teams, seen %d", len(h.Sightings.Teams), h.Sightings.Seen)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Source, h.Match, truncate(clean(h.Value), 60), h.TLP, h.Team, id, seen)
	}
	return tw.Flush()
}
