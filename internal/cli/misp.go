package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"csirtlink/internal/misp"
)

const mispUsage = `Usage:
  csirtlink misp export --incident ID | --indicators ID[,ID…] [--team T | --team outside] [--audience LABEL] [--out FILE]
  csirtlink misp import FILE [--as incident]

export prints a MISP event (JSON, the MISP core format): of an incident, or of shared
indicators (revoked ones as deleted attributes, so that MISP drops them), with only what
its audience may see (as for stix export: --team, --audience).
import shares the event's attributes as this team's indicators (all or none; attributes
of other types are listed, not imported), or with --as incident makes a new incident that
keeps what it cannot map as it came.
Both take --url, --token and --json as the incident commands do. A MISP instance can
also subscribe to this node's MISP feed (docs/misp.md; csirtlink token create --misp-feed).
`

func runMISP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "export":
		return mispExport(ctx, args, stdout, stderr)
	case "import":
		return mispImport(ctx, args, stdout, stderr)
	}
	fmt.Fprint(stderr, mispUsage)
	return fmt.Errorf("%w: csirtlink misp export|import", errUsage)
}

func mispExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink misp export --incident ID | --indicators ID[,ID…] [--team T|outside] [--audience LABEL] [--out FILE]"
	fs, af := apiFlagSet("misp export", use, stderr)
	id := fs.String("incident", "", "the incident's `id`")
	var inds stringList
	fs.Var(&inds, "indicators", "shared indicator `ids`, comma-separated (repeat)")
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
	if (*id == "") == (len(ids) == 0) {
		return usageError(use, "give either --incident or --indicators")
	}
	var doc []byte
	if *id != "" {
		doc, err = c.ExportIncident(ctx, "misp", *id, *team, *ceiling)
	} else {
		doc, err = c.ExportMISPIndicators(ctx, ids, *team, *ceiling)
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

func mispImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink misp import FILE [--as incident]"
	fs, af := apiFlagSet("misp import", use, stderr)
	as := fs.String("as", "indicators", "what to make of the event: `indicators` (shared indicators) or incident")
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	if *as != "indicators" && *as != "incident" {
		return usageError(use, "--as must be indicators or incident")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	doc, err := io.ReadAll(io.LimitReader(f, misp.MaxBytes+1))
	if err != nil {
		return err
	}
	if len(doc) > misp.MaxBytes {
		return fmt.Errorf("%s is larger than the %d bytes a node accepts", pos[0], misp.MaxBytes)
	}
	if *as == "incident" {
		res, err := c.ImportMISPIncident(af.keyed(ctx), doc)
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
	res, err := c.ImportMISPIndicators(af.keyed(ctx), doc)
	if af.json && (err == nil || res.Lines > 0) {
		if perr := printJSON(stdout, res); perr != nil {
			return perr
		}
		return err
	}
	if err == nil || res.Lines > 0 {
		fmt.Fprintf(stdout, "%d attributes mapped: %d added, %d updated, %d unchanged, %d refused; %d not imported\n",
			res.Mapped, res.Added, res.Updated, res.Unchanged, res.Invalid, len(res.Skipped))
		for _, e := range res.Errors {
			fmt.Fprintf(stdout, "  attribute %d: %s: %s\n", e.Line, e.Field, clean(e.Reason))
		}
		for _, s := range res.Skipped {
			fmt.Fprintf(stdout, "  not imported: %s %s: %s\n", s.Type, s.UUID, clean(s.Why))
		}
		if res.Sightings > 0 {
			fmt.Fprintf(stdout, "  %d MISP sightings not imported: they are other organisations' observations\n", res.Sightings)
		}
		if len(res.UnknownOrgs) > 0 {
			fmt.Fprintf(stdout, "  sharing group organisations that are not our peers (not named): %s\n", clean(strings.Join(res.UnknownOrgs, ", ")))
		}
	}
	return err
}
