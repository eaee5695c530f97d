package csaf

import (
	"time"
)

// ProviderMetadata is /.well-known/csaf/provider-metadata.json (section 7.1.7).
type ProviderMetadata struct {
	CanonicalURL            string             `json:"canonical_url"`
	Distributions           []DistributionInfo `json:"distributions"`
	LastUpdated             time.Time          `json:"last_updated"`
	ListOnCSAFAggregators   bool               `json:"list_on_CSAF_aggregators"`
	MetadataVersion         string             `json:"metadata_version"`
	MirrorOnCSAFAggregators bool               `json:"mirror_on_CSAF_aggregators"`
	PublicOpenPGPKeys       []OpenPGPKey       `json:"public_openpgp_keys,omitempty"`
	Publisher               Publisher          `json:"publisher"`
	Role                    string             `json:"role"`
}

// DistributionInfo says where the advisories are: a directory and ROLIE feeds.
type DistributionInfo struct {
	DirectoryURL string `json:"directory_url,omitempty"`
	ROLIE        *ROLIE `json:"rolie,omitempty"`
}

// ROLIE lists the provider's feeds, one per TLP label.
type ROLIE struct {
	Feeds []FeedInfo `json:"feeds"`
}

// FeedInfo is one ROLIE feed.
type FeedInfo struct {
	Summary  string `json:"summary"`
	TLPLabel string `json:"tlp_label"`
	URL      string `json:"url"`
}

// OpenPGPKey is the key the .asc signatures are made with.
type OpenPGPKey struct {
	Fingerprint string `json:"fingerprint,omitempty"`
	URL         string `json:"url"`
}

// Feed is a ROLIE feed (RFC 8322) of a TLP label's advisories, as CSAF section
// 7.1.20 lays it out.
type Feed struct {
	Feed FeedBody `json:"feed"`
}

// FeedBody is the feed itself.
type FeedBody struct {
	ID       string      `json:"id"`
	Title    string      `json:"title"`
	Link     []Link      `json:"link"`
	Category []Category  `json:"category"`
	Updated  time.Time   `json:"updated"`
	Entry    []FeedEntry `json:"entry"`
}

// Link is an Atom link.
type Link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// Category is a ROLIE category.
type Category struct {
	Scheme string `json:"scheme"`
	Term   string `json:"term"`
}

// FeedEntry is one advisory in a feed.
type FeedEntry struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Link      []Link    `json:"link"`
	Published time.Time `json:"published"`
	Updated   time.Time `json:"updated"`
	Content   Content   `json:"content"`
	Format    Format    `json:"format"`
}

// Content points at the document.
type Content struct {
	Type string `json:"type"`
	Src  string `json:"src"`
}

// Format names the document's schema.
type Format struct {
	Schema  string `json:"schema"`
	Version string `json:"version"`
}
