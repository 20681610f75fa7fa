//go:build !race

package labtest

// Race reports that the binary was built with the race detector: tests
// then build the binaries they run with it too, and allow for a client
// several times slower than it is.
const Race = false
