package integration

import (
	"io"
	"net/http"
	"testing"

	"csirtlink/internal/testnet"
)

// rawGet makes a GET as the node's admin and returns the answer and its body.
func rawGet(t *testing.T, nd *testnet.Node, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", nd.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+nd.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
