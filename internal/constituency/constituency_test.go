package constituency

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestOverlappingClaimsAreAllShown(t *testing.T) {
	x := Build([]Claim{
		{Team: "cn", Source: Self, Countries: []string{"CN"}, ASNs: []uint32{4134}, Networks: []netip.Prefix{pfx("192.0.2.0/24")}, Domains: []string{"cn"}},
		{Team: "jp", Source: Partner, Countries: []string{"JP"}, ASNs: []uint32{4134}, Networks: []netip.Prefix{pfx("192.0.2.128/25"), pfx("2001:db8::/32")}, Domains: []string{"example.jp", "jp"}},
		{Team: "kr", Source: Partner, Networks: []netip.Prefix{pfx("192.0.2.128/25")}},
	})
	got := x.IP(nil, netip.MustParseAddr("192.0.2.200"))
	want := []Owner{{"jp", "192.0.2.128/25", Partner}, {"kr", "192.0.2.128/25", Partner}, {"cn", "192.0.2.0/24", Self}}
	if !slices.Equal(got, want) {
		t.Fatalf("IP: got %v, want %v", got, want)
	}
	if got := x.IP(nil, netip.MustParseAddr("192.0.2.1")); len(got) != 1 || got[0].Team != "cn" {
		t.Fatalf("IP outside the overlap: %v", got)
	}
	if got := x.IP(nil, netip.MustParseAddr("2001:db8::1")); len(got) != 1 || got[0].Team != "jp" {
		t.Fatalf("IPv6: %v", got)
	}
	if got := x.IP(nil, netip.MustParseAddr("203.0.113.1")); len(got) != 0 {
		t.Fatalf("unclaimed: %v", got)
	}
	if got := x.ASN(nil, 4134); len(got) != 2 || got[0].Matched != "AS4134" {
		t.Fatalf("ASN claimed twice: %v", got)
	}
	if got := x.Domain(nil, "www.Example.JP."); len(got) != 2 || got[0].Matched != "example.jp" || got[1].Matched != "jp" {
		t.Fatalf("domain: %v", got)
	}
	if got := x.Country(nil, "cn"); len(got) != 1 || got[0].Team != "cn" {
		t.Fatalf("country: %v", got)
	}
	if rp := x.RoutePartners(); len(rp) != 2 || rp[0].ID != "jp" {
		t.Fatalf("route partners: %v", rp)
	}
}

// benchIndex is 100 partners with 500,000 networks in all (IPv4 /16 to /24 and IPv6
// /32 to /48), and addresses half of which fall in a claimed network.
func benchIndex(b *testing.B) (*Index, []netip.Addr) {
	r := rand.New(rand.NewPCG(1, 2))
	claims := make([]Claim, 100)
	var nets []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for i := range claims {
		claims[i] = Claim{Team: fmt.Sprintf("t%02d", i), Source: Partner}
		for len(claims[i].Networks) < 5000 {
			var p netip.Prefix
			if r.IntN(5) == 0 {
				var a [16]byte
				binary.BigEndian.PutUint64(a[:], 0x20010db8_00000000|r.Uint64()&0xffffffff)
				p = netip.PrefixFrom(netip.AddrFrom16(a), 32+r.IntN(17)).Masked()
			} else {
				var a [4]byte
				binary.BigEndian.PutUint32(a[:], r.Uint32())
				p = netip.PrefixFrom(netip.AddrFrom4(a), 16+r.IntN(9)).Masked()
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			claims[i].Networks = append(claims[i].Networks, p)
			nets = append(nets, p)
		}
	}
	x := Build(claims)
	ips := make([]netip.Addr, 1<<16)
	for i := range ips {
		if i%2 == 0 {
			ips[i] = nets[r.IntN(len(nets))].Addr()
		} else {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], r.Uint32())
			ips[i] = netip.AddrFrom4(a)
		}
	}
	return x, ips
}

// BenchmarkLookup: the most specific claim of an address among 100 partners with
// 500,000 networks (docs/benchmarks.md). Reports lookups/s, p99 over batches of 1,000
// lookups, and the index's heap.
func BenchmarkLookup(b *testing.B) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	x, ips := benchIndex(b)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	heap := float64(m1.HeapAlloc-m0.HeapAlloc) / (1 << 20)
	var lat []time.Duration
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := cpuTime()
	b.ResetTimer()
	hits := 0
	for i := 0; i < b.N; {
		start := threadCPU()
		n := min(1000, b.N-i)
		for j := range n {
			if _, ok := x.First(ips[(i+j)&(len(ips)-1)]); ok {
				hits++
			}
		}
		lat = append(lat, (threadCPU()-start)/time.Duration(n))
		i += n
	}
	b.StopTimer()
	// Per core: the machine is shared, so wall time overstates what a lookup costs;
	// the process's CPU time is what the lookups used.
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "lookups/cpu-s")
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-cpu-ns/lookup")
	b.ReportMetric(heap, "MiB-index")
	b.ReportMetric(float64(x.Len()), "networks")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	_ = hits
}

// BenchmarkLookupAll is the API's question: every claim holding the address.
func BenchmarkLookupAll(b *testing.B) {
	x, ips := benchIndex(b)
	buf := make([]Owner, 0, 8)
	b.ResetTimer()
	for i := range b.N {
		buf = x.IP(buf[:0], ips[i&(len(ips)-1)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the CPU time of the calling OS thread (CLOCK_THREAD_CPUTIME_ID): the
// latency of a batch of lookups without the time other processes held the core.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}
