package integration

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fileClock is a fake clock kept in a file, so that a child process and the test share
// one fake time: the test moves it, every node reads it.
type fileClock struct {
	path string
	mu   sync.Mutex
}

func newFileClock(t *testing.T, path string, start time.Time) *fileClock {
	c := &fileClock{path: path}
	if err := os.WriteFile(path, []byte(start.UTC().Format(time.RFC3339Nano)), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *fileClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := os.ReadFile(c.path)
	if err != nil {
		panic(err)
	}
	tm, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		panic(err)
	}
	return tm
}

func (c *fileClock) Advance(d time.Duration) {
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(now.Add(d).Format(time.RFC3339Nano)), 0o600); err != nil {
		panic(err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		panic(err)
	}
}

// syncBuffer collects a child process's output safely.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
