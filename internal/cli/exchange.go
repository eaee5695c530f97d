package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"csirtlink/internal/exchange"
)

const exchangeUsage = `Usage:
  csirtlink stix export --incident ID [--team T | --team outside] [--audience LABEL] [--out FILE]
  csirtlink stix import FILE [--tlp L]
  csirtlink iodef export --incident ID [--team T | --team outside] [--audience LABEL] [--out FILE]
  csirtlink iodef import FILE

export prints the incident as a STIX 2.1 bundle or an IODEF 2.0 document, with only what
its audience may see: by default our own team (everything we hold, each part marked with
its TLP); --team jp, a peer, gets what TLP lets jp have; --team outside is people outside
the federation (our constituency, a SOC) and never gets AMBER+STRICT or RED. --audience
caps the labels further (default RED for a team, GREEN for outside).
import makes a new incident from a document; what it cannot map is kept as it came.
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
	fs, af := apiFlagSet(format+" export", use, stderr)
	id := fs.String("incident", "", "the incident's `id` (required)")
	team := fs.String("team", "", "the `team` the export is for: ours (default), a peer, or outside")
	ceiling := fs.String("audience", "", "the strictest TLP `label` the audience may receive")
	out := fs.String("out", "", "write to `file` instead of standard output")
	c, _, err := af.connect(fs, use, args, 0, 0, stderr)
	if err != nil {
		return err
	}
	if *id == "" {
		return usageError(use, "missing --incident")
	}
	doc, err := c.ExportIncident(ctx, format, *id, *team, *ceiling)
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
		use += " [--tlp L]"
	}
	fs, af := apiFlagSet(format+" import", use, stderr)
	label := ""
	if format == "stix" {
		fs.StringVar(&label, "tlp", "", "the incident's TLP `label` when the bundle marks none (default "+string(exchange.DefaultLabel)+")")
	}
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
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
