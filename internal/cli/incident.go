package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"csirtlink/internal/client"
	"csirtlink/internal/incident"
	"csirtlink/internal/store"
	"csirtlink/internal/team"
)

const incidentUsage = `Usage:
  csirtlink incident list [--status S] [--severity S] [--category C] [--tlp L] [--team T] [--limit N]
  csirtlink incident show ID
  csirtlink incident create --title T --category C --severity S --tlp L [--description D] [--participant jp ...]
  csirtlink incident comment ID [--tlp L] [--recipient jp ...] [--observable [--type T]] TEXT...
  csirtlink incident status ID STATUS [--note N]
  csirtlink incident participate ID STATUS
  csirtlink incident invite ID TEAM

Every command takes --url URL, --token TOKEN (or CSIRTLINK_URL, CSIRTLINK_TOKEN),
--json (print the API's object, for scripts) and --tz ZONE (show times in an IANA zone;
default: the node team's zone). Flags may come before or after the arguments.
A change whose answer is lost is sent again with the same Idempotency-Key, so it is
carried out once; one that got no answer at all prints its key: run the command again
with --idempotency-key KEY.
`

// Environment variables the client commands read.
const (
	envURL   = "CSIRTLINK_URL"
	envToken = "CSIRTLINK_TOKEN"
)

// timeLayout shows a time with its zone's abbreviation: 2026-11-22 19:05 JST.
const timeLayout = "2006-01-02 15:04 MST"

func runIncident(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, incidentUsage)
		return fmt.Errorf("%w: csirtlink incident list|show|create|comment|status|participate|invite [flags]", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
		return incidentList(ctx, rest, stdout, stderr)
	case "show":
		return incidentShow(ctx, rest, stdout, stderr)
	case "create":
		return incidentCreate(ctx, rest, stdout, stderr)
	case "comment":
		return incidentComment(ctx, rest, stdout, stderr)
	case "status":
		return incidentStatus(ctx, rest, stdout, stderr)
	case "participate":
		return incidentParticipate(ctx, rest, stdout, stderr)
	case "invite":
		return incidentInvite(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, incidentUsage)
		return nil
	}
	fmt.Fprint(stderr, incidentUsage)
	return fmt.Errorf("%w: unknown incident command %q", errUsage, sub)
}

func incidentList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink incident list [--status S] [--severity S] [--category C] [--tlp L] [--team T] [--limit N]"
	fs, af := apiFlagSet("incident list", use, stderr)
	var f store.IncidentFilter
	fs.StringVar(&f.Status, "status", "", "only incidents with this `status` (open, in_progress, mitigated, closed)")
	fs.StringVar(&f.Severity, "severity", "", "only incidents of this `severity` (critical, high, medium, low)")
	fs.StringVar(&f.Category, "category", "", "only incidents of this RSIT `category`, such as fraud/phishing")
	fs.StringVar(&f.TLP, "tlp", "", "only incidents labelled TLP:`LABEL`")
	fs.StringVar(&f.Team, "team", "", "only incidents this `team` takes part in")
	fs.IntVar(&f.Limit, "limit", 0, "list at most `N` incidents (1 to 1000; default: the node's)")
	if _, err := parseArgs(fs, use, args, 0, 0); err != nil {
		return err
	}
	if flagSet(fs, "limit") && (f.Limit < 1 || f.Limit > 1000) {
		return usageError(use, "--limit must be from 1 to 1000")
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	list, err := c.ListIncidents(ctx, f)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, map[string]any{"incidents": orEmpty(list)})
	}
	loc := af.location(ctx, c)
	return printIncidents(stdout, list, loc)
}

func incidentShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink incident show ID"
	fs, af := apiFlagSet("incident show", use, stderr)
	c, pos, err := af.connect(fs, use, args, 1, 1, stderr)
	if err != nil {
		return err
	}
	in, err := c.GetIncident(ctx, pos[0])
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, in)
	}
	loc := af.location(ctx, c)
	return printIncident(stdout, in, loc)
}

func incidentCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink incident create --title T --category C --severity S --tlp L [--description D] [--participant jp --participant kr | --participants jp,kr]"
	fs, af := apiFlagSet("incident create", use, stderr)
	var n incident.NewIncident
	fs.StringVar(&n.Title, "title", "", "the incident's `title` (required)")
	fs.StringVar(&n.Description, "description", "", "what happened, what is known, what is asked of the teams")
	fs.StringVar(&n.Category, "category", "", "RSIT `category`, such as fraud/phishing (required)")
	fs.StringVar(&n.Severity, "severity", "", "critical, high, medium or low (required)")
	fs.StringVar(&n.TLP, "tlp", "", "TLP `label`: CLEAR, GREEN, AMBER, AMBER+STRICT or RED (required)")
	parts := &stringList{}
	fs.Var(parts, "participant", "invite this peer `team` (repeatable)")
	fs.Var(parts, "participants", "invite these peer `teams`, comma-separated")
	if _, err := parseArgs(fs, use, args, 0, 0); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"--title", n.Title}, {"--category", n.Category}, {"--severity", n.Severity}, {"--tlp", n.TLP}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return usageError(use, "missing "+strings.Join(missing, ", "))
	}
	n.Participants = *parts
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	in, err := c.CreateIncident(af.keyed(ctx), n)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, in)
	}
	var teams []string
	for _, p := range in.Participants {
		if p.Team != in.Coordinator {
			teams = append(teams, clean(p.Team))
		}
	}
	with := "no other team"
	if len(teams) > 0 {
		with = strings.Join(teams, ", ")
	}
	fmt.Fprintf(stdout, "created %s  %s  (TLP:%s, with %s)\n", clean(in.ID), clean(in.Title), clean(in.TLP), with)
	return nil
}

func incidentComment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink incident comment ID [--tlp L] [--recipient jp ...] [--observable [--type T]] TEXT..."
	fs, af := apiFlagSet("incident comment", use, stderr)
	var n incident.NewEntry
	fs.StringVar(&n.TLP, "tlp", "", "TLP `label` of the entry (default: the incident's)")
	recips := &stringList{}
	fs.Var(recips, "recipient", "for AMBER+STRICT or RED: a `team` that may see it (repeatable)")
	fs.Var(recips, "recipients", "the same, comma-separated `teams`")
	obs := fs.Bool("observable", false, "TEXT is an observable (IP, domain, URL, hash ...) rather than a comment")
	fs.StringVar(&n.Type, "type", "", "the observable's `type` (default: detected from TEXT)")
	pos, err := parseArgs(fs, use, args, 2, -1)
	if err != nil {
		return err
	}
	n.Kind, n.Body, n.Recipients = incident.KindComment, strings.Join(pos[1:], " "), *recips
	if *obs {
		n.Kind = incident.KindObservable
	} else if n.Type != "" {
		return usageError(use, "--type goes with --observable")
	}
	c, err := af.client(use, stderr)
	if err != nil {
		return err
	}
	e, err := c.AddEntry(af.keyed(ctx), pos[0], n)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, e)
	}
	fmt.Fprintf(stdout, "added %s %s to %s  [%s]\n", e.Kind, positionNote(e), clean(pos[0]), clean(e.TLP))
	return nil
}

func incidentStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink incident status ID STATUS [--note N]   (STATUS: open, in_progress, mitigated, closed)"
	fs, af := apiFlagSet("incident status", use, stderr)
	note := fs.String("note", "", "why; shown on the timeline")
	c, pos, err := af.connect(fs, use, args, 2, 2, stderr)
	if err != nil {
		return err
	}
	e, err := c.SetStatus(af.keyed(ctx), pos[0], pos[1], *note)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, e)
	}
	fmt.Fprintf(stdout, "%s is now %s %s\n", clean(pos[0]), clean(pos[1]), positionNote(e))
	return nil
}

func incidentParticipate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink incident participate ID STATUS   (STATUS: acknowledged, working, done)"
	fs, af := apiFlagSet("incident participate", use, stderr)
	c, pos, err := af.connect(fs, use, args, 2, 2, stderr)
	if err != nil {
		return err
	}
	e, err := c.SetParticipation(af.keyed(ctx), pos[0], pos[1])
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, e)
	}
	fmt.Fprintf(stdout, "%s is now %s on %s %s\n", clean(e.Team), clean(pos[1]), clean(pos[0]), positionNote(e))
	return nil
}

func incidentInvite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink incident invite ID TEAM   (coordinator only)"
	fs, af := apiFlagSet("incident invite", use, stderr)
	c, pos, err := af.connect(fs, use, args, 2, 2, stderr)
	if err != nil {
		return err
	}
	e, err := c.AddParticipant(af.keyed(ctx), pos[0], pos[1])
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, e)
	}
	fmt.Fprintf(stdout, "%s invited to %s %s\n", clean(pos[1]), clean(pos[0]), positionNote(e))
	return nil
}

// positionNote says where an entry landed: its position, or that the coordinator has
// yet to sequence it.
func positionNote(e store.Entry) string {
	if e.Position > 0 {
		return fmt.Sprintf("(#%d)", e.Position)
	}
	return "(sent to the coordinator, which numbers it)"
}

// apiFlags are the flags every client command takes.
type apiFlags struct {
	url, token, tz string
	json           bool
	key            string // --idempotency-key
}

// keyed gives the command's one POST the --idempotency-key, if one was given: a
// command repeated with the key its failure printed is carried out once.
func (af *apiFlags) keyed(ctx context.Context) context.Context {
	if af.key == "" {
		return ctx
	}
	return client.WithIdempotencyKey(ctx, af.key)
}

// validKey is what the node takes as an Idempotency-Key: 1 to 255 visible ASCII
// characters.
func validKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// apiFlagSet makes a command's flag set with the common client flags.
func apiFlagSet(name, use string, stderr io.Writer) (*flag.FlagSet, *apiFlags) {
	fs := newFlags(name, stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\nFlags:\n", use)
		fs.PrintDefaults()
	}
	af := &apiFlags{}
	// The defaults stay empty so that -h never prints the token from the environment.
	fs.StringVar(&af.url, "url", "", "the node's API `URL` (default $"+envURL+")")
	fs.StringVar(&af.token, "token", "", "API `token` (default $"+envToken+"; the variable keeps it out of ps)")
	fs.BoolVar(&af.json, "json", false, "print the API's JSON object, indented, for scripts")
	fs.StringVar(&af.tz, "tz", "", "IANA time `zone` to show times in (default: the node team's zone)")
	fs.StringVar(&af.key, "idempotency-key", "", "send the change with this `key`, as printed by a try that got no answer, so that it is carried out once")
	return fs, af
}

// connect parses a client command's flags and arguments (min to max of them) and makes
// its API client.
func (af *apiFlags) connect(fs *flag.FlagSet, use string, args []string, min, max int, stderr io.Writer) (*client.Client, []string, error) {
	pos, err := parseArgs(fs, use, args, min, max)
	if err != nil {
		return nil, nil, err
	}
	c, err := af.client(use, stderr)
	return c, pos, err
}

// client checks the URL and token, taken from the flags or else the environment, and
// makes the API client.
func (af *apiFlags) client(use string, stderr io.Writer) (*client.Client, error) {
	if af.url == "" {
		af.url = strings.TrimSpace(os.Getenv(envURL))
	}
	if af.token == "" {
		af.token = strings.TrimSpace(os.Getenv(envToken))
	}
	switch {
	case af.url == "":
		return nil, usageError(use, "no node URL: set --url or "+envURL)
	case af.token == "":
		return nil, usageError(use, "no API token: set --token or "+envToken)
	}
	u, err := url.Parse(af.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, usageError(use, fmt.Sprintf("--url %q: want http(s)://host[:port]", af.url))
	}
	if af.key != "" && !validKey(af.key) {
		return nil, usageError(use, "--idempotency-key: 1 to 255 visible ASCII characters")
	}
	if af.tz != "" {
		if _, err := time.LoadLocation(af.tz); err != nil {
			return nil, usageError(use, fmt.Sprintf("--tz %q is not an IANA time zone", af.tz))
		}
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		fmt.Fprintf(stderr, "warning: %s is plain http; the token crosses the network unencrypted\n", u.Host)
	}
	return client.New(af.url, af.token), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// location is the zone to show times in: --tz, else the node team's zone, else Local.
func (af *apiFlags) location(ctx context.Context, c *client.Client) *time.Location {
	teamZone := ""
	if af.tz == "" {
		if t, err := c.Teams(ctx); err == nil {
			teamZone = t.Self.Timezone
		}
	}
	return af.pickLocation(teamZone)
}

// pickLocation chooses between --tz, the node team's zone and Local, in that order.
func (af *apiFlags) pickLocation(teamZone string) *time.Location {
	for _, name := range []string{af.tz, teamZone} {
		if name == "" {
			continue
		}
		if loc, err := team.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.Local
}

// parseArgs parses flags wherever they stand among the arguments and returns the
// positional ones, checking there are from min to max of them (max -1: no limit).
// Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, use string, args []string, min, max int) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := parse(fs, flags); err != nil {
		return nil, err
	}
	switch {
	case len(pos) < min:
		return nil, usageError(use, fmt.Sprintf("want %d argument(s), got %d", min, len(pos)))
	case max >= 0 && len(pos) > max:
		return nil, usageError(use, fmt.Sprintf("unexpected argument %q", pos[max]))
	}
	return pos, nil
}

// usageError says what was wrong and the usage line.
func usageError(use, msg string) error {
	return fmt.Errorf("%s\n%w: %s", msg, errUsage, use)
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// stringList is a repeatable flag; each value may also be a comma-separated list.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func printIncidents(w io.Writer, list []store.Incident, loc *time.Location) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no incidents")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSTATUS\tTLP\tCOORD\tPARTICIPANTS\tUPDATED\tTITLE")
	for _, in := range list {
		var teams []string
		for _, p := range in.Participants {
			teams = append(teams, p.Team)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clean(in.ID), clean(in.Severity), clean(in.Status), clean(in.TLP),
			clean(in.Coordinator), clean(strings.Join(teams, ",")), fmtTime(in.UpdatedAt, loc), truncate(clean(in.Title), 80))
	}
	return tw.Flush()
}

func printIncident(w io.Writer, in store.Incident, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n", clean(in.ID), clean(in.Title))
	fmt.Fprintf(tw, "Status:\t%s\n", clean(in.Status))
	fmt.Fprintf(tw, "Severity:\t%s\n", clean(in.Severity))
	fmt.Fprintf(tw, "Category:\t%s\n", clean(in.Category))
	fmt.Fprintf(tw, "TLP:\tTLP:%s\n", clean(in.TLP))
	fmt.Fprintf(tw, "Coordinator:\t%s\n", clean(in.Coordinator))
	fmt.Fprintf(tw, "Created:\t%s by %s\n", fmtTime(in.CreatedAt, loc), clean(in.CreatedBy))
	fmt.Fprintf(tw, "Updated:\t%s\n", fmtTime(in.UpdatedAt, loc))
	if err := tw.Flush(); err != nil {
		return err
	}
	if d := strings.TrimSpace(in.Description); d != "" {
		fmt.Fprintln(w)
		for _, line := range strings.Split(d, "\n") {
			fmt.Fprintf(w, "  %s\n", clean(line))
		}
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTICIPANT\tSTATUS\tACKNOWLEDGED\tUPDATED")
	for _, p := range in.Participants {
		ack := "-"
		if p.AcknowledgedAt != nil {
			ack = fmtTime(*p.AcknowledgedAt, loc)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", clean(p.Team), clean(p.Status), ack, fmtTime(p.UpdatedAt, loc))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	if len(in.Timeline) == 0 {
		_, err := fmt.Fprintln(w, "no timeline entries")
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range in.Timeline {
		pos := "…"
		if e.Position > 0 {
			pos = fmt.Sprintf("#%d", e.Position)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t[%s]\t%s\n", pos, fmtTime(e.CreatedAt, loc), clean(e.Team), clean(e.Author),
			clean(e.Kind), clean(e.TLP), entryText(e))
	}
	return tw.Flush()
}

// entryText is an entry's body as a line; status and participation entries say the
// new status, observables their type.
func entryText(e store.Entry) string {
	var d struct {
		Status string `json:"status"`
		Type   string `json:"type"`
		Team   string `json:"team"`
	}
	if e.Data != "" {
		_ = json.Unmarshal([]byte(e.Data), &d) // best effort: the body is shown regardless
	}
	body := clean(e.Body)
	switch {
	case (e.Kind == incident.KindStatus || e.Kind == incident.KindParticipation) && d.Status != "":
		s := "→ " + clean(d.Status)
		if body != "" {
			s += ": " + body
		}
		return s
	case e.Kind == incident.KindObservable && d.Type != "":
		return clean(d.Type) + " " + body
	case e.Kind == incident.KindInvitation && d.Team != "":
		return "+ " + clean(d.Team) + " invited"
	}
	return body
}

func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(timeLayout)
}

// clean makes text from the API (much of it written by other teams) safe for one
// terminal line and one table cell: line breaks become ↵, and control and
// bidirectional-override characters, which could rewrite what the terminal shows,
// become U+FFFD.
func clean(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", " ↵ ")
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

func unsafeRune(r rune) bool {
	switch {
	case r == utf8.RuneError, unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// truncate shortens s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
