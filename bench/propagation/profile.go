package main

import "csirtlink/bench/internal/cpuprof"

// stages sort the profile's samples by which part of the pipeline did the work.
var stages = []cpuprof.Class{
	{Name: "peers: receive and apply (inbox handler)", Prefixes: []string{"csirtlink/internal/federation.(*Federation).handleInbox"}},
	{Name: "cn: write (service call or API handler)", Prefixes: []string{"csirtlink/internal/incident.(*Service).AddEntry", "csirtlink/internal/api."}},
	{Name: "cn: deliver (outbox, push, receipts)", Prefixes: []string{"csirtlink/internal/federation.(*Federation).runSender"}},
	{Name: "bench's API client", Prefixes: []string{"csirtlink/internal/client."}},
	{Name: "bench's watchers", Prefixes: []string{"main."}},
	{Name: "other HTTP server/transport work", Prefixes: []string{"net/http", "internal/poll", "net."}},
	{Name: "GC and runtime", Prefixes: []string{"runtime.", "internal/runtime"}},
}

func groupProfile(path string) (cpuprof.Summary, error) {
	return cpuprof.Read(path, cpuprof.Kinds, stages)
}
