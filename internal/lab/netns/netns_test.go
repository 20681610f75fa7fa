package netns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

func newNS(t *testing.T, opts Options) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces need root: run the tests as root (CI does)")
	}
	begin := time.Now()
	ns, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("New %s (%s, host %s, %s): %v", ns.Name, ns.Addr, ns.HostAddr, ns.HostLink, time.Since(begin))
	return ns
}

// echoServer listens on addr in the root namespace and echoes one line
// per connection. It returns the address it listens on.
func echoServer(t *testing.T, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != "ping\n" {
		t.Fatalf("echo %q", buf)
	}
}

func TestDialHost(t *testing.T) {
	labtest.Need(t)
	ns := newNS(t, Options{})
	addr := echoServer(t, net.JoinHostPort(ns.HostAddr, "0"))
	c, err := ns.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The connection really comes from inside: its source is Addr.
	if got := c.LocalAddr().(*net.TCPAddr).IP.String(); got != ns.Addr {
		t.Errorf("local address %s, want the namespace's %s", got, ns.Addr)
	}
	roundTrip(t, c)

	// The root namespace's loopback is not reachable from inside: 127.0.0.1
	// there is the namespace's own lo.
	lo := echoServer(t, "127.0.0.1:0")
	if c, err := ns.DialContext(t.Context(), "tcp", lo); err == nil {
		c.Close()
		t.Errorf("reached the host's %s from inside the namespace", lo)
	}
	// The dialing thread is gone, and the test's own dials are still in
	// the root namespace.
	c2, err := net.Dial("tcp", lo)
	if err != nil {
		t.Fatalf("dial from the root namespace after a namespace dial: %v", err)
	}
	c2.Close()
}

func TestBlockPorts(t *testing.T) {
	labtest.Need(t)
	ns := newNS(t, Options{BlockPorts: []int{88}})
	addr := echoServer(t, net.JoinHostPort(ns.HostAddr, "88"))

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	begin := time.Now()
	c, err := ns.DialContext(ctx, "tcp", addr)
	if err == nil {
		c.Close()
		t.Fatalf("reached %s from inside a namespace that blocks port 88", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want connection refused", addr, err)
	}
	t.Logf("blocked dial: %v after %v", err, time.Since(begin))

	// The listener itself is fine: the rule blocks the namespace only.
	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from the root namespace: %v", addr, err)
	}
	roundTrip(t, c)
	c.Close()

	// Other ports pass.
	other := echoServer(t, net.JoinHostPort(ns.HostAddr, "0"))
	c, err = ns.DialContext(ctx, "tcp", other)
	if err != nil {
		t.Fatalf("dial %s (not blocked): %v", other, err)
	}
	roundTrip(t, c)
	c.Close()

	// UDP to port 88 is refused too: the ICMP port unreachable the rule
	// sends comes back as ECONNREFUSED on a connected socket.
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ns.HostAddr, "88"))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	u, err := ns.DialContext(ctx, "udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(10 * time.Second))
	u.Write([]byte("x"))
	_, err = u.Read(make([]byte, 10))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("udp read after a blocked send: %v, want connection refused", err)
	}
}

func TestCommand(t *testing.T) {
	labtest.Need(t)
	ns := newNS(t, Options{})
	out, err := ns.Command(t.Context(), "ip", "-4", "addr").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -4 addr in %s: %v: %s", ns.Name, err, out)
	}
	if !strings.Contains(string(out), "inet "+ns.Addr+"/30") || !strings.Contains(string(out), ns.Link) {
		t.Errorf("ip -4 addr inside shows no %s on %s:\n%s", ns.Addr, ns.Link, out)
	}
	if strings.Contains(string(out), ns.HostAddr+"/") {
		t.Errorf("the host's address shows inside the namespace:\n%s", out)
	}
}

func netnsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(lookToolT(t, "ip"), "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	return string(out)
}

func lookToolT(t *testing.T, name string) string {
	t.Helper()
	p, err := lookTool(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClose(t *testing.T) {
	labtest.Need(t)
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces need root: run the tests as root (CI does)")
	}
	ns, err := New(Options{BlockPorts: []int{88, 464}})
	if err != nil {
		t.Fatal(err)
	}
	if !hasWord(netnsList(t), ns.Name) {
		t.Fatalf("%s not in ip netns list", ns.Name)
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if hasWord(netnsList(t), ns.Name) {
		t.Errorf("%s still listed after Close", ns.Name)
	}
	if _, err := net.InterfaceByName(ns.HostLink); err == nil {
		t.Errorf("veth %s still there after Close", ns.HostLink)
	}
	if err := ns.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := ns.DialContext(t.Context(), "tcp", net.JoinHostPort(ns.HostAddr, "445")); err == nil {
		t.Error("dial after Close succeeded")
	}
}

func hasWord(list, name string) bool {
	for _, f := range strings.Fields(list) {
		if f == name {
			return true
		}
	}
	return false
}

// TestParallel makes several namespaces at once: names, links and subnets
// differ, and each reaches its own host address.
func TestParallel(t *testing.T) {
	labtest.Need(t)
	const n = 4
	var (
		wg  sync.WaitGroup
		nss [n]*NS
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns, err := New(Options{})
			if err != nil {
				t.Error(err)
				return
			}
			nss[i] = ns
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ns := range nss {
		if ns == nil {
			continue
		}
		t.Cleanup(func() { ns.Close() })
		for _, k := range []string{ns.Name, ns.HostLink, ns.HostAddr, ns.Addr} {
			if seen[k] {
				t.Errorf("%s used twice", k)
			}
			seen[k] = true
		}
	}
	for _, ns := range nss {
		if ns == nil {
			continue
		}
		addr := echoServer(t, net.JoinHostPort(ns.HostAddr, "0"))
		c, err := ns.DialContext(t.Context(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c)
		c.Close()
	}
}

func TestContextCanceled(t *testing.T) {
	labtest.Need(t)
	ns := newNS(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if c, err := ns.DialContext(ctx, "tcp", net.JoinHostPort(ns.HostAddr, "9")); err == nil {
		c.Close()
		t.Fatal("dial with a canceled context succeeded")
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("dial with a canceled context: %v", err)
	}
}

// TestRemovesStale leaves a namespace and a veth pair named for a process
// that has died, as a test binary killed by a timeout does: the next New
// removes them.
func TestRemovesStale(t *testing.T) {
	labtest.Need(t)
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces need root: run the tests as root (CI does)")
	}
	ip := lookToolT(t, "ip")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	pid := dead.Process.Pid
	name := fmt.Sprintf("smbkrb-%d-0", pid)
	host := fmt.Sprintf("sk%dh0", pid)
	for _, args := range [][]string{
		{"netns", "add", name},
		{"link", "add", host, "type", "veth", "peer", "name", fmt.Sprintf("sk%dn0", pid)},
	} {
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command(ip, "netns", "del", name).Run()
		exec.Command(ip, "link", "del", host).Run()
	})
	newNS(t, Options{})
	if hasWord(netnsList(t), name) {
		t.Errorf("stale namespace %s still there", name)
	}
	if _, err := net.InterfaceByName(host); err == nil {
		t.Errorf("stale veth %s still there", host)
	}
}
