package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"csirtlink/internal/client"
	"csirtlink/internal/hotline"
	"csirtlink/internal/oncall"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
)

const pageUsage = `Usage:
  csirtlink page send --to jp[,kr|all] --severity S --summary TEXT [--details TEXT] [--incident ID] [--tlp L]
  csirtlink page list [--state open|waiting|all] [--direction in|out] [--limit N]
  csirtlink page show ID
  csirtlink page ack ID        acknowledge, for our team, a page a partner sent us
  csirtlink page resolve ID    close a page we sent, at every recipient
  csirtlink oncall show [--at TIME]
  csirtlink commcheck run [--to jp,kr|all]
  csirtlink commcheck report [--limit N]

Every command takes --url URL, --token TOKEN (or CSIRTLINK_URL, CSIRTLINK_TOKEN),
--json (print the API's object, for scripts) and --tz ZONE. Times are shown in the node
team's zone, or in --tz; 'oncall show' puts the node team's time and yours (--tz, default
this machine's zone) side by side. In 'page list', a leading ! marks a page that waits
for our acknowledgement. A change that got no answer prints its Idempotency-Key: run the
command again with --idempotency-key KEY and it is carried out once.
`

func runPage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, pageUsage)
		return fmt.Errorf("%w: csirtlink page send|list|show|ack|resolve [flags]", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "send":
		return pageSend(ctx, rest, stdout, stderr)
	case "list":
		return pageList(ctx, rest, stdout, stderr)
	case "show":
		return pageShow(ctx, rest, stdout, stderr)
	case "ack":
		return pageAck(ctx, rest, stdout, stderr)
	case "resolve":
		return pageResolve(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, pageUsage)
		return nil
	}
	fmt.Fprint(stderr, pageUsage)
	return fmt.Errorf("%w: unknown page command %q", errUsage, sub)
}

func runOnCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, pageUsage)
		return fmt.Errorf("%w: csirtlink oncall show [--at TIME]", errUsage)
	}
	switch args[0] {
	case "show":
		return onCallShow(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, pageUsage)
		return nil
	}
	fmt.Fprint(stderr, pageUsage)
	return fmt.Errorf("%w: unknown oncall command %q", errUsage, args[0])
}

func runCommCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, pageUsage)
		return fmt.Errorf("%w: csirtlink commcheck run|report [flags]", errUsage)
	}
	switch args[0] {
	case "run":
		return commCheckRun(ctx, args[1:], stdout, stderr)
	case "report":
		return commCheckReport(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, pageUsage)
		return nil
	}
	fmt.Fprint(stderr, pageUsage)
	return fmt.Errorf("%w: unknown commcheck command %q", errUsage, args[0])
}

// nodeTeam returns the node's own team id and the zone to show times in: --tz, else
// the team's zone, else Local.
func nodeTeam(ctx context.Context, af *apiFlags, c *client.Client) (string, *time.Location, error) {
	t, err := c.Teams(ctx)
	if err != nil {
		return "", nil, err
	}
	return t.Self.ID, af.pickLocation(t.Self.Timezone), nil
}

func pageSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink page send --to jp[,kr|all] --severity S --summary TEXT [--details TEXT] [--incident ID] [--tlp L]"
	fs, af := apiFlagSet("page send", use, stderr)
	var n hotline.NewPage
	to := &stringList{}
	fs.Var(to, "to", "page these peer `teams`, comma-separated or repeated, or all (required)")
	fs.StringVar(&n.Severity, "severity", "", "critical, high, medium or low (required)")
	fs.StringVar(&n.Summary, "summary", "", "one line the person paged reads first (required)")
	fs.StringVar(&n.Details, "details", "", "what is happening and what is asked")
	fs.StringVar(&n.IncidentID, "incident", "", "the incident `ID` the page is about")
	fs.StringVar(&n.TLP, "tlp", "", "TLP `label` of the page (default: the incident's, or AMBER without one)")
	if _, err := parseArgs(fs, use, args, 0, 0); err != nil {
		return err
	}
	var missing []string
	for _, f := range []string{"to", "severity", "summary"} {
		if !flagSet(fs, f) {
			missing = append(missing, "--"+f)
		}
	}
	if len(missing) > 0 {
		return usageError(use, "missing "+strings.Join(missing, ", "))
	}
	// An empty --to or a blank --summary goes to the node, which names the field.
	n.To = orEmpty(*to)
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	p, err := c.SendPage(af.keyed(ctx), n)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, p)
	}
	loc := af.location(ctx, c)
	fmt.Fprintf(stdout, "sent %s  %s  TLP:%s  at %s\n", clean(p.ID), clean(p.Severity), clean(p.TLP), fmtTime(p.CreatedAt, loc))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, d := range p.Deliveries {
		fmt.Fprintf(tw, "  %s\t%s\n", clean(d.Team), clean(d.State))
	}
	return tw.Flush()
}

func pageList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink page list [--state open|waiting|all] [--direction in|out] [--limit N]"
	fs, af := apiFlagSet("page list", use, stderr)
	state := fs.String("state", "open", "open (not resolved), waiting (for our acknowledgement) or all")
	direction := fs.String("direction", "", "in (pages to us) or out (pages we sent); default both")
	limit := fs.Int("limit", 0, "list at most `N` pages (1 to 1000; default: the node's)")
	if _, err := parseArgs(fs, use, args, 0, 0); err != nil {
		return err
	}
	if flagSet(fs, "limit") && (*limit < 1 || *limit > 1000) {
		return usageError(use, "--limit must be from 1 to 1000")
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	list, err := c.ListPages(ctx, *state, *direction, *limit)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, map[string]any{"pages": orEmpty(list)})
	}
	self, loc, err := nodeTeam(ctx, af, c)
	if err != nil {
		return err
	}
	return printPages(stdout, list, self, loc)
}

// waiting reports whether a page waits for self's acknowledgement: a partner sent it,
// it is not resolved and nobody here has acknowledged it.
func waiting(p store.Page, self string) bool {
	if p.From == self || p.ResolvedAt != nil {
		return false
	}
	for _, d := range p.Deliveries {
		if d.Team == self {
			return d.AcknowledgedAt == nil && d.State != hotline.Resolved
		}
	}
	return false
}

// recipientStates is each recipient's state, such as "jp:acknowledged kr:notified".
func recipientStates(p store.Page) string {
	var s []string
	for _, d := range p.Deliveries {
		s = append(s, clean(d.Team)+":"+clean(d.State))
	}
	return strings.Join(s, " ")
}

func printPages(w io.Writer, list []store.Page, self string, loc *time.Location) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no pages")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, " \tID\tFROM\tSEVERITY\tSENT\tRECIPIENTS\tSUMMARY")
	var wait []string
	for _, p := range list {
		mark := " "
		if waiting(p, self) {
			mark = "!"
			wait = append(wait, clean(p.ID))
		}
		summary := clean(p.Summary)
		if p.Drill {
			summary = "[drill] " + summary
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, clean(p.ID), clean(p.From), clean(p.Severity),
			fmtTime(p.CreatedAt, loc), recipientStates(p), truncate(summary, 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(wait) > 0 {
		_, err := fmt.Fprintf(w, "\n! %d waiting for %s to acknowledge: csirtlink page ack ID\n", len(wait), clean(self))
		return err
	}
	return nil
}

func pageShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink page show ID"
	fs, af := apiFlagSet("page show", use, stderr)
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	d, err := c.GetPage(ctx, pos[0])
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, d)
	}
	self, loc, err := nodeTeam(ctx, af, c)
	if err != nil {
		return err
	}
	return printPage(stdout, d, self, loc)
}

func printPage(w io.Writer, d client.PageDetail, self string, loc *time.Location) error {
	p := d.Page
	fmt.Fprintf(w, "%s  %s\n", clean(p.ID), clean(p.Summary))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Severity:\t%s\n", clean(p.Severity))
	fmt.Fprintf(tw, "From:\t%s, by %s\n", clean(p.From), clean(p.CreatedBy))
	fmt.Fprintf(tw, "Sent:\t%s\n", fmtTime(p.CreatedAt, loc))
	fmt.Fprintf(tw, "TLP:\tTLP:%s\n", clean(p.TLP))
	if p.IncidentID != "" {
		fmt.Fprintf(tw, "Incident:\t%s\n", clean(p.IncidentID))
	}
	if p.Drill {
		fmt.Fprintf(tw, "Drill:\tcomm check %s\n", clean(p.CommCheckID))
	}
	if p.ResolvedAt != nil {
		fmt.Fprintf(tw, "Resolved:\t%s by %s\n", fmtTime(*p.ResolvedAt, loc), clean(p.ResolvedBy))
	} else {
		fmt.Fprintf(tw, "Resolved:\tno, open\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if waiting(p, self) {
		fmt.Fprintf(w, "! Waiting for %s to acknowledge: csirtlink page ack %s\n", clean(self), clean(p.ID))
	}
	if s := strings.TrimSpace(p.Details); s != "" {
		fmt.Fprintln(w)
		for _, line := range strings.Split(s, "\n") {
			fmt.Fprintf(w, "  %s\n", clean(line))
		}
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TEAM\tSTATE\tDELIVERED\tNOTIFIED\tACKNOWLEDGED")
	var notes []string
	for _, dl := range p.Deliveries {
		delivered, notified, acked := "-", "-", "-"
		if dl.DeliveredAt != nil {
			delivered = fmtTime(*dl.DeliveredAt, loc)
		}
		if dl.NotifiedAt != nil {
			notified = fmtTime(*dl.NotifiedAt, loc)
			if dl.NotifiedChannel != "" {
				notified += " (" + clean(dl.NotifiedChannel) + ")"
			}
		}
		if dl.AcknowledgedAt != nil {
			acked = fmtTime(*dl.AcknowledgedAt, loc) + " by " + clean(dl.AcknowledgedBy)
			if dl.AckVia != "" {
				acked += ", via " + clean(dl.AckVia)
			}
			if dl.AckVia == hotline.ViaFallback {
				acked += " (NOT VERIFIED)"
				signed := slices.ContainsFunc(d.Acknowledgements, func(a hotline.AckCheck) bool { return a.Team == dl.Team && a.Signature == "verified" })
				note := fmt.Sprintf("%s: acknowledged with the code from our fallback e-mail, which anyone who read that e-mail could use; not verified until %s's node signs its own",
					clean(dl.Team), clean(dl.Team))
				if signed {
					note = fmt.Sprintf("%s: first acknowledged with the code from our fallback e-mail (not verified); %s's node has since signed its own acknowledgement",
						clean(dl.Team), clean(dl.Team))
				}
				notes = append(notes, note)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clean(dl.Team), clean(dl.State), delivered, notified, acked)
		switch {
		case dl.FallbackAt != nil:
			notes = append(notes, fmt.Sprintf("%s: no receipt from its node; fallback mail to its hotline address at %s",
				clean(dl.Team), fmtTime(*dl.FallbackAt, loc)))
		case dl.FallbackError != "":
			notes = append(notes, fmt.Sprintf("%s: no receipt from its node; fallback mail failed: %s",
				clean(dl.Team), truncate(clean(dl.FallbackError), 120)))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}

	if d.Escalation != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, escalationText(*d.Escalation, loc))
	}
	if len(d.Notifications) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tUSER\tCHANNEL\tLEVEL\tSTATE\tERROR")
		for _, n := range d.Notifications {
			at := n.CreatedAt
			if n.AttemptedAt != nil {
				at = *n.AttemptedAt
			}
			channel := clean(n.Channel)
			if n.Address != "" && n.Channel != hotline.ChannelConsole {
				channel += " " + truncate(clean(n.Address), 40)
			}
			level := fmt.Sprint(n.Level + 1)
			if n.Round > 0 {
				level += fmt.Sprintf(" (round %d)", n.Round+1)
			}
			errText := "-"
			if n.Error != "" {
				errText = truncate(clean(n.Error), 80)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", fmtTime(at, loc), clean(n.User), channel, level, clean(n.State), errText)
		}
		return tw.Flush()
	}
	return nil
}

// escalationText describes the receiving team's escalation of a page: the policy, and
// the next step or why it stopped. Rounds and levels are counted from 1.
func escalationText(e store.Escalation, loc *time.Location) string {
	var b strings.Builder
	b.WriteString("Escalation:  ")
	rounds, levels := 0, 0
	// The policy is a frozen snapshot; reading it is best effort, for its name and size.
	if plan, err := oncall.LoadSnapshot([]byte(e.Policy)); err == nil {
		fmt.Fprintf(&b, "policy %q, ", clean(plan.Policy.Name))
		rounds, levels = plan.Policy.Repeat+1, len(plan.Policy.Levels)
	}
	fmt.Fprintf(&b, "started %s\n             ", fmtTime(e.StartedAt, loc))
	of := func(n, total int) string {
		if total > 0 {
			return fmt.Sprintf("%d of %d", n, total)
		}
		return fmt.Sprint(n)
	}
	switch {
	case e.StoppedAt != nil:
		fmt.Fprintf(&b, "stopped %s: %s", fmtTime(*e.StoppedAt, loc), clean(e.StopReason))
	case e.NextAt != nil:
		fmt.Fprintf(&b, "next: level %s, round %s, at %s", of(e.Level+1, levels), of(e.Round+1, rounds), fmtTime(*e.NextAt, loc))
	default:
		b.WriteString("no further step")
	}
	return b.String()
}

func pageAck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink page ack ID"
	fs, af := apiFlagSet("page ack", use, stderr)
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	p, err := c.AckPage(af.keyed(ctx), pos[0])
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, p)
	}
	self, loc, err := nodeTeam(ctx, af, c)
	if err != nil {
		return err
	}
	for _, d := range p.Deliveries {
		if d.Team == self && d.AcknowledgedAt != nil {
			_, err := fmt.Fprintf(stdout, "acknowledged %s from %s for %s at %s by %s, via %s; %s is told\n", clean(p.ID), clean(p.From),
				clean(d.Team), fmtTime(*d.AcknowledgedAt, loc), clean(d.AcknowledgedBy), clean(d.AckVia), clean(p.From))
			return err
		}
	}
	_, err = fmt.Fprintf(stdout, "acknowledged %s from %s\n", clean(p.ID), clean(p.From))
	return err
}

func pageResolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink page resolve ID   (the sender only)"
	fs, af := apiFlagSet("page resolve", use, stderr)
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	p, err := c.ResolvePage(af.keyed(ctx), pos[0])
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, p)
	}
	loc := af.location(ctx, c)
	at := "-"
	if p.ResolvedAt != nil {
		at = fmtTime(*p.ResolvedAt, loc)
	}
	fmt.Fprintf(stdout, "resolved %s at %s; each recipient is told\n", clean(p.ID), at)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, d := range p.Deliveries {
		ack := "never acknowledged"
		if d.AcknowledgedAt != nil {
			ack = "acknowledged " + fmtTime(*d.AcknowledgedAt, loc) + " by " + clean(d.AcknowledgedBy)
			if d.AckVia == hotline.ViaFallback {
				ack += " with the fallback e-mail's code (not verified)"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\n", clean(d.Team), ack)
	}
	return tw.Flush()
}

func onCallShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink oncall show [--at TIME]   (TIME: RFC 3339, such as 2026-03-05T10:00:00+09:00)"
	fs, af := apiFlagSet("oncall show", use, stderr)
	fs.Lookup("tz").Usage = "IANA time `zone` to show times in besides the node team's (default: this machine's)"
	atFlag := fs.String("at", "", "who is on call at this `time` (RFC 3339; default now)")
	if _, err := parseArgs(fs, use, args, 0, 0); err != nil {
		return err
	}
	var at time.Time
	if *atFlag != "" {
		t, err := time.Parse(time.RFC3339, *atFlag)
		if err != nil {
			return usageError(use, fmt.Sprintf("--at %q is not an RFC 3339 time like 2026-03-05T10:00:00+09:00", *atFlag))
		}
		at = t
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	oc, err := c.OnCallNow(ctx, at)
	if err != nil {
		return err
	}
	if af.json {
		oc.Rotations = orEmpty(oc.Rotations)
		return printJSON(stdout, oc)
	}
	home := team.Team{Timezone: oc.Timezone}.Location()
	viewer := (&apiFlags{tz: af.tz}).pickLocation("")
	return printOnCall(stdout, oc, home, viewer, af.tz)
}

// printOnCall shows who is on call now and next in each rotation, in the node team's
// zone and, where it shows other clock times, in the viewer's (viewerName: the --tz
// given, or "" for this machine's zone).
func printOnCall(w io.Writer, oc client.OnCall, team, viewer *time.Location, viewerName string) error {
	instants := []time.Time{oc.At}
	for _, r := range oc.Rotations {
		instants = append(instants, r.Current.Start, r.Current.End, r.Next.Start, r.Next.End)
	}
	both := false
	for _, t := range instants {
		both = both || fmtTime(t, team) != fmtTime(t, viewer)
	}
	teamName := clean(oc.Timezone)
	if teamName == "" {
		teamName = "UTC"
	}
	yourTime, yourLabel := "YOUR TIME", "your time"
	if viewerName != "" {
		yourTime, yourLabel = "YOUR TIME ("+viewerName+")", viewerName
	}
	if both {
		fmt.Fprintf(w, "On call at %s (%s: %s)\n", fmtTime(oc.At, team), yourLabel, fmtTime(oc.At, viewer))
	} else {
		fmt.Fprintf(w, "On call at %s\n", fmtTime(oc.At, team))
	}
	if len(oc.Rotations) == 0 {
		_, err := fmt.Fprintln(w, "no rotations: the team has no on-call rota (PUT /api/v1/oncall/rotations/ID)")
		return err
	}
	fmt.Fprintln(w)
	span := func(s oncall.Shift, loc *time.Location) string {
		return fmtTime(s.Start, loc) + " → " + fmtTime(s.End, loc)
	}
	who := func(s oncall.Shift) string {
		if s.Override {
			return clean(s.User) + " (override)"
		}
		return clean(s.User)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if both {
		fmt.Fprintf(tw, "ROTATION\t\tWHO\tTEAM TIME (%s)\t%s\n", teamName, yourTime)
	} else {
		fmt.Fprintf(tw, "ROTATION\t\tWHO\tTIME (%s)\n", teamName)
	}
	var notes []string
	for _, r := range oc.Rotations {
		name := clean(r.Rotation)
		if r.Name != "" && r.Name != r.Rotation {
			name += ": " + truncate(clean(r.Name), 30)
		}
		for i, s := range []oncall.Shift{r.Current, r.Next} {
			label := "now"
			if i == 1 {
				label, name = "next", ""
			}
			if both {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, label, who(s), span(s, team), span(s, viewer))
			} else {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, label, who(s), span(s, team))
			}
		}
		if r.Timezone != "" && r.Timezone != oc.Timezone {
			notes = append(notes, fmt.Sprintf("%s hands off by the clocks of %s", clean(r.Rotation), clean(r.Timezone)))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}

func commCheckRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink commcheck run [--to jp,kr|all]"
	fs, af := apiFlagSet("commcheck run", use, stderr)
	to := &stringList{}
	fs.Var(to, "to", "drill these peer `teams`, comma-separated or repeated (default: all)")
	if _, err := parseArgs(fs, use, args, 0, 0); err != nil {
		return err
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	cc, err := c.RunCommCheck(af.keyed(ctx), *to)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, cc)
	}
	teams := make([]string, len(cc.Teams))
	for i, t := range cc.Teams {
		teams[i] = clean(t)
	}
	_, err = fmt.Fprintf(stdout, "comm check %s sent to %s (page %s); see: csirtlink commcheck report\n", clean(cc.ID),
		strings.Join(teams, ", "), clean(cc.PageID))
	return err
}

func commCheckReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink commcheck report [--limit N]"
	fs, af := apiFlagSet("commcheck report", use, stderr)
	limit := fs.Int("limit", 0, "the last `N` comm checks (1 to 1000; default: the node's)")
	if _, err := parseArgs(fs, use, args, 0, 0); err != nil {
		return err
	}
	if flagSet(fs, "limit") && (*limit < 1 || *limit > 1000) {
		return usageError(use, "--limit must be from 1 to 1000")
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	rep, err := c.CommCheckReport(ctx, *limit)
	if err != nil {
		return err
	}
	if af.json {
		rep.Checks, rep.Partners = orEmpty(rep.Checks), orEmpty(rep.Partners)
		return printJSON(stdout, rep)
	}
	return printCommCheckReport(stdout, rep, af.location(ctx, c))
}

func printCommCheckReport(w io.Writer, rep hotline.Report, loc *time.Location) error {
	if len(rep.Checks) == 0 {
		_, err := fmt.Fprintln(w, "no comm checks yet: csirtlink commcheck run")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTNER\tCHECKS\tANSWERED\tMEDIAN TO ACK\tWORST")
	secs := func(s *float64) string {
		if s == nil {
			return "-"
		}
		return fmtSeconds(*s)
	}
	for _, p := range rep.Partners {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", clean(p.Team), p.Checks, p.Answered, secs(p.MedianSeconds), secs(p.WorstSeconds))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSENT\tPARTNER\tRESULT")
	for _, cc := range rep.Checks {
		id, sent := clean(cc.ID), fmtTime(cc.CreatedAt, loc)
		if len(cc.Results) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\n", id, sent)
		}
		for _, r := range cc.Results {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id, sent, clean(r.Team), partnerResult(r))
			id, sent = "", ""
		}
	}
	return tw.Flush()
}

// partnerResult says how a partner answered a comm check: in how long, by whom and
// how, or that it has not, and how far the page got.
func partnerResult(r hotline.PartnerResult) string {
	if !r.Answered {
		s := "no answer (" + clean(r.State)
		if r.NotifiedChannel != "" {
			s += " by " + clean(r.NotifiedChannel)
		}
		return s + ")"
	}
	s := "answered"
	if r.Seconds != nil {
		s += " in " + fmtSeconds(*r.Seconds)
	}
	if r.AcknowledgedBy != "" {
		s += " by " + clean(r.AcknowledgedBy)
	}
	if r.Via != "" {
		s += " via " + clean(r.Via)
	}
	return s
}

// fmtSeconds shows a duration to the second: 42s, 3m05s, 1h02m09s, 2d03h00m. Under a
// second is "<1s"; a negative one (the two nodes' clocks disagree) keeps its sign.
func fmtSeconds(secs float64) string {
	if math.IsNaN(secs) || math.IsInf(secs, 0) {
		return "?"
	}
	if secs < 0 {
		return "-" + fmtSeconds(-secs)
	}
	if secs < 1 {
		return "<1s"
	}
	if secs > 1e9 {
		secs = 1e9 // decades; keep the arithmetic in range
	}
	n := int64(math.Round(secs))
	d, h, m, s := n/86400, n%86400/3600, n%3600/60, n%60
	switch {
	case d > 0:
		return fmt.Sprintf("%dd%02dh%02dm", d, h, m)
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}
