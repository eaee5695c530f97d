package integration

import (
	"log/slog"
	"os"
	"testing"

	"csirtlink/internal/store"
	"csirtlink/internal/testnet"
)

type testnetNode = testnet.Node

func TestMain(m *testing.M) {
	if path := os.Getenv("CSIRTLINK_CHILD_CONFIG"); path != "" {
		runChildNode(path)
	}
	os.Exit(m.Run())
}

func testnetOptions() testnet.Options { return testnet.Options{Logger: testLogger} }

func init() {
	if os.Getenv("CSIRTLINK_TEST_LOG") != "" {
		testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

var testLogger *slog.Logger

func storeFilter() store.IncidentFilter { return store.IncidentFilter{} }

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
