package notify

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrBlockedAddress is wrapped by the error of a webhook whose destination
// resolved to an address that is not on the public Internet.
var ErrBlockedAddress = errors.New("destination address is not public")

// blockedError names the address the guard refused and why.
type blockedError struct {
	addr   netip.Addr
	reason string
}

func (e *blockedError) Error() string {
	return fmt.Sprintf("refused to connect to %s (%s): %v; set WebhookOptions.AllowPrivate for receivers on a private network", e.addr, e.reason, ErrBlockedAddress)
}

func (e *blockedError) Unwrap() error { return ErrBlockedAddress }

// blockedPrefixes are the ranges a webhook may not reach unless AllowPrivate
// is set: IANA's special-purpose registries (addresses that are not globally
// reachable) plus CGNAT and documentation space. Webhook URLs are typed in by
// users, so without this list one could point a webhook at the node's own
// admin port, a cloud metadata service or a router, and read the answer from
// the error excerpt.
var blockedPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes 255.255.255.255
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments"}, // includes Teredo, which embeds IPv4
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4"}, // embeds an IPv4 address that may be private
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (private)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// blockReason returns why addr may not be dialled, or "" if it may.
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry, and
// NAT64 (64:ff9b::/96) by the IPv4 address it translates to.
func blockReason(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if addr.Is6() && netip.MustParsePrefix("64:ff9b::/96").Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if !addr.IsValid() {
		return "invalid"
	}
	for _, p := range blockedPrefixes {
		if p.prefix.Contains(addr) {
			return p.reason
		}
	}
	return ""
}

// guardControl is a net.Dialer Control function. It runs after name
// resolution, on the very address about to be connected to, and before the
// connection is attempted; so a DNS name that resolves to a public address
// when the URL is checked and to a private one when it is used (DNS
// rebinding) is still refused, and nothing is sent to a refused address.
func guardControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: not an IP address and port", address)
	}
	if reason := blockReason(ap.Addr()); reason != "" {
		return &blockedError{addr: ap.Addr().Unmap(), reason: reason}
	}
	return nil
}
