package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"csirtlink/internal/client"
	"csirtlink/internal/exchange"
)

const exchangeUsage = `Usage:
  csirtlink stix export --incident ID [--team T | --team outside] [--audience LABEL] [--out FILE]
  csirtlink stix export --indicators ID[,ID…] | --all [--team T | --team outside] [--audience LABEL] [--out FILE]
  csirtlink stix import FILE [--tlp L] [--as incident|indicators]
  csirtlink iodef export --incident ID [--team T | --team outside] [--audience LABEL] [--out FILE]
  csirtlink iodef import FILE

export prints the incident as a STIX 2.1 bundle or an IODEF 2.0 document, with only what
its audience may see: by default our own team (everything we hold, each part marked with
its TLP); --team jp, a peer, gets what TLP lets jp have; --team outside is people outside
the federation (our constituency, a SOC) and never gets AMBER+STRICT or RED. --audience
caps the labels further (default RED for a team, GREEN for outside).
--indicators (or --all, every indicator we hold) exports shared indicators with their
sightings, revoked ones with revoked set, each decided for the audience alike.
import makes a new incident from a document; what it cannot map is kept as it came.
stix import --as indicators shares the bundle's indicators as this team's and records its
sightings of indicators we hold; what it does not map is counted and listed.
Both take --url, --token and --json as the incident commands do.
`

func runSTIX(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runExchange(ctx, "stix", args, stdout, stderr)
}

func runIODEF(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runExchange(ctx, "iodef", args, stdout, stderr)
}

func runExchange(ctx context.Context, format string, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "export":
		return exchangeExport(ctx, format, args, stdout, stderr)
	case "import":
		return exchangeImport(ctx, format, args, stdout, stderr)
	}
	fmt.Fprint(stderr, exchangeUsage)
	return fmt.Errorf("%w: csirtlink %s export|import", errUsage, format)
}

func exchangeExport(ctx context.Context, format string, args []string, stdout, stderr io.Writer) error {
	use := "csirtlink " + format + " export --incident ID [--team T|outside] [--audience LABEL] [--out FILE]"
	if format == "stix" {
		use = "csirtlink stix export --incident ID | --indicators ID[,ID…] | --all [--team T|outside] [--audience LABEL] [--out FILE]"
	}
	fs, af := apiFlagSet(format+" export", use, stderr)
	id := fs.String("incident", "", "the incident's `id` (required)")
	var inds stringList
	all := false
	if format == "stix" {
		fs.Var(&inds, "indicators", "shared indicator `ids`, comma-separated (repeat)")
		fs.BoolVar(&all, "all", false, "every shared indicator we hold")
	}
	team := fs.String("team", "", "the `team` the export is for: ours (default), a peer, or outside")
	ceiling := fs.String("audience", "", "the strictest TLP `label` the audience may receive")
	out := fs.String("out", "", "write to `file` instead of standard output")
	c, _, err := af.connect(fs, use, args, 0, 0, stderr)
	if err != nil {
		return err
	}
	var ids []string
	for _, v := range inds {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				ids = append(ids, x)
			}
		}
	}
	given := 0
	for _, g := range []bool{*id != "", len(ids) > 0, all} {
		if g {
			given++
		}
	}
	switch {
	case format != "stix" && *id == "":
		return usageError(use, "missing --incident")
	case given != 1:
		return usageError(use, "give one of --incident, --indicators or --all")
	}
	var doc []byte
	if *id != "" {
		doc, err = c.ExportIncident(ctx, format, *id, *team, *ceiling)
	} else {
		doc, err = c.ExportSTIXIndicators(ctx, ids, all, *team, *ceiling)
	}
	if err != nil {
		return err
	}
	if *out != "" {
		return os.WriteFile(*out, doc, 0o600)
	}
	_, err = stdout.Write(doc)
	return err
}

func exchangeImport(ctx context.Context, format string, args []string, stdout, stderr io.Writer) error {
	use := "csirtlink " + format + " import FILE"
	if format == "stix" {
		use += " [--tlp L] [--as incident|indicators]"
	}
	fs, af := apiFlagSet(format+" import", use, stderr)
	label, as := "", "incident"
	if format == "stix" {
		fs.StringVar(&label, "tlp", "", "the `label` of what the bundle marks with no TLP (default "+string(exchange.DefaultLabel)+")")
		fs.StringVar(&as, "as", "incident", "what to make of the bundle: a new `incident`, or shared indicators")
	}
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	if as != "incident" && as != "indicators" {
		return usageError(use, "--as must be incident or indicators")
	}
	max := int64(exchange.MaxIODEFBytes)
	if format == "stix" {
		max = 16 << 20
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	doc, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return err
	}
	if int64(len(doc)) > max {
		return fmt.Errorf("%s is larger than the %d bytes a node accepts", pos[0], max)
	}
	if as == "indicators" {
		return stixIndicatorsImport(ctx, c, af, doc, label, stdout)
	}
	res, err := c.ImportDocument(af.keyed(ctx), format, doc, label)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "Imported as %s (TLP:%s): %d mapped (%d observables, %d comments), %d kept as they came.\n",
		res.Incident.ID, res.Incident.TLP, res.Mapped, res.Observables, res.Notes, res.Kept)
	return nil
}

func stixIndicatorsImport(ctx context.Context, c *client.Client, af *apiFlags, doc []byte, label string, stdout io.Writer) error {
	res, err := c.ImportSTIXIndicators(af.keyed(ctx), doc, label)
	if af.json && (err == nil || res.Lines > 0) {
		if perr := printJSON(stdout, res); perr != nil {
			return perr
		}
		return err
	}
	if err == nil || res.Lines > 0 {
		fmt.Fprintf(stdout, "%d objects mapped: %d indicator observables (%d added, %d updated, %d unchanged, %d refused), %d sightings recorded; %d not mapped\n",
			res.Mapped, res.Lines, res.Added, res.Updated, res.Unchanged, res.Invalid, res.Sightings, res.NotMapped)
		if res.Imported {
			fmt.Fprintf(stdout, "%d objects kept as they came (%d of them mapped in part), %d not held before\n", res.Kept, res.Partly, res.KeptNew)
		}
		for _, e := range res.Errors {
			fmt.Fprintf(stdout, "  observable %d: %s: %s\n", e.Line, e.Field, clean(e.Reason))
		}
		for _, s := range res.Skipped {
			fmt.Fprintf(stdout, "  not mapped: %s: %s\n", s.ID, clean(s.Why))
		}
	}
	return err
}
