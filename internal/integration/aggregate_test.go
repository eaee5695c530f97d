package integration

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/store"
)

// Repeats aggregated at cn travel as one event with its count and first and last
// seen: to cn's own owner's attachment, and in the routed report to jp, whose owner's
// attachment shows the same.
func TestAggregatedRepeatsReachOwnersAtHomeAndAbroad(t *testing.T) {
	mb := startMailbox(t)
	opts := testnetOptions()
	opts.SMTP = &config.SMTP{Addr: mb.addr, From: "csirtlink <feeds@csirtlink.test>", TLS: "none"}
	n := startNet(t, opts)
	cn, jp := n.Node("cn"), n.Node("jp")
	cn.App.Feeds.SetPartners(partnersOf)
	addOwnerWithContact(t, jp, ownerSpec{"jp-a", "198.51.100.0/25", "ja", "csv", nil})
	addOwnerWithContact(t, cn, ownerSpec{"cn-isp", "192.0.2.0/24", "zh-Hans", "csv", nil})

	var b strings.Builder
	b.WriteString(`"timestamp","ip","protocol","port","asn","geo"` + "\n")
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		at := t0.Add(time.Duration(i) * 10 * time.Minute).Format("2006-01-02 15:04:05")
		fmt.Fprintf(&b, `"%s","198.51.100.7","tcp",23,,`+"\n", at)
		if i < 3 {
			fmt.Fprintf(&b, `"%s","192.0.2.9","tcp",23,,`+"\n", at)
		}
	}
	req, _ := http.NewRequest("POST", cn.URL+"/api/v1/feeds/ingest?format=shadowserver&report=scan_telnet&feed=Shadowserver&aggregate=1h", strings.NewReader(b.String()))
	req.Header.Set("Authorization", "Bearer "+cn.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var run store.FeedRun
	if err := json.NewDecoder(resp.Body).Decode(&run); err != nil || resp.StatusCode != 201 {
		t.Fatalf("ingest: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if run.Events != 2 || run.Merged != 6 || run.Aggregate != "1h0m0s" {
		t.Fatalf("run: %d events, %d merged, window %q; want 2, 6, 1h0m0s", run.Events, run.Merged, run.Aggregate)
	}
	want := map[string]struct {
		count int
		last  string
	}{"jp-a": {5, "2026-12-01T09:40:00Z"}, "cn-isp": {3, "2026-12-01T09:20:00Z"}}
	eventually(t, 20*time.Second, "both owners mailed", func() error {
		for id := range want {
			if len(mb.to("abuse@"+id+".example")) == 0 {
				return fmt.Errorf("no mail to %s yet", id)
			}
		}
		return nil
	})
	for id, w := range want {
		_, files, _ := mailParts(t, mb.to("abuse@" + id + ".example")[0].raw, nil)
		for _, data := range files {
			rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
			if err != nil || len(rows) != 2 {
				t.Fatalf("%s: %d rows, %v", id, len(rows), err)
			}
			col := func(name string) string { return rows[1][slices.Index(rows[0], name)] }
			if col("count") != fmt.Sprint(w.count) || col("time") != "2026-12-01T09:00:00Z" || col("last_seen") != w.last {
				t.Errorf("%s: count %s, time %s, last_seen %s; want %d, 09:00, %s", id, col("count"), col("time"), col("last_seen"), w.count, w.last)
			}
		}
	}
	var got reportsView
	call(t, jp, "GET", "/api/v1/feeds/reports?partner=cn", nil, &got)
	if len(got.Reports) != 1 || got.Reports[0].Events != 1 {
		t.Fatalf("jp's reports from cn: %+v", got.Reports)
	}
}
