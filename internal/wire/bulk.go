package wire

import (
	"errors"
	"fmt"
)

// TypeBulkChunk is a chunk of many objects of one kind in one envelope: routed feed events
// today, indicators and TAXII objects later.
const TypeBulkChunk = "bulk.chunk"

// BulkChunkVersion is the version of the "bulk.chunk" payload this node speaks.
const BulkChunkVersion = 1

// BulkChunk is the "bulk.chunk" payload. Data is the objects as JSON lines (one object of
// Kind per line), zstd-compressed; Count and Size (the uncompressed bytes) are declared so
// the receiver can refuse a chunk that decompresses to more than it says before it has
// read more than it said. Group names what the chunk belongs to (a routed report), Part
// numbers the chunks of a group from 1, and Last marks its final chunk.
type BulkChunk struct {
	Version int    `json:"v"`
	Kind    string `json:"kind"`
	Group   string `json:"group"`
	Part    int    `json:"part"`
	Last    bool   `json:"last"`
	Count   int    `json:"count"`
	Size    int64  `json:"size"`
	Data    []byte `json:"data"`
}

func (c *BulkChunk) version() int { return c.Version }

// EncodeBulkChunk encodes a chunk at the current version.
func EncodeBulkChunk(c BulkChunk) ([]byte, error) {
	c.Version = BulkChunkVersion
	return encode(TypeBulkChunk, c)
}

// DecodeBulkChunk decodes a chunk strictly; the objects in Data are left to the bulk
// package's streaming decoder.
func DecodeBulkChunk(b []byte) (BulkChunk, error) {
	var c BulkChunk
	if err := decode(TypeBulkChunk, b, &c, BulkChunkVersion); err != nil {
		return c, err
	}
	switch {
	case c.Kind == "" || len(c.Kind) > 64:
		return c, errors.New("wire: bulk.chunk: kind: must be 1 to 64 bytes")
	case len(c.Group) > 128:
		return c, errors.New("wire: bulk.chunk: group: longer than 128 bytes")
	case c.Part < 1:
		return c, fmt.Errorf("wire: bulk.chunk: part: %d, must be at least 1", c.Part)
	case c.Count < 0 || c.Size < 0:
		return c, errors.New("wire: bulk.chunk: count and size must not be negative")
	}
	return c, nil
}

// TypeFeedEvent is the object kind of a routed feed event in a bulk chunk.
const TypeFeedEvent = "feed.event"

// FeedEventVersion is the version of the "feed.event" object this node speaks.
const FeedEventVersion = 1

// FeedEvent is one routed feed event as a partner receives it: the normalised fields, the
// feed it came from (provenance) and its TLP, and the raw row as the feed gave it, for the
// owner who must fix it.
type FeedEvent struct {
	Version        int    `json:"v"`
	Time           string `json:"time"` // RFC 3339, UTC
	IP             string `json:"ip,omitempty"`
	Port           uint16 `json:"port,omitempty"`
	ASN            uint32 `json:"asn,omitempty"`
	Country        string `json:"country,omitempty"`
	Hostname       string `json:"hostname,omitempty"`
	Domain         string `json:"domain,omitempty"`
	URL            string `json:"url,omitempty"`
	Protocol       string `json:"protocol,omitempty"`
	Classification string `json:"classification"`
	Identifier     string `json:"identifier,omitempty"`
	Report         string `json:"report,omitempty"`
	Feed           string `json:"feed,omitempty"`
	TLP            string `json:"tlp"`
	Raw            string `json:"raw,omitempty"`
	// Count and LastSeen describe an aggregated event: Count sightings from Time
	// (the first) to LastSeen. Absent on a single event, so payloads from nodes
	// that do not aggregate read the same.
	Count    int64  `json:"count,omitempty"`
	LastSeen string `json:"last_seen,omitempty"` // RFC 3339, UTC
}

func (e *FeedEvent) version() int { return e.Version }

// EncodeFeedEvent encodes an event at the current version, as one line of a chunk.
func EncodeFeedEvent(e FeedEvent) ([]byte, error) {
	e.Version = FeedEventVersion
	return encode(TypeFeedEvent, e)
}

// DecodeFeedEvent decodes one event strictly.
func DecodeFeedEvent(b []byte) (FeedEvent, error) {
	var e FeedEvent
	err := decode(TypeFeedEvent, b, &e, FeedEventVersion)
	return e, err
}
