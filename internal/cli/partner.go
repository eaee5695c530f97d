package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"csirtlink/internal/partner"
)

const partnerUsage = `Usage:
  csirtlink partner list [--q TEXT] [--country CC] [--status S] [--unverified]
                                  the partner directory
  csirtlink partner add URL       fetch the signed introduction at a node's URL; the partner is pending
                                  and its safety number is shown: read it to the partner over the hotline
  csirtlink partner approve ID SAFETY-NUMBER
                                  activate a pending partner with the number the partner read out
  csirtlink partner suspend ID    send nothing to a partner and refuse its traffic, for now
  csirtlink partner revoke ID     the same, for good (onboard it anew with add)
  csirtlink partner remove ID     forget a partner added at runtime
  csirtlink partner hotline-check ID
                                  mail a code to the partner's published hotline address
  csirtlink partner hotline-code [--return] ID CODE
                                  enter the code the partner read out: its hotline address is verified;
                                  --return: send a code that partner ID mailed to our address back to it
  csirtlink partner lookup ip|asn|domain|country VALUE
                                  whose it is: our constituency and our partners', every claim
  csirtlink key rotate [--compromised]
                                  a new node key, announced signed by the old and the new key;
                                  --compromised switches at once, and partners check our safety number again

Changes are for admins and recorded in the audit log. All take --url URL, --token TOKEN (or
CSIRTLINK_URL, CSIRTLINK_TOKEN) and --json.
`

func runPartner(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, partnerUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	use := "csirtlink partner " + sub
	fs, af := apiFlagSet("partner "+sub, use, stderr)
	var q, country, status string
	var unverified, ret bool
	n := map[string]int{"list": 0, "add": 1, "approve": 2, "suspend": 1, "revoke": 1, "remove": 1, "lookup": 2, "hotline-check": 1, "hotline-code": 2}
	want, ok := n[sub]
	if !ok {
		fmt.Fprint(stderr, partnerUsage)
		return fmt.Errorf("%w: unknown partner command %q", errUsage, sub)
	}
	if sub == "list" {
		fs.StringVar(&q, "q", "", "search id, name, URL, countries, domains")
		fs.StringVar(&country, "country", "", "only partners whose constituency has this country")
		fs.StringVar(&status, "status", "", "pending, active, suspended or revoked")
		fs.BoolVar(&unverified, "unverified", false, "only partners not confirmed within the re-verification period")
	}
	if sub == "hotline-code" {
		fs.BoolVar(&ret, "return", false, "send the code partner ID mailed to our hotline address back to it, signed")
	}
	pos, err := parseArgs(fs, use, args, want, want)
	if err != nil {
		return err
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		v := url.Values{}
		for k, s := range map[string]string{"q": q, "country": country, "status": status} {
			if s != "" {
				v.Set(k, s)
			}
		}
		if unverified {
			v.Set("unverified", "true")
		}
		list, err := c.Partners(ctx, v)
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(stdout, orEmpty(list))
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tVERIFIED\tHOTLINE VERIFIED\tCOUNTRIES\tSAFETY NUMBER")
		for _, p := range list {
			ver := "never"
			if p.VerifiedAt != nil {
				ver = p.VerifiedAt.Format("2006-01-02")
			}
			if p.Unverified {
				ver = "unverified since " + ver
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clean(p.ID), clean(p.Name), p.Status, ver, hotlineColumn(p.Hotline),
				strings.Join(p.Constituency.Countries, ","), p.Fingerprint)
		}
		return tw.Flush()
	case "add":
		p, err := c.AddPartner(ctx, pos[0])
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(stdout, p)
		}
		_, err = fmt.Fprintf(stdout, "%s (%s) added, pending.\nSafety number: %s\nAsk %s to read theirs out over the hotline; if it is the same:\n  csirtlink partner approve %s '%s'\n",
			clean(p.ID), clean(p.Name), p.Fingerprint, clean(p.ID), clean(p.ID), p.Fingerprint)
		return err
	case "approve":
		p, err := c.ApprovePartner(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		return say(stdout, af.json, p, "%s is active\n", clean(p.ID))
	case "suspend", "revoke":
		p, err := c.PartnerAction(ctx, pos[0], sub)
		if err != nil {
			return err
		}
		return say(stdout, af.json, p, "%s is %s\n", clean(p.ID), p.Status)
	case "hotline-check":
		h, err := c.HotlineCheck(ctx, pos[0])
		if err != nil {
			return err
		}
		return say(stdout, af.json, h, "a code went to %s; %s returns it, or reads it out and you enter it with\n  csirtlink partner hotline-code %s CODE\n",
			clean(h.Address), clean(pos[0]), clean(pos[0]))
	case "hotline-code":
		if ret {
			if err := c.ReturnHotlineCode(ctx, pos[0], pos[1]); err != nil {
				return err
			}
			return say(stdout, af.json, map[string]string{"returned": pos[0]}, "the code goes back to %s, signed by this node\n", clean(pos[0]))
		}
		h, err := c.HotlineCode(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		return say(stdout, af.json, h, "%s's hotline address %s is verified\n", clean(pos[0]), clean(h.Address))
	case "remove":
		if err := c.RemovePartner(ctx, pos[0]); err != nil {
			return err
		}
		return say(stdout, af.json, map[string]string{"removed": pos[0]}, "%s removed\n", clean(pos[0]))
	default: // lookup
		owners, err := c.Lookup(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(stdout, map[string]any{"owners": orEmpty(owners)})
		}
		if len(owners) == 0 {
			_, err = fmt.Fprintln(stdout, "nobody claims it")
			return err
		}
		for _, o := range owners {
			fmt.Fprintf(stdout, "%s\t%s\t(%s)\n", clean(o.Team), clean(o.Matched), o.Source)
		}
		return nil
	}
}

func say(stdout io.Writer, asJSON bool, v any, format string, args ...any) error {
	if asJSON {
		return printJSON(stdout, v)
	}
	_, err := fmt.Fprintf(stdout, format, args...)
	return err
}

func runKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprint(stderr, partnerUsage)
		return fmt.Errorf("%w: csirtlink key rotate [--compromised]", errUsage)
	}
	const use = "csirtlink key rotate [--compromised]"
	fs, af := apiFlagSet("key rotate", use, stderr)
	compromised := fs.Bool("compromised", false, "the old key may be in other hands: switch at once, partners re-verify")
	if _, err := parseArgs(fs, use, args[1:], 0, 0); err != nil {
		return err
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	pub, err := c.RotateKey(ctx, *compromised)
	if err != nil {
		return err
	}
	msg := "new key %s announced to every partner; the node switches to it once each has it\n"
	if *compromised {
		msg = "new key %s in use now; each partner must check our new safety number (partner add, then approve)\n"
	}
	return say(stdout, af.json, map[string]any{"public_key": pub, "compromised": *compromised}, msg, pub)
}

// hotlineColumn is the partner list's word on the hotline address check: the day the
// address was verified, "code sent" while a code is out, "no" otherwise ("-" for none).
func hotlineColumn(h *partner.HotlineStatus) string {
	switch {
	case h == nil || h.Address == "":
		return "-"
	case h.Verified && h.VerifiedAt != nil:
		return h.VerifiedAt.Format("2006-01-02")
	case h.CodeSentAt != nil:
		return "code sent " + h.CodeSentAt.Format("2006-01-02")
	}
	return "no"
}
