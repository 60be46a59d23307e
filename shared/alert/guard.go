package alert

import (
	"net/netip"
	"strings"
)

// A webhook is a URL a tenant chooses, fetched from inside the center: without a guard,
// a rule could reach the center's own services, the broker or the store, or a cloud's
// metadata address. BlockedHost checks a URL's host as written; BlockedAddr each address
// a host name resolves to, when it is dialled (so a name that resolves to loopback is
// caught too).

// BlockedHost says why a webhook may not name host ("" when it may): a loopback,
// private, link-local or unspecified address, or localhost.
func BlockedHost(host string) string {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "the host " + host + " is this machine"
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return "" // a name: checked as it is dialled
	}
	return BlockedAddr(a, nil)
}

// BlockedAddr says why a webhook may not reach a ("" when it may): an address of the
// center's own (own), loopback, private (RFC 1918, unique local, carrier-grade NAT),
// link-local (cloud metadata among them), unspecified or multicast.
func BlockedAddr(a netip.Addr, own []netip.Addr) string {
	a = a.Unmap()
	why := ""
	switch {
	case a.IsLoopback():
		why = "is loopback"
	case a.IsUnspecified():
		why = "is unspecified"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		why = "is link-local"
	case a.IsPrivate(), cgnat.Contains(a):
		why = "is on a private network"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		why = "is multicast"
	case nat64.Contains(a), sixToFour.Contains(a), a.Is6() && v4compat.Contains(a):
		// IPv6 forms that carry an IPv4 address a network may route to it.
		why = "embeds an IPv4 address (NAT64, 6to4 or IPv4-compatible)"
	}
	for _, o := range own {
		if why == "" && o.Unmap() == a {
			why = "is one of the center's own"
		}
	}
	if why == "" {
		return ""
	}
	return "the address " + a.String() + " " + why
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	v4compat  = netip.MustParsePrefix("::/96")
)
