// Package egress guards the calls the center makes to addresses its tenants choose (an
// alert's webhook, an HTTP job's URL): without a guard, a tenant could reach the center's
// own services, the broker or the store, another machine on its private network, or a
// cloud's metadata address. A URL's host is checked as written (BlockedHost), and each
// address a name resolves to as it is dialled (Dialer), so a name that resolves to
// loopback is caught too. It is the one place that rule is decided.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/jobcenter/jobcenter/shared/config"
)

// Reach is how far the center's calls may go.
type Reach string

// Reaches, from the narrowest.
const (
	// Public: the internet only — no loopback, private network (RFC 1918, unique local,
	// carrier-grade NAT), link-local (cloud metadata among them), unspecified or
	// multicast address, nor one of the machine's own.
	Public Reach = "public"
	// Private: private networks too (a company's own services), still never loopback,
	// link-local, the machine's own addresses nor those that embed another.
	Private Reach = "private"
	// Any: everything, loopback included (development, tests).
	Any Reach = "any"
)

// Reaches lists them, for messages and documents.
var Reaches = []Reach{Public, Private, Any}

// Setting is the environment variable of an HTTP job's reach, which the api (for the
// hosts a job names) and the executors (for the addresses they dial) both read.
const Setting = "JOBCENTER_HTTP_JOBS_REACH"

// FromEnv reads an HTTP job's reach (Setting, default Public).
func FromEnv(e *config.Env) Reach {
	r, err := ParseReach(e.Str("JOBCENTER_HTTP_JOBS_REACH", "public"))
	if err != nil {
		e.Fail("%s: %v", Setting, err)
		return Public
	}
	return r
}

// Check refuses a reach that is none ("" is not: it takes the default, Public).
func (r Reach) Check() error {
	if r == "" {
		return nil
	}
	if _, err := ParseReach(string(r)); err != nil {
		return fmt.Errorf("%s: %w", Setting, err)
	}
	return nil
}

// Or is r, or Public when it is "".
func (r Reach) Or() Reach {
	if r == "" {
		return Public
	}
	return r
}

// ParseReach reads a setting's value.
func ParseReach(s string) (Reach, error) {
	for _, r := range Reaches {
		if strings.EqualFold(strings.TrimSpace(s), string(r)) {
			return r, nil
		}
	}
	return "", fmt.Errorf("%q is not a reach: one of public, private and any", s)
}

// BlockedHost says why a call within reach may not go to host as written ("" when it
// may): an address BlockedAddr refuses, or localhost. A name is checked as it is dialled.
func BlockedHost(host string, reach Reach) string {
	if reach == Any {
		return ""
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "the host " + host + " is this machine"
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return ""
	}
	return BlockedAddr(a, reach, nil)
}

// BlockedAddr says why a call within reach may not go to a ("" when it may); own are the
// machine's addresses.
func BlockedAddr(a netip.Addr, reach Reach, own []netip.Addr) string {
	if reach == Any {
		return ""
	}
	a = a.Unmap()
	why := ""
	switch {
	case a.IsLoopback():
		why = "is loopback"
	case a.IsUnspecified():
		why = "is unspecified"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		why = "is link-local"
	case reach == Public && (a.IsPrivate() || cgnat.Contains(a)):
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

// OwnAddrs are the machine's interface addresses.
func OwnAddrs() []netip.Addr {
	addrs, _ := net.InterfaceAddrs()
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out
}

// Refused is the error of a dial the guard refused: the call is not tried again.
type Refused struct{ Why string }

func (e *Refused) Error() string { return e.Why }

// IsRefused reports whether err is, or wraps, a refused dial.
func IsRefused(err error) bool {
	var r *Refused
	return errors.As(err, &r)
}

// Dialer dials only addresses within reach; a refusal names setting, which widens it.
func Dialer(reach Reach, timeout time.Duration, setting string) *net.Dialer {
	own := OwnAddrs()
	return &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		if reach == Any {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &Refused{Why: fmt.Sprintf("refused: %q is not an address", address)}
		}
		if why := BlockedAddr(ap.Addr(), reach, own); why != "" {
			return &Refused{Why: fmt.Sprintf("refused: %s (an operator may allow it with %s)", why, setting)}
		}
		return nil
	}}
}

// Client is an HTTP client whose calls stay within reach: never through a proxy (the
// guard checks the address dialled), never following a redirect (it could lead
// anywhere: the answer is what it is). timeout bounds the dial and the TLS handshake;
// callers bound the whole call (their context, or the client's Timeout).
func Client(reach Reach, timeout time.Duration, setting string) *http.Client {
	tr := &http.Transport{
		Proxy: nil, DialContext: Dialer(reach, timeout, setting).DialContext, TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute,
	}
	return &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
