package main

import (
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// mmdbPaths finds the MaxMind test databases from the repository root or
// from this directory (go test runs here).
func mmdbPaths() (asn, country string) {
	for _, dir := range []string{"internal/enrich/testdata/mmdb", "../../internal/enrich/testdata/mmdb"} {
		if _, err := os.Stat(filepath.Join(dir, "GeoLite2-ASN-Test.mmdb")); err == nil {
			return filepath.Join(dir, "GeoLite2-ASN-Test.mmdb"), filepath.Join(dir, "GeoLite2-Country-Test.mmdb")
		}
	}
	return "", ""
}

func main() {}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
