package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"csirtlink/internal/testnet"
)

// scrape fetches a node's /metrics with a bearer token and parses it with Prometheus'
// own text parser; it returns the status and, for a 200, the families by name.
func scrape(t *testing.T, nd *testnet.Node, token string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	req, _ := http.NewRequest("GET", nd.URL+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the Prometheus parser refuses /metrics: %v", err)
	}
	return resp.StatusCode, fams
}

// value finds the sample of a family whose labels include all of want; ok is false
// when none has.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsEndpoint(t *testing.T) {
	n := startNet(t, testnet.Options{})
	cn, jp := n.Node("cn"), n.Node("jp")

	// Without the metrics token, nothing: not anonymously, not with a wrong token, not
	// with an administrator's API token, not with another node's metrics token.
	for name, tok := range map[string]string{"no token": "", "a wrong token": "x" + cn.MetricsToken,
		"an admin's API token": cn.Token, "jp's metrics token": jp.MetricsToken} {
		if code, _ := scrape(t, cn, tok); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}

	// Real traffic: an incident cn → jp, a page cn → jp, and kr down so that what cn
	// queues for kr waits.
	if err := n.Stop("kr"); err != nil {
		t.Fatal(err)
	}
	in := createIncident(t, cn, "AMBER", "jp", "kr")
	eventually(t, 10*time.Second, "incident at jp", func() error {
		if _, code := getIncident(t, jp, in.ID); code != 200 {
			return fmt.Errorf("%d", code)
		}
		return nil
	})
	if _, code := getIncident(t, cn, in.ID); code != 200 {
		t.Fatalf("get incident: %d", code)
	}
	mustCall(t, cn, "POST", "/api/v1/pages", map[string]any{"to": []string{"jp"}, "severity": "high", "summary": "C2 takedown needed"}, 201)
	// A forged request to jp: refused as unsigned.
	resp, err := http.Post(jp.URL+"/federation/v1/inbox", "application/json", strings.NewReader(`{"envelopes":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	var fams map[string]*dto.MetricFamily
	eventually(t, 10*time.Second, "cn's queue to jp empty and the page delivered", func() error {
		var code int
		code, fams = scrape(t, cn, cn.MetricsToken)
		if code != 200 {
			return fmt.Errorf("scrape: %d", code)
		}
		if v, ok := value(fams, "csirtlink_federation_queue_depth", map[string]string{"peer": "jp"}); !ok || v != 0 {
			return fmt.Errorf("queue depth to jp %v (%v)", v, ok)
		}
		if v, _ := value(fams, "csirtlink_hotline_pages", map[string]string{"direction": "out", "state": "sent", "drill": "false"}); v != 0 {
			return fmt.Errorf("%v pages still sent, not delivered", v)
		}
		return nil
	})
	want := func(name string, labels map[string]string, ok func(float64) bool) {
		t.Helper()
		v, found := value(fams, name, labels)
		if !found || !ok(v) {
			t.Errorf("%s%v = %v (found %v)", name, labels, v, found)
		}
	}
	atLeast := func(x float64) func(float64) bool { return func(v float64) bool { return v >= x } }
	is := func(x float64) func(float64) bool { return func(v float64) bool { return v == x } }
	// kr is down: the incident (and the on-call summary, if any) wait for it.
	want("csirtlink_federation_queue_depth", map[string]string{"peer": "kr"}, atLeast(1))
	want("csirtlink_federation_link_lag_seconds", map[string]string{"peer": "kr"}, atLeast(0))
	want("csirtlink_federation_envelopes_delivered_total", map[string]string{"peer": "jp"}, atLeast(2)) // incident, page
	want("csirtlink_federation_envelopes_delivered_total", map[string]string{"peer": "kr"}, is(0))
	want("csirtlink_federation_link_health", map[string]string{"peer": "jp", "health": "ok"}, is(1))
	want("csirtlink_metrics_db_up", nil, is(1))
	// One page out, delivered (or further along): exactly one delivery counted past sent.
	out := 0.0
	for _, s := range []string{"delivered", "notified", "acknowledged"} {
		v, _ := value(fams, "csirtlink_hotline_pages", map[string]string{"direction": "out", "state": s, "drill": "false"})
		out += v
	}
	if out != 1 {
		t.Errorf("cn's pages out past sent: %v, want 1", out)
	}
	want("csirtlink_hotline_escalation_lateness_seconds", nil, atLeast(0))
	// Sharing, feeds and cases show from the first scrape, at 0 when there are none.
	want("csirtlink_feed_events_total", map[string]string{"source": "own", "routed": "unrouted"}, is(0))
	want("csirtlink_shared_objects", map[string]string{"direction": "out", "state": "active"}, is(0))
	want("csirtlink_sightings_total", map[string]string{"direction": "in", "kind": "taken-down"}, is(0))
	want("csirtlink_cvd_cases", map[string]string{"role": "owner"}, is(0))
	// HTTP latency by route pattern, never by raw path.
	want("csirtlink_http_request_duration_seconds", map[string]string{"route": "POST /api/v1/incidents", "method": "POST", "code": "201"}, is(1))
	want("csirtlink_http_request_duration_seconds", map[string]string{"route": "GET /api/v1/incidents/{id}", "code": "200"}, is(1))
	want("csirtlink_http_request_duration_seconds", map[string]string{"route": "GET /metrics", "code": "401"}, atLeast(4))
	for _, m := range fams["csirtlink_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.Label {
			if strings.Contains(l.GetValue(), in.ID) {
				t.Errorf("a label holds a raw path: %s=%s", l.GetName(), l.GetValue())
			}
		}
	}
	// Engine cycles are timed per module.
	want("csirtlink_engine_module_seconds", map[string]string{"module": "escalator"}, atLeast(1))

	// Every series the sample alert rules and the dashboard use is one the node serves.
	for _, doc := range []string{"../../docs/prometheus-alerts.yml", "../../docs/grafana-dashboard.json"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		names := regexp.MustCompile(`csirtlink_[a-z_]+`).FindAllString(string(b), -1)
		if len(names) < 10 {
			t.Fatalf("%s: only %d series named", doc, len(names))
		}
		for _, name := range names {
			base := name
			for _, suf := range []string{"_bucket", "_count", "_sum"} {
				base = strings.TrimSuffix(base, suf)
			}
			if fams[base] == nil && name != "csirtlink_nodes" {
				t.Errorf("%s uses %s, which /metrics does not serve", doc, name)
			}
		}
	}

	// jp: the page came in, the incident was received from cn, and the forged request
	// was refused as unsigned.
	_, jfams := scrape(t, jp, jp.MetricsToken)
	fams = jfams
	want("csirtlink_federation_refusals_total", map[string]string{"reason": "unsigned"}, is(1))
	want("csirtlink_federation_envelopes_received_total", map[string]string{"peer": "cn"}, atLeast(2))
	in2 := 0.0
	for _, s := range []string{"delivered", "notified", "acknowledged"} {
		v, _ := value(fams, "csirtlink_hotline_pages", map[string]string{"direction": "in", "state": s, "drill": "false"})
		in2 += v
	}
	if in2 != 1 {
		t.Errorf("jp's pages in: %v, want 1", in2)
	}

	// kr back: its queue at cn drains, and the depth says so.
	if err := n.Restart(context.Background(), "kr"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "cn's queue to kr drained", func() error {
		_, f := scrape(t, cn, cn.MetricsToken)
		if v, ok := value(f, "csirtlink_federation_queue_depth", map[string]string{"peer": "kr"}); !ok || v != 0 {
			return fmt.Errorf("queue depth to kr %v", v)
		}
		return nil
	})
}
