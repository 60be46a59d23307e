package egress

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestEachReachRefusesWhatItMust(t *testing.T) {
	own := []netip.Addr{netip.MustParseAddr("203.0.113.5")}
	// For each address: blocked in public, blocked in private.
	for addr, want := range map[string][2]bool{
		"127.0.0.1": {true, true}, "::1": {true, true}, "::ffff:127.0.0.1": {true, true}, "0.0.0.0": {true, true},
		"169.254.169.254": {true, true}, "fe80::1": {true, true}, "224.0.0.1": {true, true},
		"64:ff9b::7f00:1": {true, true}, "2002:7f00:1::1": {true, true}, "::7f00:1": {true, true},
		"203.0.113.5": {true, true},
		"10.1.2.3":    {true, false}, "172.16.0.1": {true, false}, "192.168.1.1": {true, false}, "100.64.0.1": {true, false}, "fd00::1": {true, false},
		"203.0.113.6": {false, false}, "93.184.216.34": {false, false}, "2606:4700::1111": {false, false},
	} {
		a := netip.MustParseAddr(addr)
		if got := BlockedAddr(a, Public, own) != ""; got != want[0] {
			t.Errorf("public, %s: blocked %v, want %v", addr, got, want[0])
		}
		if got := BlockedAddr(a, Private, own) != ""; got != want[1] {
			t.Errorf("private, %s: blocked %v, want %v", addr, got, want[1])
		}
		if BlockedAddr(a, Any, own) != "" {
			t.Errorf("any, %s: blocked", addr)
		}
	}
	for host, blocked := range map[string]bool{"localhost": true, "a.localhost.": true, "[::1]": true, "127.0.0.1": true, "example.com": false} {
		if got := BlockedHost(host, Public) != ""; got != blocked {
			t.Errorf("host %s: blocked %v, want %v", host, got, blocked)
		}
	}
	if _, err := ParseReach("everywhere"); err == nil {
		t.Fatal("a reach that is none was read")
	}
	if r, err := ParseReach(" Private "); err != nil || r != Private {
		t.Fatalf("ParseReach: %v %v", r, err)
	}
}

// A name that resolves to loopback is refused as it is dialled, saying which setting
// widens the reach; with reach any it is reached, and a redirect is the answer, not
// followed.
func TestTheClientChecksTheAddressItDials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.com/", http.StatusFound)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	url := "http://localhost:" + port + "/"
	get := func(c *http.Client) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		return c.Do(req)
	}
	_, err := get(Client(Public, time.Second, "JOBCENTER_X"))
	if !IsRefused(err) || !strings.Contains(err.Error(), "is loopback") || !strings.Contains(err.Error(), "JOBCENTER_X") {
		t.Fatalf("a call to localhost in reach public: %v", err)
	}
	if _, err := get(Client(Private, time.Second, "JOBCENTER_X")); !IsRefused(err) {
		t.Fatalf("a call to localhost in reach private: %v", err)
	}
	resp, err := get(Client(Any, time.Second, "JOBCENTER_X"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d: the redirect was followed", resp.StatusCode)
	}
}
