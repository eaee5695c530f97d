// Package enrich fills in an event's AS number and country from reference
// data kept in-process: MaxMind-format databases (GeoLite2 ASN and Country)
// and RIR delegated-extended statistics files. What the feed itself said wins;
// enrichment only fills what it left empty.
package enrich

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"

	"csirtlink/internal/feed"
)

// Sources is the reference data. Any of them may be nil.
type Sources struct {
	ASN     *maxminddb.Reader // a GeoLite2-ASN (or GeoIP2-ISP) database
	Country *maxminddb.Reader // a GeoLite2-Country (or City) database
	RIR     *RIR              // country by address range and by AS number
}

// Enricher answers from its sources. It is safe for concurrent use through
// one Lookup per goroutine.
type Enricher struct {
	src Sources
}

// New checks that each database is of the kind its slot expects.
func New(src Sources) (*Enricher, error) {
	if src.ASN != nil && !strings.Contains(src.ASN.Metadata.DatabaseType, "ASN") &&
		!strings.Contains(src.ASN.Metadata.DatabaseType, "ISP") {
		return nil, fmt.Errorf("asn database: type %q has no AS numbers", src.ASN.Metadata.DatabaseType)
	}
	if src.Country != nil && !strings.Contains(src.Country.Metadata.DatabaseType, "Country") &&
		!strings.Contains(src.Country.Metadata.DatabaseType, "City") {
		return nil, fmt.Errorf("country database: type %q has no countries", src.Country.Metadata.DatabaseType)
	}
	return &Enricher{src: src}, nil
}

// Open opens the databases and RIR files named (empty names are skipped) and
// makes an Enricher of them. Close releases the databases.
func Open(asnPath, countryPath string, rirPaths ...string) (*Enricher, error) {
	var src Sources
	var err error
	closeAll := func() {
		for _, r := range []*maxminddb.Reader{src.ASN, src.Country} {
			if r != nil {
				r.Close()
			}
		}
	}
	if asnPath != "" {
		if src.ASN, err = maxminddb.Open(asnPath); err != nil {
			return nil, fmt.Errorf("asn database: %w", err)
		}
	}
	if countryPath != "" {
		if src.Country, err = maxminddb.Open(countryPath); err != nil {
			closeAll()
			return nil, fmt.Errorf("country database: %w", err)
		}
	}
	if len(rirPaths) > 0 {
		if src.RIR, err = LoadRIR(rirPaths...); err != nil {
			closeAll()
			return nil, err
		}
	}
	e, err := New(src)
	if err != nil {
		closeAll()
		return nil, err
	}
	return e, nil
}

// Close releases the databases.
func (e *Enricher) Close() error {
	var errs []error
	for _, r := range []*maxminddb.Reader{e.src.ASN, e.src.Country} {
		if r != nil {
			errs = append(errs, r.Close())
		}
	}
	return errors.Join(errs...)
}

// cacheEntries bounds each Lookup's caches. Records are shared by many
// networks (a GeoLite2-Country file has ~250 distinct records, an ASN file
// ~80,000), so the cache holds the decoded answer by record offset.
const cacheEntries = 1 << 16

// Lookup is one goroutine's handle on an Enricher, with its own caches so
// lookups take no lock.
type Lookup struct {
	e       *Enricher
	asns    map[uintptr]uint32
	country map[uintptr]string
	// Errors counts lookups a database could not answer (a corrupt record).
	Errors int64
}

// NewLookup makes a handle for one goroutine.
func (e *Enricher) NewLookup() *Lookup {
	return &Lookup{e: e, asns: make(map[uintptr]uint32), country: make(map[uintptr]string)}
}

// Enrich fills in ev's ASN and country where the feed left them empty:
// ASN from the ASN database; country from the country database, else the RIR
// range the address falls in, else the RIR's holder of the AS number.
func (l *Lookup) Enrich(ev *feed.Event) {
	src := &l.e.src
	ip := ev.IP
	if ip.IsValid() && ev.ASN == 0 && src.ASN != nil {
		if asn, ok := l.asn(ip); ok {
			ev.ASN, ev.ASNFrom = asn, feed.OriginMMDB
		}
	}
	if ev.Country != "" {
		return
	}
	if ip.IsValid() && src.Country != nil {
		if cc, ok := l.countryOf(ip); ok {
			ev.Country, ev.CountryFrom = cc, feed.OriginMMDB
			return
		}
	}
	if src.RIR == nil {
		return
	}
	if ip.IsValid() {
		if cc, ok := src.RIR.Country(ip); ok {
			ev.Country, ev.CountryFrom = cc, feed.OriginRIR
			return
		}
	}
	if ev.ASN != 0 {
		if cc, ok := src.RIR.CountryOfASN(ev.ASN); ok {
			ev.Country, ev.CountryFrom = cc, feed.OriginRIR
		}
	}
}

func (l *Lookup) asn(ip netip.Addr) (uint32, bool) {
	res := l.e.src.ASN.Lookup(ip)
	if !res.Found() {
		if res.Err() != nil {
			l.Errors++
		}
		return 0, false
	}
	off := res.Offset()
	if asn, ok := l.asns[off]; ok {
		return asn, asn != 0
	}
	var asn uint32
	if err := res.DecodePath(&asn, "autonomous_system_number"); err != nil {
		l.Errors++
		return 0, false
	}
	if len(l.asns) >= cacheEntries {
		clear(l.asns)
	}
	l.asns[off] = asn
	return asn, asn != 0
}

// countryRecord is the part of a Country or City record we read: the country
// the address is in, else the one its network is registered in.
type countryRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
}

func (l *Lookup) countryOf(ip netip.Addr) (string, bool) {
	res := l.e.src.Country.Lookup(ip)
	if !res.Found() {
		if res.Err() != nil {
			l.Errors++
		}
		return "", false
	}
	off := res.Offset()
	if cc, ok := l.country[off]; ok {
		return cc, cc != ""
	}
	var rec countryRecord
	if err := res.Decode(&rec); err != nil {
		l.Errors++
		return "", false
	}
	cc, ok := feed.CountryCode(rec.Country.ISOCode)
	if !ok {
		cc, _ = feed.CountryCode(rec.RegisteredCountry.ISOCode)
	}
	if len(l.country) >= cacheEntries {
		clear(l.country)
	}
	l.country[off] = cc
	return cc, cc != ""
}
