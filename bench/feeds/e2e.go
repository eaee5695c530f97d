package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"csirtlink/internal/feedrun"
	"csirtlink/internal/owner"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

// endToEnd runs the whole path on three nodes in this process (testnet, SQLite files,
// loopback HTTP, a real SMTP server filing .eml files): cn ingests a Shadowserver report
// of rows events, stores them, sends jp's and kr's parts as signed bulk reports; jp and
// kr route theirs to their owners; every owner of the three nodes is mailed its report
// (CSV attached) through SMTP into files. Timed from the start of the ingestion to the
// last owner's mail written.
func endToEnd(rows int64, owners int, cpuprofile string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "feeds-e2e-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	n, err := testnet.Start(ctx, testnet.Options{Dir: dir, MailDir: filepath.Join(dir, "mail"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer n.Close()
	// cn's owners: a /24 each in 100.64.0.0/10; jp and kr: the two halves of their ranges.
	var csv strings.Builder
	csv.WriteString("id,name,networks,email,language,format,schedule\n")
	for i := range owners {
		fmt.Fprintf(&csv, "isp-%d,ISP %d,100.%d.%d.0/24,abuse@isp-%d.example,zh-Hans,csv,immediate\n", i, i, 64+i/256, i%256, i)
	}
	list, err := owner.ParseCSV(strings.NewReader(csv.String()))
	if err != nil {
		return err
	}
	if _, err := n.Node("cn").App.Owners.Import(ctx, "bench", list); err != nil {
		return err
	}
	for _, team := range []string{"jp", "kr"} {
		v4 := testnet.Constituencies[team][0]
		b := v4.Addr().As4()
		b[3] = 128
		lo, hi := netip.PrefixFrom(v4.Addr(), 25), netip.PrefixFrom(netip.AddrFrom4(b), 25)
		for i, p := range []netip.Prefix{lo, hi} {
			o := store.NetOwner{ID: fmt.Sprintf("%s-owner-%d", team, i), Name: team + " owner", Networks: []string{p.String()},
				Contacts: []store.OwnerContact{{Email: fmt.Sprintf("abuse@%s-%d.example", team, i), Language: "en", Format: "csv", Schedule: "immediate"}}}
			if _, err := n.Node(team).App.Owners.Create(ctx, "bench", o); err != nil {
				return err
			}
		}
	}
	for _, nd := range n.Nodes {
		nd.App.Feeds.SetPartners(testnet.Partners(nd.Team))
	}
	// Half to cn's owners, a fifth each to jp and kr, a tenth to no one.
	counts := map[netip.Prefix]int{netip.MustParsePrefix("2001:db8:ffff::/48"): int(rows / 10),
		testnet.Constituencies["jp"][0]: int(rows / 5), testnet.Constituencies["kr"][0]: int(rows / 5)}
	perOwner := int(rows/2) / owners
	for i := range owners {
		counts[netip.MustParsePrefix(fmt.Sprintf("100.%d.%d.0/24", 64+i/256, i%256))] = perOwner
	}
	report := testnet.ShadowserverReport(counts, time.Now())
	total := int64(strings.Count(report, "\n") - 1)
	fmt.Printf("\nend to end: %d events (%.0f MB), %d owners at cn, 2 each at jp and kr, 3 nodes in this process\n",
		total, float64(len(report))/1e6, owners)

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	cpu0 := cpuTime()
	sys0 := readSysCPU()
	run, err := n.Node("cn").App.Feeds.Ingest(ctx, "bench", feedrun.Request{Format: "shadowserver", Report: "scan_telnet", Feed: "Shadowserver"},
		strings.NewReader(report), nil)
	if err != nil {
		return err
	}
	ingested := time.Since(start)
	wantMails := 4
	for _, c := range run.Owners {
		if c > 0 {
			wantMails++
		}
	}
	var federated time.Duration
	retried := map[string]bool{}
	for {
		done := 0
		for _, team := range []string{"jp", "kr"} {
			got, err := n.Node(team).App.Share.Received(ctx, "cn", 1)
			if err != nil {
				return err
			}
			if len(got) == 1 && got[0].State == store.RunDone {
				done++
			}
		}
		if done == 2 && federated == 0 {
			federated = time.Since(start)
		}
		sent, failed := 0, 0
		for _, nd := range n.Nodes {
			reps, err := nd.App.Store.OwnerReports(ctx, "", 10000)
			if err != nil {
				return err
			}
			for _, r := range reps {
				switch r.State {
				case store.ReportSent:
					sent++
				case store.ReportPending:
					if r.Attempts > 0 && !retried[r.ID] {
						retried[r.ID] = true
						fmt.Printf("  report %s to %s failed once, retried at %s: %s\n", r.ID, r.OwnerID, r.NextAt.Format(time.TimeOnly), r.LastError)
					}
				case store.ReportFailed, store.ReportUnknown:
					failed++
					fmt.Printf("  report %s to %s %s: %s\n", r.ID, r.OwnerID, r.State, r.LastError)
				}
			}
		}
		if failed > 0 {
			return fmt.Errorf("%d owner reports not sent", failed)
		}
		if done == 2 && sent >= wantMails {
			break
		}
		if time.Since(start) > 30*time.Minute {
			return fmt.Errorf("not done after 30 minutes: %d of %d mails", sent, wantMails)
		}
		time.Sleep(20 * time.Millisecond)
	}
	all := time.Since(start)
	if os.Getenv("E2E_DEBUG") != "" {
		ds, _ := n.Node("cn").App.Store.FeedDeliveriesOf(ctx, run.ID)
		for _, d := range ds {
			if d.Kind == store.DeliverPartner {
				fmt.Printf("    delivery to %s: created %v, sent %v\n", d.Target, d.CreatedAt.Sub(start), d.UpdatedAt.Sub(start))
			}
		}
		for _, team := range []string{"jp", "kr"} {
			sent, _ := n.Node("cn").App.Store.Sent(ctx, team)
			for _, it := range sent {
				if it.Type == "bulk.chunk" && it.DeliveredAt != nil {
					fmt.Printf("    chunk %s to %s: queued %v, delivered %v\n", it.ObjectID, team, it.CreatedAt.Sub(start), it.DeliveredAt.Sub(start))
				}
			}
			got, _ := n.Node(team).App.Share.Received(ctx, "cn", 1)
			fmt.Printf("    %s's report: started %v, finished %v\n", team, got[0].StartedAt.Sub(start), got[0].FinishedAt.Sub(start))
		}
	}
	cpu := cpuTime() - cpu0
	others := readSysCPU().since(sys0, cpu).othersPct()
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
	var bytes int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			bytes += st.Size()
		}
	}
	fmt.Printf("  ingest at cn (parse, enrich, route, store): %d events in %v, %.0f events/s\n", run.Events, ingested.Round(time.Millisecond),
		float64(run.Events)/ingested.Seconds())
	fmt.Printf("  + partner reports at jp and kr, routed to their owners: %v after the start\n", federated.Round(time.Millisecond))
	fmt.Printf("  + %d owner mails written (%d files, %.1f MB): %v after the start\n", wantMails, len(files), float64(bytes)/1e6, all.Round(time.Millisecond))
	fmt.Printf("  end to end: %.0f events/s; %.2f cores; %.1f µs of CPU per event (the three nodes together); others %s\n",
		float64(run.Events)/all.Seconds(), cpu.Seconds()/all.Seconds(), float64(cpu.Microseconds())/float64(run.Events), others)
	return nil
}
