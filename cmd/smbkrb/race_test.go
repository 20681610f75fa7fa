//go:build race

package main

// raceBuild: the test binary has the race detector, so the smbkrb binary
// under test is built with it too.
const raceBuild = true
