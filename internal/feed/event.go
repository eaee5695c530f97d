// Package feed reads bulk security feeds (Shadowserver reports, IntelMQ output,
// generic CSV) as a stream of normalised events: a front door detects the
// format and hands the input to that format's parser, found in a registry.
package feed

import (
	"net/netip"
	"time"

	"csirtlink/internal/tlp"
)

// Origin says where an event's ASN or country came from.
type Origin uint8

// The origins of an ASN or a country, from most to least trusted.
const (
	OriginNone Origin = iota // not known
	OriginFeed               // the feed's own column
	OriginMMDB               // a MaxMind-format database
	OriginRIR                // an RIR delegated-extended statistics file
)

func (o Origin) String() string {
	switch o {
	case OriginFeed:
		return "feed"
	case OriginMMDB:
		return "mmdb"
	case OriginRIR:
		return "rir"
	default:
		return "none"
	}
}

// Event is one normalised feed event: what routing and reporting need.
//
// Parsers read many rows into one string and cut the text fields from it, so a
// batch of events costs one allocation. An event kept after its batch holds on
// to that string; clone the fields (strings.Clone) to keep one event alone.
type Event struct {
	Time     time.Time  // when the source saw it, UTC
	IP       netip.Addr // the host concerned (source.ip); IPv4 never 4in6
	Port     uint16
	ASN      uint32
	Country  string // ISO 3166-1 alpha-2, upper case
	Hostname string // the host's reported name (reverse DNS)
	Domain   string // the DNS name the event is about (source.fqdn, the URL's host)
	URL      string
	Protocol string // transport: tcp, udp…

	Classification string // RSIT "class/type", always valid
	Identifier     string // what exactly: "open-telnet", an infection name…
	Report         string // the report type, e.g. Shadowserver's "scan_telnet"
	Feed           string // the feed's name
	TLP            tlp.Label

	ASNFrom     Origin
	CountryFrom Origin

	Line int64  // the input line the row starts on (1-based)
	Raw  string // the row as received, without its line ending

	// Count is how many repeats of the event this one stands for, when repeats
	// are aggregated (Aggregate): Time is then the first seen, LastSeen the
	// last. 0 and 1 both mean a single event.
	Count    int64
	LastSeen time.Time
}

// Repeats is how many events e stands for: at least one.
func (e *Event) Repeats() int64 { return max(e.Count, 1) }

// Unclassified is the category of events whose classification is unknown.
const Unclassified = "other/undetermined"
