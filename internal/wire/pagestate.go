package wire

import "time"

// PageStateVersion is the version of the "page.state" and "page.resolve" payloads this
// node speaks.
const PageStateVersion = 1

// PageState is the "page.state" payload (a receiving team tells the sender that a
// person was notified, or acknowledged; Statement is then the receiving node's
// signature over the acknowledgement) and the "page.resolve" payload (the sender tells
// each receiver that the page is resolved, and by whom).
type PageState struct {
	Version   int       `json:"v"`
	PageID    string    `json:"page_id"`
	Team      string    `json:"team"`
	State     string    `json:"state"`
	At        time.Time `json:"at"`
	Channel   string    `json:"channel,omitempty"`
	By        string    `json:"by,omitempty"`
	Via       string    `json:"via,omitempty"`
	Statement []byte    `json:"statement,omitempty"`
}

func (c *PageState) version() int { return c.Version }

// EncodePageState encodes a "page.state" or "page.resolve" payload at the current
// version.
func EncodePageState(c PageState) ([]byte, error) {
	c.Version = PageStateVersion
	return encode("page state", c)
}

// DecodePageState decodes a "page.state" or "page.resolve" payload from a peer.
func DecodePageState(b []byte) (PageState, error) {
	var c PageState
	err := decode("page state", b, &c, PageStateVersion)
	return c, err
}
