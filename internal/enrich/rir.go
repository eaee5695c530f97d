package enrich

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"

	"csirtlink/internal/feed"
	"csirtlink/internal/feed/record"
)

// RIR holds the country of address ranges and AS numbers from the regional
// registries' delegated-extended statistics files (APNIC, ARIN, RIPE NCC,
// LACNIC, AFRINIC all publish the same format). It is immutable once built
// and safe for concurrent readers.
type RIR struct {
	nets *bart.Table[uint16] // country index, see ccIndex
	asns []asnRange          // sorted by first, not overlapping
}

type asnRange struct {
	first, last uint32
	cc          uint16
}

// RIRStats counts what a file contributed.
type RIRStats struct {
	IPv4, IPv6, ASN int // records of allocated or assigned space
	Skipped         int // available or reserved space, or no country
}

// maxRIRLine bounds a line of a statistics file; real lines are under 100 bytes.
const maxRIRLine = 1024

// countries are the interned codes by index, so a lookup does not allocate.
var countries = func() (t [26 * 26]string) {
	for i := range t {
		t[i], _ = feed.CountryCode(string([]byte{'A' + byte(i/26), 'A' + byte(i%26)}))
	}
	return t
}()

func ccIndex(cc string) uint16 { return uint16(cc[0]-'A')*26 + uint16(cc[1]-'A') }

// RIRBuilder collects statistics files into an RIR.
type RIRBuilder struct {
	nets *bart.Table[uint16]
	asns []asnRange
}

// NewRIRBuilder starts an empty RIR.
func NewRIRBuilder() *RIRBuilder { return &RIRBuilder{nets: new(bart.Table[uint16])} }

// Add reads one delegated-extended file. The format, one record a line:
//
//	version|registry|serial|records|startdate|enddate|UTCoffset   (the header)
//	registry|*|type|*|count|summary                                (summaries)
//	registry|cc|type|start|value|date|status[|opaque-id[|extensions…]]
//
// type is asn, ipv4 or ipv6; for ipv4, value counts addresses (not always a
// power of two, so the range is cut into prefixes); for ipv6 it is the prefix
// length; for asn it counts AS numbers. Only allocated and assigned space has
// a country. A malformed record fails the file, naming its line and field:
// reference data is read whole or not at all.
func (b *RIRBuilder) Add(r io.Reader, name string) (RIRStats, error) {
	var st RIRStats
	rr := record.NewReader(r, false, maxRIRLine)
	recs := make([]record.Record, 512)
	header := false
	var fields []string
	for {
		n, err := rr.Read(recs)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("%s: %w", name, err)
		}
		for _, rec := range recs[:n] {
			if rec.Err != nil {
				return st, fmt.Errorf("%s: line %d: %w", name, rec.Line, rec.Err)
			}
			line := strings.TrimSpace(rec.Text)
			if line == "" || line[0] == '#' {
				continue
			}
			fields = splitPipe(line, fields)
			if !header {
				header = true
				if _, err := strconv.ParseFloat(fields[0], 64); err == nil && len(fields) >= 7 {
					continue // the version line
				}
			}
			if len(fields) >= 6 && fields[1] == "*" && fields[5] == "summary" {
				continue
			}
			if field, err := b.record(fields, &st); err != nil {
				return st, fmt.Errorf("%s: line %d: %s: %w", name, rec.Line, field, err)
			}
		}
	}
	return st, nil
}

func splitPipe(s string, dst []string) []string {
	dst = dst[:0]
	for {
		i := strings.IndexByte(s, '|')
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i+1:]
	}
}

// record adds one record; on failure it names the field.
func (b *RIRBuilder) record(f []string, st *RIRStats) (string, error) {
	if len(f) < 7 {
		return "record", fmt.Errorf("%d fields, want at least 7 (registry|cc|type|start|value|date|status)", len(f))
	}
	typ, start, value, status := f[2], f[3], f[4], f[6]
	switch typ {
	case "asn", "ipv4", "ipv6":
	default:
		return "type", fmt.Errorf("%q is not asn, ipv4 or ipv6", feed.Clip(typ))
	}
	switch status {
	case "allocated", "assigned":
	case "available", "reserved":
		st.Skipped++
		return "", nil
	default:
		return "status", fmt.Errorf("%q is not allocated, assigned, available or reserved", feed.Clip(status))
	}
	cc, ok := feed.CountryCode(f[1])
	if !ok || cc == "ZZ" {
		if f[1] == "" || cc == "ZZ" {
			st.Skipped++ // held, but by no country (ARIN's, IANA's own space)
			return "", nil
		}
		return "cc", fmt.Errorf("%q is not a two-letter country code", feed.Clip(f[1]))
	}
	n, err := strconv.ParseUint(value, 10, 64)
	if err != nil || n == 0 {
		return "value", fmt.Errorf("%q is not a positive count", feed.Clip(value))
	}
	switch typ {
	case "asn":
		first, err := strconv.ParseUint(start, 10, 32)
		if err != nil {
			return "start", fmt.Errorf("%q is not an AS number", feed.Clip(start))
		}
		if first+n-1 > 1<<32-1 {
			return "value", fmt.Errorf("%d AS numbers from %d run past AS4294967295", n, first)
		}
		b.asns = append(b.asns, asnRange{uint32(first), uint32(first + n - 1), ccIndex(cc)})
		st.ASN++
	case "ipv4":
		ip, err := netip.ParseAddr(start)
		if err != nil || !ip.Is4() {
			return "start", fmt.Errorf("%q is not an IPv4 address", feed.Clip(start))
		}
		first := uint64(ipv4ToUint(ip))
		if first+n > 1<<32 {
			return "value", fmt.Errorf("%d addresses from %s run past 255.255.255.255", n, ip)
		}
		for _, p := range rangePrefixes(uint32(first), n) {
			b.nets.Insert(p, ccIndex(cc))
		}
		st.IPv4++
	case "ipv6":
		ip, err := netip.ParseAddr(start)
		if err != nil || !ip.Is6() || ip.Is4In6() || ip.Zone() != "" {
			return "start", fmt.Errorf("%q is not an IPv6 address", feed.Clip(start))
		}
		if n > 128 {
			return "value", fmt.Errorf("%d is not a prefix length (0-128)", n)
		}
		p := netip.PrefixFrom(ip, int(n))
		if p.Masked() != p {
			return "start", fmt.Errorf("%s is not the first address of a /%d", ip, n)
		}
		b.nets.Insert(p, ccIndex(cc))
		st.IPv6++
	}
	return "", nil
}

// Build finishes the RIR. Overlapping AS ranges (which the registries do not
// publish) are refused, naming both.
func (b *RIRBuilder) Build() (*RIR, error) {
	slices.SortFunc(b.asns, func(x, y asnRange) int {
		switch {
		case x.first < y.first:
			return -1
		case x.first > y.first:
			return 1
		}
		return 0
	})
	for i := 1; i < len(b.asns); i++ {
		if p, q := b.asns[i-1], b.asns[i]; q.first <= p.last {
			return nil, fmt.Errorf("rir: AS ranges %d-%d and %d-%d overlap", p.first, p.last, q.first, q.last)
		}
	}
	r := &RIR{nets: b.nets, asns: slices.Clip(b.asns)}
	b.nets, b.asns = new(bart.Table[uint16]), nil
	return r, nil
}

// LoadRIR reads statistics files into one RIR.
func LoadRIR(paths ...string) (*RIR, error) {
	b := NewRIRBuilder()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("rir: %w", err)
		}
		_, err = b.Add(f, p)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("rir: %w", err)
		}
	}
	return b.Build()
}

// Country is the country the address's most specific range was delegated to.
func (r *RIR) Country(ip netip.Addr) (string, bool) {
	i, ok := r.nets.Lookup(ip.Unmap())
	if !ok {
		return "", false
	}
	return countries[i], true
}

// CountryOfASN is the country the AS number was delegated to.
func (r *RIR) CountryOfASN(asn uint32) (string, bool) {
	i, ok := slices.BinarySearchFunc(r.asns, asn, func(a asnRange, v uint32) int {
		switch {
		case a.last < v:
			return -1
		case a.first > v:
			return 1
		}
		return 0
	})
	if !ok {
		return "", false
	}
	return countries[r.asns[i].cc], true
}

// Size is the number of prefixes and AS ranges held.
func (r *RIR) Size() (prefixes, asRanges int) { return r.nets.Size(), len(r.asns) }

func ipv4ToUint(ip netip.Addr) uint32 {
	b := ip.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// rangePrefixes cuts count addresses from first into the fewest prefixes:
// at each step the largest block aligned at the current address that fits.
func rangePrefixes(first uint32, count uint64) []netip.Prefix {
	var out []netip.Prefix
	cur := uint64(first)
	for count > 0 {
		size := uint64(1) << 32
		if cur != 0 {
			size = uint64(1) << bits.TrailingZeros64(cur)
		}
		for size > count {
			size >>= 1
		}
		c := uint32(cur)
		addr := netip.AddrFrom4([4]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
		out = append(out, netip.PrefixFrom(addr, 32-bits.TrailingZeros64(size)))
		cur += size
		count -= size
	}
	return out
}
