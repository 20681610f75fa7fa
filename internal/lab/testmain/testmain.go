// Package testmain is what the TestMains of smbkrb's lab tests repeat:
// a temporary directory of the test binary's own, a client network
// namespace with Kerberos's port 88 rejected, Samba AD DCs started in
// parallel with their users, a message for what failed, and everything
// stopped again in reverse order; and, for the tests themselves, a krb5
// context and a memory cache that the test's cleanup releases.
//
//	func run(m *testing.M) int {
//		if labtest.Short() {
//			return m.Run()
//		}
//		l, err := testmain.New("smb", testmain.Options{})
//		if err != nil {
//			return testmain.Fail("smb", "lab", err)
//		}
//		defer l.Close()
//		ns, err := l.Namespace()
//		...
//		return m.Run()
//	}
//
// It needs what its parts need: root for namespaces and DCs (package
// netns, package samba).
package testmain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/krb5"
)

// Options tune a Lab.
type Options struct {
	// Tmpfs puts the directory on /dev/shm where there is one, so that the
	// servers' disk is not what a benchmark measures.
	Tmpfs bool
}

// Lab is one test binary's lab: its directory and what to stop.
type Lab struct {
	// Dir is the lab's directory (smbkrb-<name>-test-*), removed by Close.
	Dir string

	name  string
	mu    sync.Mutex
	stops []func()
}

// New makes the lab's directory.
func New(name string, opts Options) (*Lab, error) {
	parent := ""
	if opts.Tmpfs {
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			parent = "/dev/shm"
		}
	}
	dir, err := os.MkdirTemp(parent, "smbkrb-"+name+"-test-")
	if err != nil {
		return nil, err
	}
	return &Lab{Dir: dir, name: name}, nil
}

// Defer runs f at Close, before what was deferred earlier.
func (l *Lab) Defer(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stops = append(l.stops, f)
}

// Close stops everything in reverse order, removes the Samba templates
// this process provisioned, and removes the directory.
func (l *Lab) Close() {
	l.mu.Lock()
	stops := l.stops
	l.stops = nil
	l.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	samba.CleanupTemplates()
	os.RemoveAll(l.Dir)
}

// Fail prints what of the lab of the named tests failed and returns the
// exit code for TestMain.
func Fail(name, what string, err error) int {
	fmt.Fprintf(os.Stderr, "%s tests: %s: %v\n", name, what, err)
	return 1
}

// Fail is Fail with the lab's name.
func (l *Lab) Fail(what string, err error) int { return Fail(l.name, what, err) }

// Namespace is a client network namespace whose port 88 is rejected, so
// that every Kerberos exchange from it must go through a KDC proxy;
// Close removes it.
func (l *Lab) Namespace() (*netns.NS, error) {
	ns, err := netns.New(netns.Options{BlockPorts: []int{88}})
	if err != nil {
		return nil, fmt.Errorf("client network namespace: %w", err)
	}
	l.Defer(func() { ns.Close() })
	return ns, nil
}

// DC is a Samba AD DC to start: its directory under the lab's, its
// options, and users to add (name → password).
type DC struct {
	Name    string
	Options samba.Options
	Users   map[string]string
}

// DCs starts the DCs in parallel (provisioning is the slow part) and
// returns them in the order given, each with its users; Close stops them.
// An error names every DC that failed.
func (l *Lab) DCs(specs ...DC) ([]*samba.DC, error) {
	dcs := make([]*samba.DC, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dc, err := samba.Start(filepath.Join(l.Dir, s.Name), s.Options)
			if err != nil {
				errs[i] = fmt.Errorf("the Samba DC of %s: %w", s.Options.Realm, err)
				return
			}
			l.Defer(func() { dc.Close() })
			for u, pw := range s.Users {
				if err := dc.AddUser(u, pw); err != nil {
					errs[i] = fmt.Errorf("user %s in %s: %w", u, s.Options.Realm, err)
					return
				}
			}
			dcs[i] = dc
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return dcs, nil
}

// Context is a krb5 context for cfg, closed by tb's cleanup.
func Context(tb testing.TB, cfg *krb5.Config) *krb5.Context {
	tb.Helper()
	k, err := krb5.NewContext(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	return k
}

// MemoryCache is an empty MEMORY: cache of k, destroyed by tb's cleanup.
func MemoryCache(tb testing.TB, k *krb5.Context) *krb5.CCache {
	tb.Helper()
	cc, err := k.NewMemoryCCache()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cc.Destroy() })
	return cc
}
