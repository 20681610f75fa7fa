// Package labtest is what the test binaries of smbkrb share around the
// lab: the two tiers of the suite and the setup every TestMain repeats.
//
// The full tier (go test ./..., what make test and CI run) starts real
// servers, a Samba AD DC, an MIT KDC, a KDC proxy, network namespaces,
// and needs root. The fast tier (go test -short ./..., make unit) runs
// only the tests that need none of that: pure functions, parsers, the fuzz
// targets' seeds, loopback listeners of the test's own. A TestMain asks
// Short before starting its lab; a test that needs the lab calls Need
// first, and under -short it is skipped with a reason.
package labtest

import (
	"flag"
	"testing"
)

// Short reports whether the tests run in the fast tier (-short). A
// TestMain calls it before starting its lab (it parses the test flags if
// that has not happened yet) and, when it is true, runs the tests without
// one:
//
//	func run(m *testing.M) int {
//		if labtest.Short() {
//			return m.Run()
//		}
//		// start the servers ...
//	}
func Short() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	return testing.Short()
}

// Need skips tb under -short: it needs the lab's servers (and root),
// which the fast tier does not start.
func Need(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs the lab (real servers, root): runs without -short")
	}
}
