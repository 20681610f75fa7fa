//go:build linux

package linux

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// StateDir is the directory where smbkrb keeps its state on this machine:
// the device identity (see [DeviceDir]) and the credential caches that must
// outlive a process (see [CCacheDir]). It is, in order:
//
//   - $STATE_DIRECTORY, which systemd sets for a service with
//     StateDirectory= (the first entry when it lists several);
//   - /var/lib/smbkrb when running as root;
//   - $XDG_STATE_HOME/smbkrb when XDG_STATE_HOME is an absolute path;
//   - ~/.local/state/smbkrb.
//
// StateDir only names the directory; the caller creates it, with mode
// 0700, because it holds keys.
func StateDir() (string, error) {
	return stateDir(os.Getenv, os.Geteuid(), os.UserHomeDir)
}

// stateDir is StateDir with its inputs as arguments, for tests.
func stateDir(getenv func(string) string, euid int, home func() (string, error)) (string, error) {
	if s := getenv("STATE_DIRECTORY"); s != "" {
		// systemd separates several directories with colons.
		first, _, _ := strings.Cut(s, ":")
		if filepath.IsAbs(first) {
			return filepath.Clean(first), nil
		}
	}
	if euid == 0 {
		return "/var/lib/smbkrb", nil
	}
	if x := getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "smbkrb"), nil
	}
	h, err := home()
	if err != nil || h == "" {
		return "", errors.New("platform/linux: no state directory: set STATE_DIRECTORY, XDG_STATE_HOME or HOME")
	}
	return filepath.Join(h, ".local", "state", "smbkrb"), nil
}

// DeviceDir is where the Entra device identity (device key, transport
// key, certificate) lives: "device" under [StateDir].
func DeviceDir() (string, error) {
	s, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(s, "device"), nil
}

// CCacheDir is the directory for credential caches that must outlive a
// process, such as a DIR: cache collection: "ccache" under [StateDir].
// smbkrb's default cache is still MEMORY:; this is where a persistent one
// goes when the caller asks for one.
func CCacheDir() (string, error) {
	s, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(s, "ccache"), nil
}
