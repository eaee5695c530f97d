package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"csirtlink/internal/metrics"
	"csirtlink/internal/report"
)

// runReport writes the joint report of a year or a quarter, from a node's API, as
// print-ready HTML and CSV (and PDF, through headless Chromium, with --pdf).
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "csirtlink report --period 2026 | --quarter 2026Q3 [--lang en|zh-Hans|ja|ko] --out DIR [--pdf]"
	fs, af := apiFlagSet("report", use, stderr)
	period := fs.String("period", "", "the `year` (2026), or a quarter (2026Q3) or month (2026-12)")
	quarter := fs.String("quarter", "", "the `quarter`, e.g. 2026Q3 (instead of --period)")
	lang := fs.String("lang", "en", "the report's `language`: en, zh-Hans, ja or ko")
	out := fs.String("out", "", "`directory` to write report.html and the CSV files to (required)")
	pdf := fs.Bool("pdf", false, "also print report.pdf with headless Chromium")
	c, _, err := af.connect(fs, use, args, 0, 0, stderr)
	if err != nil {
		return err
	}
	if *quarter != "" {
		if *period != "" {
			return usageError(use, "give --period or --quarter, not both")
		}
		*period = *quarter
	}
	switch {
	case *period == "":
		return usageError(use, "--period (or --quarter) is required")
	case *out == "":
		return usageError(use, "--out is required")
	}
	p, err := metrics.ParsePeriod(*period)
	if err != nil || p.Kind == metrics.Week {
		return usageError(use, fmt.Sprintf("--period %q: a year (2026), quarter (2026Q3) or month (2026-12)", *period))
	}
	if _, err := report.LoadCatalog(*lang); err != nil {
		return usageError(use, "--lang: "+err.Error())
	}
	d := report.Data{At: time.Now().UTC(), Names: map[string]string{}}
	if d.Joint, err = c.Joint(ctx, p.Name); err != nil {
		return err
	}
	for _, m := range p.Months() {
		j, err := c.Joint(ctx, m.Name)
		if err != nil {
			return err
		}
		d.Months = append(d.Months, j)
	}
	teams, err := c.Teams(ctx)
	if err != nil {
		return err
	}
	d.By = teams.Self.ID
	d.Names[teams.Self.ID] = teams.Self.Name
	for _, t := range teams.Peers {
		d.Names[t.ID] = t.Name
	}
	files, err := report.Write(d, *lang, *out)
	if err != nil {
		return err
	}
	if *pdf {
		f, err := printPDF(ctx, filepath.Join(*out, "report.html"))
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	for _, f := range files {
		fmt.Fprintln(stdout, f)
	}
	return nil
}

// printPDF prints an HTML file to PDF with headless Chromium, beside it.
func printPDF(ctx context.Context, html string) (string, error) {
	var bin string
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return "", errors.New("--pdf needs Chromium (apt-get install chromium fonts-noto-cjk); report.html prints to PDF from any browser too")
	}
	abs, err := filepath.Abs(html)
	if err != nil {
		return "", err
	}
	pdf := filepath.Join(filepath.Dir(abs), "report.pdf")
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "csirtlink-chromium-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+tmp,
		"--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+abs)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("chromium: %w: %s", err, b)
	}
	if st, err := os.Stat(pdf); err != nil || st.Size() == 0 {
		return "", fmt.Errorf("chromium wrote no PDF")
	}
	return pdf, nil
}
