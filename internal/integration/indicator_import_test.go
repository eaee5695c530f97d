package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"csirtlink/internal/cli"
	"csirtlink/internal/store"
)

// csirtlink indicator import: a file with invalid lines reports each and writes none of
// it; a good file is shared whole, and imported again changes nothing; search and export
// from the command line see it.
func TestIndicatorImportFromTheCommandLine(t *testing.T) {
	n := startNet(t, testnetOptions())
	ctx := context.Background()
	cn, jp := n.Node("cn"), n.Node("jp")
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := cli.Run(ctx, append(args, "--url", cn.URL, "--token", cn.Token), &out, &errOut)
		return out.String(), err
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("value,type,category,tlp,share_with\n"+
		"198.51.100.7,ipv4,malicious-code/c2-server,AMBER,jp\n"+
		"not an address,ipv4,malicious-code/c2-server,AMBER,jp\n"+
		"evil.example,domain,fraud/phishing,PURPLE,\n"+
		"c2.example,domain,malicious-code/c2-server,GREEN,\n"), 0o600)
	out, err := run("indicator", "import", "--quiet", bad)
	if err == nil || !strings.Contains(out, "line 3: value:") || !strings.Contains(out, "line 4: tlp:") || !strings.Contains(out, "2 invalid") {
		t.Fatalf("import with invalid lines: %v\n%s", err, out)
	}
	if list, _ := cn.App.Store.ListIndicators(ctx, store.IndicatorFilter{}); len(list) != 0 {
		t.Fatalf("a failed import wrote %d indicators", len(list))
	}
	good := filepath.Join(dir, "c2.txt")
	os.WriteFile(good, []byte("# C2 servers\n198.51.100.7\n198.51.100.8\nc2.evil[.]example\n"), 0o600)
	args := []string{"indicator", "import", "--quiet", good, "--category", "malicious-code/c2-server", "--tlp", "AMBER", "--share-with", "jp", "--tag", "mirai"}
	if out, err := run(args...); err != nil || !strings.Contains(out, "3 lines: 3 added, 0 updated, 0 unchanged, 0 invalid") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, err := run(args...); err != nil || !strings.Contains(out, "3 unchanged") {
		t.Fatalf("import again: %v\n%s", err, out)
	}
	eventually(t, 3*time.Second, "the imported indicators at jp", func() error {
		list, err := jp.App.Store.ListIndicators(ctx, store.IndicatorFilter{Author: "cn"})
		if err != nil || len(list) != 3 {
			return fmt.Errorf("%d %v", len(list), err)
		}
		return nil
	})
	if out, err := run("search", "www.c2.evil.example"); err != nil || !strings.Contains(out, "domain") || !strings.Contains(out, "c2.evil.example") {
		t.Fatalf("search: %v\n%s", err, out)
	}
	out, err = run("indicator", "export", "--format", "csv", "--type", "ipv4")
	if err != nil || strings.Count(out, "\n") != 3 || !strings.HasPrefix(out, "type,value,category") {
		t.Fatalf("export: %v\n%s", err, out)
	}
}
