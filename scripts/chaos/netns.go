package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// cutter runs processes in network namespaces of their own, each joined to this one by a
// veth pair, so that a process can be cut off — alive, but its packets to the broker or
// to the store dropped without a word, as a partition does — and joined again. Kills
// test crashes; cuts test the classic way schedulers double-fire: a scheduler still
// running that the others cannot reach (and, for a worker, a worker still running the
// run the center took for interrupted).
//
// Host n's namespace reaches the broker at 10.77.n.1 and the store at 10.77.n.2, two
// addresses of this side of its veth; a cut is a blackhole route to one of them inside
// the namespace, so the other stays reachable.
type cutter struct {
	hosts map[string]*host // by process name
	hook  bool             // HookIP was added
}

type host struct {
	n       int
	ns, out string
}

func (h *host) brokerIP() string { return fmt.Sprintf("10.77.%d.1", h.n) }
func (h *host) storeIP() string  { return fmt.Sprintf("10.77.%d.2", h.n) }

// newCutter makes a namespace for each of names; it needs root and iproute2.
// HookIP is an address of this side that every namespace reaches (a route through its
// veth): where the chaos's alert webhook listens.
const HookIP = "10.77.0.1"

func newCutter(names []string) (*cutter, error) {
	c := &cutter{hosts: map[string]*host{}}
	tag := os.Getpid() % 100000
	if err := ip("addr", "add", HookIP+"/32", "dev", "lo"); err != nil {
		return nil, err
	}
	c.hook = true
	for i, name := range names {
		h := &host{n: i + 1, ns: fmt.Sprintf("jcchaos-%d-%d", tag, i+1), out: fmt.Sprintf("jcc%d-%d", tag, i+1)}
		in := h.out + "i"
		steps := [][]string{
			{"netns", "add", h.ns},
			{"link", "add", h.out, "type", "veth", "peer", "name", in},
			{"link", "set", in, "netns", h.ns},
			{"addr", "add", h.brokerIP() + "/29", "dev", h.out},
			{"addr", "add", h.storeIP() + "/29", "dev", h.out},
			{"link", "set", h.out, "up"},
			{"-n", h.ns, "addr", "add", fmt.Sprintf("10.77.%d.3/29", h.n), "dev", in},
			{"-n", h.ns, "link", "set", in, "up"},
			{"-n", h.ns, "link", "set", "lo", "up"},
			{"-n", h.ns, "route", "add", HookIP + "/32", "via", h.brokerIP()},
		}
		c.hosts[name] = h
		for _, s := range steps {
			if err := ip(s...); err != nil {
				c.close()
				return nil, err
			}
		}
	}
	return c, nil
}

// close removes the namespaces and their veths.
func (c *cutter) close() {
	if c.hook {
		_ = ip("addr", "del", HookIP+"/32", "dev", "lo")
	}
	for _, h := range c.hosts {
		_ = ip("netns", "del", h.ns)
		_ = ip("link", "del", h.out) // gone with its peer already, unless the peer never moved
	}
}

// command runs program with args for name: in its namespace when it has one. ip netns
// exec execs the program itself, so the process is the program's: a kill -9 reaches it.
func (c *cutter) command(name, program string, args ...string) *exec.Cmd {
	if h := c.hostOf(name); h != nil {
		return exec.Command("ip", append([]string{"netns", "exec", h.ns, program}, args...)...)
	}
	return exec.Command(program, args...)
}

// env is what name's process needs to reach the broker and the store from its namespace.
func (c *cutter) env(name, natsPort, storePort string) []string {
	h := c.hostOf(name)
	if h == nil {
		return nil
	}
	return []string{"NATS_URL=nats://" + h.brokerIP() + ":" + natsPort, "MONGO_URI=mongodb://" + h.storeIP() + ":" + storePort + "/"}
}

func (c *cutter) hostOf(name string) *host {
	if c == nil {
		return nil
	}
	return c.hosts[name]
}

// cut drops name's packets to the broker (what "broker") or to the store ("store");
// heal lets them through again.
func (c *cutter) cut(name, what string) error  { return c.route("add", name, what) }
func (c *cutter) heal(name, what string) error { return c.route("del", name, what) }

func (c *cutter) route(op, name, what string) error {
	h := c.hostOf(name)
	if h == nil {
		return fmt.Errorf("%s has no namespace", name)
	}
	addr := h.brokerIP()
	if what == "store" {
		addr = h.storeIP()
	}
	return ip("-n", h.ns, "route", op, "blackhole", addr+"/32")
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
