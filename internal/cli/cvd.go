package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"csirtlink/internal/client"
	"csirtlink/internal/cvd"
)

const cvdUsage = `Usage:
  csirtlink cvd list
  csirtlink cvd show ID
  csirtlink cvd create FILE.json          (the body of POST /api/v1/cvd/cases; - reads stdin)
  csirtlink cvd embargo ID --at 2026-12-24T06:00:00Z
  csirtlink cvd agree ID
  csirtlink cvd object ID REASON...
  csirtlink cvd emergency ID REASON...
  csirtlink cvd edit ID [--title T] [--add-participant TEAM ...] [FILE.json]
                                          (FILE: the body of PATCH /api/v1/cvd/cases/ID: vulnerabilities and
                                          products to add, or to replace when they carry an existing id)
  csirtlink cvd vendor ID --name N [--email E] [--contact C] [--product p1 ...] [--shared] [--tlp L]
  csirtlink cvd vendor-tlp ID --vendor V --tlp L   (the label the case is given to the vendor; --tlp case: the case's own)
  csirtlink cvd remove ID (--vuln v2 | --product p2 | --participant TEAM | --vendor V) [REASON...]
                                          (vulnerabilities, products and coordinators: the owner only; a vendor:
                                          its coordinator; a signed timeline entry sent to every participant)
  csirtlink cvd texts show ID [--lang en|zh|ja|ko]
  csirtlink cvd texts set ID --lang ja --file F.json   (this node's advisory texts in one language, kept here;
                                          F: {"title","summary","vulnerabilities":{"v1":{"title","description",
                                          "remediation"}}}, - reads stdin)
  csirtlink cvd mail ID --vendor V --subject S BODY...   (from the case's reply address)
  csirtlink cvd status ID --vendor V --vuln v1 --product p1 --status S [--justification J] [--fixed-version X] [STATEMENT...]
  csirtlink cvd handoff ID TEAM
  csirtlink cvd accept ID
  csirtlink cvd csaf ID [--lang en|zh|ja|ko] [--vex]

Every command takes --url, --token, --json and --tz as the incident commands do.
`

func runCVD(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, cvdUsage)
		return fmt.Errorf("%w: csirtlink cvd list|show|create|edit|embargo|agree|object|emergency|vendor|vendor-tlp|remove|mail|status|handoff|accept|csaf|texts", errUsage)
	}
	sub, rest := args[0], args[1:]
	if sub == "texts" {
		return runCVDTexts(ctx, rest, stdout, stderr)
	}
	use := "csirtlink cvd " + sub
	fs, af := apiFlagSet(use, cvdUsage, stderr)
	var at, name, email, contact, vendor, vuln, status, justification, fixed, lang, title, subject, label, participant string
	var shared, vex bool
	products, participants := &stringList{}, &stringList{}
	switch sub {
	case "embargo":
		fs.StringVar(&at, "at", "", "the publication instant, RFC 3339 (required)")
	case "vendor":
		fs.StringVar(&name, "name", "", "the vendor's `name` (required)")
		fs.StringVar(&email, "email", "", "the vendor's security contact `address`")
		fs.StringVar(&contact, "contact", "", "the vendor's contact `person`")
		fs.Var(products, "product", "a product `id` of the case the vendor makes (repeatable)")
		fs.BoolVar(&shared, "shared", false, "the vendor agreed that its name go with its statuses to the other coordinators")
		fs.StringVar(&label, "tlp", "", "the `label` the case is given to the vendor (default: the case's)")
	case "vendor-tlp":
		fs.StringVar(&vendor, "vendor", "", "the vendor's `id` on this node (required)")
		fs.StringVar(&label, "tlp", "", "the `label` the case is given to the vendor: CLEAR, GREEN, AMBER, AMBER+STRICT, RED, or case (required)")
	case "remove":
		fs.StringVar(&vuln, "vuln", "", "the vulnerability `id` to remove (v2, …)")
		fs.Var(products, "product", "the product `id` to remove (p2, …)")
		fs.StringVar(&participant, "participant", "", "the coordinator `team` to remove")
		fs.StringVar(&vendor, "vendor", "", "this team's vendor `id` to remove")
	case "status":
		fs.StringVar(&vendor, "vendor", "", "the vendor's `id` on this node (required)")
		fs.StringVar(&vuln, "vuln", "", "the vulnerability `id` (v1, …)")
		fs.Var(products, "product", "the product `id` (p1, …)")
		fs.StringVar(&status, "status", "", "unassessed, under_investigation, affected, not_affected or fixed")
		fs.StringVar(&justification, "justification", "", "why not affected (component_not_present, vulnerable_code_not_present, …)")
		fs.StringVar(&fixed, "fixed-version", "", "the first fixed `version`")
	case "edit":
		fs.StringVar(&title, "title", "", "the case's new `title`")
		fs.Var(participants, "add-participant", "a coordinator `team` to add (repeatable)")
	case "mail":
		fs.StringVar(&vendor, "vendor", "", "the vendor's `id` on this node (required)")
		fs.StringVar(&subject, "subject", "", "the mail's `subject` (required)")
	case "csaf":
		fs.StringVar(&lang, "lang", "en", "the advisory's `language`: en, zh, ja or ko")
		fs.BoolVar(&vex, "vex", false, "the csaf_vex profile instead of csaf_security_advisory")
	}
	minArgs, maxArgs := 1, 1
	switch sub {
	case "list":
		minArgs, maxArgs = 0, 0
	case "object", "emergency", "status", "mail", "remove":
		maxArgs = 1 << 10
	case "edit":
		maxArgs = 2
	case "handoff":
		minArgs, maxArgs = 2, 2
	case "help", "-h", "--help":
		fmt.Fprint(stdout, cvdUsage)
		return nil
	case "show", "create", "embargo", "agree", "vendor", "vendor-tlp", "accept", "csaf":
	default:
		fmt.Fprint(stderr, cvdUsage)
		return fmt.Errorf("%w: unknown cvd command %q", errUsage, sub)
	}
	c, pos, err := af.connect(fs, use, rest, minArgs, maxArgs, stderr)
	if err != nil {
		return err
	}
	kctx := af.keyed(ctx)
	text := func() string { return strings.Join(pos[1:], " ") }
	var k client.CaseView
	switch sub {
	case "list":
		list, err := c.ListCases(ctx)
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(stdout, map[string]any{"cases": orEmpty(list)})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tOWNER\tEMBARGO\tPUBLISH AT\tTITLE")
		loc := af.location(ctx, c)
		for _, k := range list {
			at := "-"
			if k.Embargo.PublishAt != nil {
				at = k.Embargo.PublishAt.In(loc).Format(timeLayout)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Owner, k.Embargo.State, at, clean(k.Title))
		}
		return tw.Flush()
	case "create":
		var b []byte
		if pos[0] == "-" {
			b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		} else {
			b, err = os.ReadFile(pos[0])
		}
		if err != nil {
			return err
		}
		var n cvd.NewCase
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&n); err != nil {
			return usageError(use, fmt.Sprintf("%s: %v", pos[0], err))
		}
		k, err = c.CreateCase(kctx, n)
	case "show":
		k, err = c.GetCase(ctx, pos[0])
	case "edit":
		var e cvd.CaseEdit
		if len(pos) == 2 {
			b, rerr := os.ReadFile(pos[1])
			if rerr != nil {
				return rerr
			}
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil {
				return usageError(use, fmt.Sprintf("%s: %v", pos[1], err))
			}
		}
		if title != "" {
			e.Title = &title
		}
		e.AddParticipants = append(e.AddParticipants, *participants...)
		k, err = c.CaseAction(kctx, http.MethodPatch, pos[0], "", e)
	case "mail":
		if vendor == "" || subject == "" {
			return usageError(use, "--vendor and --subject are required")
		}
		m, err := c.MailVendor(kctx, pos[0], vendor, subject, text())
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(stdout, m)
		}
		fmt.Fprintf(stdout, "mail %s sent to vendor %s of %s from its reply address\n", m.ID, vendor, pos[0])
		return nil
	case "embargo":
		t, perr := time.Parse(time.RFC3339, at)
		if perr != nil {
			return usageError(use, "--at: an RFC 3339 time, such as 2026-12-24T06:00:00Z")
		}
		k, err = c.CaseAction(kctx, http.MethodPost, pos[0], "/embargo", map[string]any{"publish_at": t})
	case "agree":
		k, err = c.CaseAction(kctx, http.MethodPost, pos[0], "/embargo/agree", nil)
	case "object", "emergency":
		k, err = c.CaseAction(kctx, http.MethodPost, pos[0], "/embargo/"+sub, map[string]string{"reason": text()})
	case "vendor":
		v, err := c.AddVendor(kctx, pos[0], cvd.NewVendor{Name: name, Email: email, Contact: contact, Products: *products, Shared: shared, TLP: label})
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(stdout, v)
		}
		fmt.Fprintf(stdout, "vendor %s (%s) added to %s at TLP:%s\n", v.ID, v.Name, pos[0], v.TLP)
		return nil
	case "vendor-tlp":
		if vendor == "" || label == "" {
			return usageError(use, "--vendor and --tlp are required")
		}
		if strings.EqualFold(label, "case") {
			label = ""
		}
		v, err := c.SetVendorTLP(kctx, pos[0], vendor, label)
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(stdout, v)
		}
		fmt.Fprintf(stdout, "vendor %s (%s) of %s now at TLP:%s\n", v.ID, v.Name, pos[0], v.TLP)
		return nil
	case "remove":
		r := cvd.Removal{Vulnerability: vuln, Participant: participant, Vendor: vendor, Reason: text()}
		if len(*products) > 0 {
			r.Product = (*products)[0]
		}
		if len(*products) > 1 {
			return usageError(use, "one --product at a time")
		}
		k, err = c.CaseAction(kctx, http.MethodPost, pos[0], "/removals", r)
	case "status":
		p := ""
		if len(*products) > 0 {
			p = (*products)[0]
		}
		k, err = c.CaseAction(kctx, http.MethodPost, pos[0], "/statuses", cvd.StatusInput{Vendor: vendor, Vulnerability: vuln, Product: p,
			Status: status, Justification: justification, FixedVersion: fixed, Statement: text()})
	case "handoff":
		k, err = c.CaseAction(kctx, http.MethodPost, pos[0], "/handoff", map[string]string{"team": pos[1]})
	case "accept":
		k, err = c.CaseAction(kctx, http.MethodPost, pos[0], "/handoff/accept", nil)
	case "csaf":
		profile := "advisory"
		if vex {
			profile = "vex"
		}
		doc, err := c.CaseCSAF(ctx, pos[0], lang, profile)
		if err != nil {
			return err
		}
		return printJSON(stdout, doc)
	}
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(stdout, k)
	}
	return printCase(stdout, k, af.location(ctx, c))
}

// printCase shows a case for a person: the embargo in each party's time, the status
// matrix, and the timeline.
func printCase(w io.Writer, k client.CaseView, loc *time.Location) error {
	fmt.Fprintf(w, "%s  %s\nowner %s (since %s) · participants %s · TLP:%s, advisory TLP:%s\n", k.ID, clean(k.Title),
		k.Owner, strings.Join(k.Owners, " → "), strings.Join(k.Participants, ", "), k.TLP, k.AdvisoryTLP)
	fmt.Fprintf(w, "embargo: %s", k.Embargo.State)
	if k.Embargo.PublishAt != nil {
		fmt.Fprintf(w, " at %s; agreed by %s", k.Embargo.PublishAt.In(loc).Format(timeLayout), strings.Join(k.Embargo.Agreed, ", "))
	}
	fmt.Fprintln(w)
	for _, lt := range k.LocalTimes {
		fmt.Fprintf(w, "  %-9s %s (%s)\n", lt.Party, lt.Time, lt.Timezone)
	}
	for _, o := range k.Embargo.Objections {
		fmt.Fprintf(w, "  objection by %s (%s): %s\n", o.Team, o.By, clean(o.Reason))
	}
	if e := k.Embargo.Emergency; e != nil {
		fmt.Fprintf(w, "  emergency publication by %s (%s) at %s: %s\n", e.Team, e.By, e.At.In(loc).Format(timeLayout), clean(e.Reason))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "\nVULNERABILITY")
	for _, p := range k.Products {
		fmt.Fprintf(tw, "\t%s %s %s", p.ID, clean(p.Vendor), clean(p.Product))
	}
	fmt.Fprintln(tw)
	for _, v := range k.Vulnerabilities {
		fmt.Fprintf(tw, "%s %s %.1f", v.ID, v.CVE, v.ScoreV3)
		if v.SeverityV4 != "" {
			fmt.Fprintf(tw, " (4.0: %.1f)", v.ScoreV4)
		}
		for _, p := range k.Products {
			fmt.Fprintf(tw, "\t%s", k.Matrix[v.ID][p.ID].Status)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(k.Vendors) > 0 {
		fmt.Fprintln(w, "\nOUR VENDORS")
		for _, v := range k.Vendors {
			state := ""
			if v.Removed {
				state = "  (removed)"
			}
			fmt.Fprintf(w, "  %s  %s  TLP:%s%s\n", v.ID, clean(v.Name), v.TLP, state)
		}
	}
	if len(k.VendorMail) > 0 {
		fmt.Fprintln(w, "\nMAIL WITH OUR VENDORS")
		for _, m := range k.VendorMail {
			who := "to " + m.Address + " by " + clean(m.Author)
			if m.Direction == cvd.MailIn {
				who = "from " + clean(m.Author) + " <" + clean(m.Address) + ">"
			}
			fmt.Fprintf(w, "  %s  %s  %s\n", m.CreatedAt.In(loc).Format(timeLayout), who, clean(m.Subject))
		}
	}
	fmt.Fprintln(w, "\nTIMELINE")
	for _, e := range k.Timeline {
		what := ""
		if r := e.Removal(); r != nil {
			what = " " + r.What + " " + clean(r.ID) + ":"
		}
		fmt.Fprintf(w, "%4d  %s  %s/%s  %s%s %s\n", e.Position, e.CreatedAt.In(loc).Format(timeLayout), e.Team, clean(e.Author), e.Kind, what, clean(e.Body))
	}
	return nil
}

// runCVDTexts shows or sets this node's advisory texts of a case, one language at a
// time (PUT …/advisory/{lang}); they are kept on this node and never federated.
func runCVDTexts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink cvd texts"
	if len(args) == 0 || (args[0] != "show" && args[0] != "set") {
		fmt.Fprint(stderr, cvdUsage)
		return fmt.Errorf("%w: csirtlink cvd texts show|set ID", errUsage)
	}
	set := args[0] == "set"
	fs, af := apiFlagSet(use+" "+args[0], cvdUsage, stderr)
	var lang, file string
	fs.StringVar(&lang, "lang", "", "the advisory's `language`: en, zh, ja or ko (required for set)")
	if set {
		fs.StringVar(&file, "file", "", "the texts as JSON (`F`; - reads stdin; required)")
	}
	c, pos, err := af.connect(fs, use+" "+args[0], args[1:], 1, 1, stderr)
	if err != nil {
		return err
	}
	if lang != "" {
		if lang, err = cvd.ParseLang(lang); err != nil {
			return usageError(use, "--lang: en, zh, ja or ko")
		}
	}
	var k client.CaseView
	if set {
		if lang == "" || file == "" {
			return usageError(use, "--lang and --file are required")
		}
		var b []byte
		if file == "-" {
			b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		} else {
			b, err = os.ReadFile(file)
		}
		if err != nil {
			return err
		}
		var t cvd.Texts
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return usageError(use, fmt.Sprintf("%s: %v", file, err))
		}
		k, err = c.CaseAction(af.keyed(ctx), http.MethodPut, pos[0], "/advisory/"+lang, t)
	} else {
		k, err = c.GetCase(ctx, pos[0])
	}
	if err != nil {
		return err
	}
	langs := []string{"en", "zh", "ja", "ko"}
	if lang != "" {
		langs = []string{lang}
	}
	if af.json {
		out := map[string]cvd.Texts{}
		for _, l := range langs {
			if t, ok := k.Advisories[l]; ok {
				out[l] = t
			}
		}
		return printJSON(stdout, map[string]any{"case": k.ID, "advisory_texts": out})
	}
	return printTexts(stdout, k, langs)
}

// printTexts shows the advisory texts of each language, and which fields fall back to
// the case's own text.
func printTexts(w io.Writer, k client.CaseView, langs []string) error {
	field := func(name, v string) {
		if v == "" {
			fmt.Fprintf(w, "  %-22s (the case's own)\n", name)
			return
		}
		fmt.Fprintf(w, "  %-22s %s\n", name, clean(v))
	}
	for _, l := range langs {
		t, ok := k.Advisories[l]
		fmt.Fprintf(w, "%s · %s", k.ID, l)
		if !ok {
			fmt.Fprintln(w, ": no texts; the advisory uses the case's own")
			continue
		}
		fmt.Fprintf(w, " (by %s, %s)\n", clean(t.UpdatedBy), t.UpdatedAt.UTC().Format(time.RFC3339))
		field("title", t.Title)
		field("summary", t.Summary)
		for _, v := range k.Vulnerabilities {
			vt := t.Vulnerabilities[v.ID]
			field("vulnerabilities["+v.ID+"].title", vt.Title)
			field("…description", vt.Description)
			field("…remediation", vt.Remediation)
		}
	}
	return nil
}
