package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssSampler reads the process's resident memory every second.
type rssSampler struct {
	mu      sync.Mutex
	samples []int64
	stopped chan struct{}
	cancel  context.CancelFunc
}

func sampleRSS(ctx context.Context) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &rssSampler{stopped: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			s.take()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) take() {
	b, err := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 2 {
		return
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.samples = append(s.samples, pages*int64(os.Getpagesize()))
	s.mu.Unlock()
}

// stop ends the sampling with a last sample.
func (s *rssSampler) stop() rssTrace {
	s.cancel()
	<-s.stopped
	s.take()
	s.mu.Lock()
	defer s.mu.Unlock()
	return rssTrace(s.samples)
}

// rssTrace is the samples of one phase, in order.
type rssTrace []int64

func (t rssTrace) peak() int64 {
	var p int64
	for _, v := range t {
		p = max(p, v)
	}
	return p
}

// shape is the resident memory at each quarter of the phase: flat or growing.
func (t rssTrace) shape() string {
	if len(t) == 0 {
		return "no samples"
	}
	var q []string
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		q = append(q, strconv.FormatInt(t[int(f*float64(len(t)-1))]>>20, 10))
	}
	return "at 0/25/50/75/100 %: " + strings.Join(q, "/") + " MiB"
}

func (t rssTrace) String() string {
	return fmt.Sprintf("peak %d MiB over %d samples (one a second); %s", t.peak()>>20, len(t), t.shape())
}
