// Package natstest finds the NATS server with JetStream the tests of the routing
// workers use: CSIRTLINK_TEST_NATS, else nats://127.0.0.1:4222. Without one the tests
// skip, unless CI is set, in which case they fail (.ci/run starts one).
package natstest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// EnvURL names the variable holding the NATS server's URL.
const EnvURL = "CSIRTLINK_TEST_NATS"

// LocalURL is where .ci/run starts NATS.
const LocalURL = "nats://127.0.0.1:4222"

// URL returns the test server's URL once it answers.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		url = LocalURL
	}
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err == nil {
		nc.Close()
		return url
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set and NATS at %s (%s) does not answer: the JetStream tests must run in CI (.ci/run starts nats-server): %v", url, EnvURL, err)
	}
	t.Skipf("no NATS at %s (%s): JetStream tests skipped: %v", url, EnvURL, err)
	return ""
}

// Stream is a stream name of the test's own, so tests run in parallel and leave the
// server's other streams alone.
func Stream() string { return fmt.Sprintf("TEST_ROUTE_%08X", rand.Uint32()) }
