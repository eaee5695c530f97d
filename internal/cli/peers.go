package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"csirtlink/internal/federation"
)

const peersUsage = `Usage:
  csirtlink peers                 each federation link: its state, queue, last send and receive, last error
  csirtlink peers retry ID        try the link with a peer again now, without waiting out its back-off
                                  (admin or duty officer; recorded in the audit log)

Both take --url URL, --token TOKEN (or CSIRTLINK_URL, CSIRTLINK_TOKEN); peers also takes
--json and --tz ZONE.
`

func runPeers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "retry":
			return peersRetry(ctx, args[1:], stdout, stderr)
		case "list":
			args = args[1:]
		case "help", "-h", "--help":
			fmt.Fprint(stdout, peersUsage)
			return nil
		}
	}
	const use = "csirtlink peers [list]"
	fs, af := apiFlagSet("peers", use, stderr)
	if _, err := parseArgs(fs, use, args, 0, 0); err != nil {
		return err
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	links, err := c.Peers(ctx)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, map[string]any{"peers": orEmpty(links)})
	}
	loc := af.location(ctx, c)
	return printPeers(stdout, links, loc)
}

func peersRetry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink peers retry ID"
	fs, af := apiFlagSet("peers retry", use, stderr)
	pos, err := parseArgs(fs, use, args, 1, 1)
	if err != nil {
		return err
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	if err := c.RetryPeer(ctx, pos[0]); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "retrying the link with %s now\n", clean(pos[0]))
	return err
}

// healthWords says a link's state as a duty officer would.
func healthWords(l federation.LinkState) string {
	switch l.Health {
	case federation.HealthOK:
		return "healthy"
	case federation.HealthError:
		return "failing"
	case federation.HealthStalled:
		return "no answer for " + seconds(l.InFlightSeconds)
	case federation.HealthLagging:
		return "lagging"
	case federation.HealthQuiet:
		return "no recent contact"
	case federation.HealthUnknown:
		return "no contact yet"
	case federation.HealthRevoked:
		return "REVOKED"
	}
	return clean(l.Health)
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

func printPeers(w io.Writer, links []federation.LinkState, loc *time.Location) error {
	if len(links) == 0 {
		_, err := fmt.Fprintln(w, "no peers configured")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tDELIVERY\tSTATE\tQUEUED\tLAG\tLAST SENT\tLAST RECEIVED\tLAST ERROR")
	for _, l := range links {
		delivery := clean(l.Delivery)
		if l.PullFrom {
			delivery += ", we pull"
		}
		lag := "-"
		switch d := time.Duration(l.LagSeconds * float64(time.Second)).Round(time.Second); {
		case l.Queued > 0 && d < time.Second:
			lag = "<1s"
		case l.Queued > 0 || d > 0:
			lag = d.String()
		}
		never := func(t *time.Time) string {
			if t == nil {
				return "never"
			}
			return fmtTime(*t, loc)
		}
		var errs []string
		for _, e := range []struct {
			what, msg string
			at        *time.Time
		}{{"sending", l.LastError, l.LastErrorAt}, {"pulling", l.LastPullError, l.LastPullErrorAt}} {
			if e.msg == "" {
				continue
			}
			s := e.what + ": " + truncate(clean(e.msg), 80)
			if e.at != nil {
				s = fmtTime(*e.at, loc) + " " + s
			}
			errs = append(errs, s)
		}
		lastErr := "-"
		if len(errs) > 0 {
			lastErr = strings.Join(errs, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", clean(l.Peer), delivery, healthWords(l), l.Queued, lag,
			never(l.LastSentAt), never(l.LastReceivedAt), lastErr)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Progress by kind of envelope: what waits, and how soon it will be across.
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tKIND\tQUEUED\tSENT, NO RECEIPT\tACKNOWLEDGED\tRATE (LAST MINUTE)\tCATCH-UP")
	for _, l := range links {
		for _, k := range l.Kinds {
			eta := "unknown"
			switch {
			case k.ETASeconds == nil:
			case *k.ETASeconds == 0:
				eta = "caught up"
			default:
				eta = seconds(max(*k.ETASeconds, 1))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f/s\t%s\n", clean(l.Peer), clean(k.Type), k.Queued, k.Sent, k.Acknowledged,
				k.RatePerSecond, eta)
		}
	}
	return tw.Flush()
}
