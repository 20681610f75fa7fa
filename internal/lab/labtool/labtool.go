// Package labtool holds what the lab starters (mitkdc, samba) and the
// tests share when they drive the system's own programs: finding a tool,
// an environment that no developer setting leaks into, throwaway
// passwords, and whether a directory is an smbkrb mount.
package labtool

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Find returns the path of a system tool, looking in the sbin and bin
// directories first (root's tools are often not on a user's PATH), then
// on PATH. The error names the Debian packages that install it.
func Find(name, packages string) (string, error) {
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: install the Debian packages %s (.ci/install-deps does)", name, packages)
}

// Env is the process environment without the variables whose names start
// with one of the prefixes, such as "KRB5" (a developer's KRB5CCNAME or
// KRB5_CONFIG must never reach the lab).
func Env(prefixes ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// Password is a fresh random password that meets Active Directory's
// complexity rules (upper and lower case, digits, a symbol; 29 characters).
func Password() string {
	return "Pw-" + rand.Text()
}

// SmbkrbMounted reports whether dir is the mount point of an `smbkrb
// mount` (a FUSE file system of type fuse.smbkrb) in this mount namespace.
func SmbkrbMounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - TYPE SOURCE OPTIONS
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir && strings.Contains(line, " - fuse.smbkrb ") {
			return true
		}
	}
	return false
}
