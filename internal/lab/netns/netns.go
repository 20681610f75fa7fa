// Package netns makes throwaway Linux network namespaces for tests and the
// demo: a client that lives on its own small network, reaches the host only
// through a veth pair, and can be denied some destination ports (such as
// Kerberos's port 88) by an nftables ruleset inside the namespace.
//
// The calling process stays in the root namespace. [NS.DialContext] opens
// connections from inside the namespace, and [NS.Command] runs programs in
// it (through ip netns exec).
//
// Each NS gets a /30 of its own from 10.213.0.0/16 (or 172.30.0.0/16 if
// that overlaps the host's addresses). The choice is made under a lock
// file (/run/smbkrb-netns.lock) after looking at every address of the root
// namespace, so that test processes running at the same time never pick
// the same subnet. Namespaces are named smbkrb-PID-N and their veth ends
// skPIDhN (host) and skPIDnN (namespace); New removes what a process that
// died without closing left behind.
//
// It needs root and the Debian packages iproute2 and nftables; .ci/run
// installs them.
package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
)

// Options describes a namespace. The zero value blocks nothing.
type Options struct {
	// BlockPorts are destination ports that the namespace may not reach
	// over TCP or UDP, on any address. A TCP connect is answered with a
	// reset (connection refused) and a UDP datagram with an ICMP port
	// unreachable, so clients fail at once instead of waiting for a
	// timeout.
	BlockPorts []int
}

// NS is a network namespace joined to the root namespace by a veth pair.
// Its methods are safe for concurrent use.
type NS struct {
	// Name is the namespace's name, as ip netns list shows it, such as
	// "smbkrb-4242-0".
	Name string
	// HostAddr is the address of the root namespace's end of the veth pair,
	// such as "10.213.7.1": servers the namespace should reach listen on
	// it. The namespace has no default route: HostAddr is the only address
	// of the host it can reach.
	HostAddr string
	// Addr is the namespace's own address, such as "10.213.7.2".
	Addr string
	// HostLink is the name of the root namespace's end of the veth pair
	// (for tc or nftables rules on the host side).
	HostLink string
	// Link is the name of the namespace's end of the veth pair.
	Link string

	ipTool, nftTool string
	table           bool // the nftables table was made
	nsMade          bool
	linkMade        bool

	mu     sync.Mutex
	closed bool
}

const (
	// tableName is the nftables table (family inet) inside the namespace.
	tableName = "smbkrb"
	// lockFile serializes the choice of subnets between processes.
	lockFile = "/run/smbkrb-netns.lock"
	// netnsDir is where ip netns keeps its namespace files.
	netnsDir = "/run/netns"
)

// pools are the ranges the /30s come from, in order of preference.
var pools = []netip.Prefix{
	netip.MustParsePrefix("10.213.0.0/16"),
	netip.MustParsePrefix("172.30.0.0/16"),
}

// seq numbers the namespaces of this process.
var seq atomic.Int64

func lookTool(name string) (string, error) {
	p, err := labtool.Find(name, "iproute2 and nftables")
	if err != nil {
		return "", fmt.Errorf("netns: %w", err)
	}
	return p, nil
}

// New makes a namespace with a veth pair to the root namespace, addresses
// on both ends, lo and the veth ends up, and the nftables rules that
// opts asks for. The caller must Close it. If New fails it removes what it
// had made.
func New(opts Options) (*NS, error) {
	for _, p := range opts.BlockPorts {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("netns: port %d out of range", p)
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("netns: network namespaces need root")
	}
	ns := &NS{}
	var err error
	if ns.ipTool, err = lookTool("ip"); err != nil {
		return nil, err
	}
	if len(opts.BlockPorts) > 0 {
		if ns.nftTool, err = lookTool("nft"); err != nil {
			return nil, err
		}
	}
	if err := ns.setup(); err != nil {
		ns.Close()
		return nil, err
	}
	if len(opts.BlockPorts) > 0 {
		ns.table = true
		if err := ns.block(opts.BlockPorts); err != nil {
			ns.Close()
			return nil, err
		}
	}
	return ns, nil
}

// setup makes the namespace, the veth pair and the addresses, under the
// lock file.
func (ns *NS) setup() error {
	unlock, err := lock()
	if err != nil {
		return err
	}
	defer unlock()
	ns.removeStale()

	pid := os.Getpid()
	for tries := 0; ; tries++ {
		n := seq.Add(1) - 1
		if n > 99999 || tries > 100 {
			return errors.New("netns: no free namespace name")
		}
		name := fmt.Sprintf("smbkrb-%d-%d", pid, n)
		hostLink := fmt.Sprintf("sk%dh%d", pid, n)
		link := fmt.Sprintf("sk%dn%d", pid, n)
		if len(hostLink) > 15 {
			return fmt.Errorf("netns: interface name %s too long", hostLink)
		}
		out, err := ns.ip("netns", "add", name)
		if err != nil {
			if strings.Contains(out, "File exists") {
				continue // left over from an earlier process with this pid
			}
			return err
		}
		ns.Name, ns.nsMade = name, true
		// The peer is made inside the namespace directly.
		out, err = ns.ip("link", "add", hostLink, "type", "veth", "peer", "name", link, "netns", name)
		if err != nil {
			if strings.Contains(out, "File exists") {
				ns.ip("netns", "del", name)
				ns.Name, ns.nsMade = "", false
				continue
			}
			return err
		}
		ns.HostLink, ns.Link, ns.linkMade = hostLink, link, true
		break
	}

	subnet, err := freeSubnet(pid)
	if err != nil {
		return err
	}
	host := subnet.Addr().Next()
	peer := host.Next()
	ns.HostAddr, ns.Addr = host.String(), peer.String()
	steps := [][]string{
		{"addr", "add", host.String() + "/30", "dev", ns.HostLink},
		{"link", "set", ns.HostLink, "up"},
		{"-n", ns.Name, "addr", "add", peer.String() + "/30", "dev", ns.Link},
		{"-n", ns.Name, "link", "set", ns.Link, "up"},
		{"-n", ns.Name, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if _, err := ns.ip(s...); err != nil {
			return err
		}
	}
	return nil
}

// lock takes the lock file; the returned function releases it. The lock
// goes with the process, so a process that dies holding it does not block
// the others.
func lock() (func(), error) {
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("netns: lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("netns: lock %s: %w", lockFile, err)
	}
	return func() { f.Close() }, nil
}

// freeSubnet picks a /30 that overlaps no address of the root namespace,
// starting from a place that depends on pid. It must run under the lock,
// and the caller must put an address of it on an interface before the
// lock is released.
func freeSubnet(pid int) (netip.Prefix, error) {
	var used []netip.Prefix
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("netns: host addresses: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ones, _ := n.Mask.Size()
			used = append(used, netip.PrefixFrom(ip.Unmap(), ones).Masked())
		}
	}
	for _, pool := range pools {
		slots := 1 << (30 - pool.Bits())
		base := pool.Addr().As4()
		start := pid % slots
	next:
		for i := 0; i < slots; i++ {
			s := (start + i) % slots
			v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
			v += uint32(s) << 2
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 30)
			for _, u := range used {
				if u.Overlaps(p) {
					continue next
				}
			}
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("netns: no free /30 in 10.213.0.0/16 or 172.30.0.0/16")
}

var staleName = regexp.MustCompile(`^smbkrb-(\d+)-\d+$`)
var staleLink = regexp.MustCompile(`^sk(\d+)h\d+$`)

// removeStale deletes the namespaces and host veth ends that processes
// which have died left behind (a test binary killed by a timeout never
// runs its cleanups). It runs under the lock; failures are ignored.
func (ns *NS) removeStale() {
	dead := func(s string) bool {
		pid, err := strconv.Atoi(s)
		if err != nil || pid == os.Getpid() {
			return false
		}
		return syscall.Kill(pid, 0) == syscall.ESRCH
	}
	if entries, err := os.ReadDir(netnsDir); err == nil {
		for _, e := range entries {
			if m := staleName.FindStringSubmatch(e.Name()); m != nil && dead(m[1]) {
				ns.ip("netns", "del", e.Name())
			}
		}
	}
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			if m := staleLink.FindStringSubmatch(i.Name); m != nil && dead(m[1]) {
				ns.ip("link", "del", i.Name)
			}
		}
	}
}

// block loads the nftables ruleset that rejects the ports, inside the
// namespace.
func (ns *NS) block(ports []int) error {
	set := make([]string, len(ports))
	for i, p := range ports {
		set[i] = strconv.Itoa(p)
	}
	ps := strings.Join(set, ", ")
	// Locally made packets pass the output hook: a rejected TCP SYN is
	// answered with a RST to the local socket (ECONNREFUSED at once), a
	// UDP datagram with an ICMP port unreachable.
	ruleset := fmt.Sprintf(`table inet %s {
	chain output {
		type filter hook output priority filter; policy accept;
		tcp dport { %s } reject with tcp reset
		udp dport { %s } reject
	}
}
`, tableName, ps, ps)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, ns.nftTool, "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("netns: nft -f in %s: %v: %s", ns.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ip runs the ip tool and returns its combined output.
func (ns *NS) ip(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ns.ipTool, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("netns: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Command returns a command that runs program name with args inside the
// namespace (through ip netns exec, which also gives it a mount namespace
// of its own). Like [exec.CommandContext], ctx kills it.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, ns.ipTool, append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// CommandNetOnly is Command through nsenter --net: the program joins the
// network namespace only and stays in this mount namespace, so that a
// FUSE file system it mounts is seen here.
func (ns *NS) CommandNetOnly(ctx context.Context, name string, args ...string) *exec.Cmd {
	nsenter, err := lookTool("nsenter")
	if err != nil {
		nsenter = "nsenter"
	}
	return exec.CommandContext(ctx, nsenter, append([]string{"--net=/run/netns/" + ns.Name, "--", name}, args...)...)
}

// DialContext connects to addr from inside the namespace, like
// [net.Dialer.DialContext]; the connection works like any other in this
// process. Host names in addr are resolved in the root namespace, so addr
// is best an IP address and port, such as HostAddr:445.
func (ns *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ns.mu.Lock()
	closed := ns.closed
	ns.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("netns: dial %s %s: namespace closed", network, addr)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// setns changes the namespace of this OS thread only. The
		// goroutine keeps the thread locked and ends without unlocking:
		// the runtime then ends the thread instead of giving it to other
		// goroutines. Switching back and unlocking would save a thread per
		// dial, but if switching back failed, or anything else had been
		// tied to the thread while it was in the namespace, other
		// goroutines would silently run in the wrong namespace; a thread
		// per dial costs little in tests.
		runtime.LockOSThread()
		c, err := ns.dialInside(ctx, network, addr)
		ch <- result{c, err}
	}()
	// The dial itself honours ctx, so the result comes soon after ctx ends.
	r := <-ch
	return r.c, r.err
}

// dialInside switches the calling (locked) thread into the namespace and
// dials there: the socket is made in the namespace and stays in it.
func (ns *NS) dialInside(ctx context.Context, network, addr string) (net.Conn, error) {
	fd, err := unix.Open(filepath.Join(netnsDir, ns.Name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netns: open namespace %s: %w", ns.Name, err)
	}
	err = unix.Setns(fd, unix.CLONE_NEWNET)
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("netns: enter namespace %s: %w", ns.Name, err)
	}
	// A negative FallbackDelay turns off Happy Eyeballs, whose racing
	// dials would run in other goroutines, on threads outside the
	// namespace; every address is then tried here, in turn.
	d := net.Dialer{FallbackDelay: -1}
	return d.DialContext(ctx, network, addr)
}

// Close deletes the nftables table, the veth pair and the namespace. It
// may be called more than once. Programs still running inside (see
// Command) keep the namespace alive, without its name, until they exit.
func (ns *NS) Close() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.closed {
		return nil
	}
	ns.closed = true
	var errs []error
	if ns.table && ns.nsMade {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := ns.Command(ctx, ns.nftTool, "delete", "table", "inet", tableName).CombinedOutput()
		cancel()
		if err != nil && !strings.Contains(string(out), "No such file") {
			errs = append(errs, fmt.Errorf("netns: nft delete table in %s: %v: %s", ns.Name, err, strings.TrimSpace(string(out))))
		}
	}
	if ns.linkMade {
		// Deleting one end deletes both.
		if out, err := ns.ip("link", "del", ns.HostLink); err != nil && !strings.Contains(out, "Cannot find device") {
			errs = append(errs, err)
		}
	}
	if ns.nsMade {
		if out, err := ns.ip("netns", "del", ns.Name); err != nil && !strings.Contains(out, "No such file") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
