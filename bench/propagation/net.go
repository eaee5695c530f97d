package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"csirtlink/internal/config"
	"csirtlink/internal/incident"
	"csirtlink/internal/pgtest"
	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

var actor = incident.Actor{Name: "bench"}

// dropSchemas drops the PostgreSQL schemas the run made, when it ends.
var dropSchemas []func() error

// startNet starts three nodes in dir and opens one AMBER incident coordinated by cn with
// jp and kr, and waits until both hold it.
func startNet(ctx context.Context, o options, dir string) (*testnet.Net, string, error) {
	opts := testnet.Options{Dir: dir, Federation: config.Federation{BatchSize: o.batchSize}}
	if o.postgres != "" {
		dsn, drop, err := pgtest.NewSchema(ctx, o.postgres, "bench_")
		if err != nil {
			return nil, "", fmt.Errorf("-postgres: %w", err)
		}
		dropSchemas = append(dropSchemas, drop)
		opts.Databases = map[string]config.Database{o.pgNode: {Driver: config.Postgres, DSN: dsn}}
	}
	n, err := testnet.Start(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	in, err := n.Node("cn").App.Incidents.Create(ctx, actor, incident.NewIncident{
		Title: "Benchmark incident", Description: "propagation benchmark", Category: "availability/ddos",
		Severity: "high", TLP: "AMBER", Participants: []string{"jp", "kr"}})
	if err != nil {
		n.Close()
		return nil, "", err
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, t := range []string{"jp", "kr"} {
		for {
			_, err := n.Node(t).App.Store.GetIncident(ctx, in.ID)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrNotFound) {
				n.Close()
				return nil, "", err
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				n.Close()
				return nil, "", fmt.Errorf("incident %s did not reach %s", in.ID, t)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return n, in.ID, nil
}

// body makes a comment of about size bytes, different for each i.
func body(i, size int) string {
	s := fmt.Sprintf("bench entry %d: ", i)
	if len(s) < size {
		s += strings.Repeat("x", size-len(s))
	}
	return s
}

func newEntry(i, size int) incident.NewEntry {
	return incident.NewEntry{Kind: "comment", Body: body(i, size), TLP: "AMBER"}
}

// setIdleConns raises the idle connections the default transport keeps per host; with
// Go's default of 2, more than two concurrent clients of one node close and redial.
func setIdleConns(n int) {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = n
	}
}

// durations is a sample of latencies.
type durations []time.Duration

// p is the q-th percentile (nearest rank); p(100) is the maximum.
func (d durations) p(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func (d durations) mean() time.Duration {
	if len(d) == 0 {
		return 0
	}
	var t time.Duration
	for _, v := range d {
		t += v
	}
	return t / time.Duration(len(d))
}
