// Package formats assembles the feed formats csirtlink reads into one
// registry; adding a format is adding it here.
package formats

import (
	"csirtlink/internal/feed"
	"csirtlink/internal/feed/csvmap"
	"csirtlink/internal/feed/intelmq"
	"csirtlink/internal/feed/shadowserver"
)

// Registry returns a registry of every format.
func Registry() *feed.Registry {
	return feed.NewRegistry(shadowserver.Format{}, intelmq.Format{}, csvmap.Format{})
}
