package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// diskResult is the fsync probe: what making a small write durable costs on the disk
// the nodes' files are on, at a steady rate, as SQLite's commit under synchronous=FULL
// must (a WAL commit is one append and one fsync).
type diskResult struct {
	rate     float64
	duration time.Duration
	sync     durations
	sys      sysCPU
}

func (r diskResult) print() {
	fmt.Printf("\n== disk: 4 KiB append + fsync, %.0f/s for %s ==\n", r.rate, r.duration)
	fmt.Printf("fsync: n %d  mean %s  p50 %s  p90 %s  p99 %s  max %s\n", len(r.sync), ms(r.sync.mean()), ms(r.sync.p(50)),
		ms(r.sync.p(90)), ms(r.sync.p(99)), ms(r.sync.p(100)))
	fmt.Printf("machine: %s\n", r.sys)
}

func disk(ctx context.Context, o options, dir string) (diskResult, error) {
	r := diskResult{rate: o.rate, duration: o.diskDur}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	f, err := os.Create(filepath.Join(dir, "fsync-probe"))
	if err != nil {
		return r, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	total := int(o.rate * o.diskDur.Seconds())
	interval := time.Duration(float64(time.Second) / o.rate)
	sys0 := readSysCPU()
	cpu0 := cpuTime()
	start := time.Now()
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return r, ctx.Err()
			}
		}
		if _, err := f.WriteAt(buf, int64(i)*int64(len(buf))); err != nil {
			return r, err
		}
		t := time.Now()
		if err := f.Sync(); err != nil {
			return r, err
		}
		r.sync = append(r.sync, time.Since(t))
	}
	r.sys = readSysCPU().since(sys0, cpuTime()-cpu0)
	return r, nil
}
