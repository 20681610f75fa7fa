//go:build linux

package linux

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultKCMSocket is where MIT krb5 (its kcm_socket setting) and the KCM
// daemons (sssd-kcm, Heimdal's kcm) put the KCM socket by default.
const DefaultKCMSocket = "/var/run/.heim_org.h5l.kcm-socket"

// ErrUnavailable is matched (errors.Is) by the errors of
// [KeyringAvailable] and [KCMAvailable] when the cache type is not there.
var ErrUnavailable = errors.New("credential cache type unavailable")

// KeyringAvailable reports whether the kernel's key retention service,
// which KEYRING: caches live in, can be used by this process: nil if so,
// an error matching [ErrUnavailable] that says why not otherwise (a kernel
// without CONFIG_KEYS, or a seccomp filter, as container engines install
// by default, that refuses keyctl).
func KeyringAvailable() error {
	// Asking for the user keyring's ID (creating it if needed, as MIT
	// would) is the smallest call that needs the keys subsystem.
	_, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, true)
	return keyringError(err)
}

// keyringError classifies keyctl's error, for KeyringAvailable and tests.
func keyringError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSYS):
		return fmt.Errorf("KEYRING: caches: the kernel has no key retention service (CONFIG_KEYS): %w", ErrUnavailable)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("KEYRING: caches: keyctl is refused (%v); a container's seccomp profile does this: %w", err, ErrUnavailable)
	default:
		return fmt.Errorf("KEYRING: caches: keyctl: %v: %w", err, ErrUnavailable)
	}
}

// KCMAvailable reports whether a KCM daemon answers on socket ("" means
// [DefaultKCMSocket]): nil if the socket exists and accepts a connection
// within timeout (0 means one second), an error matching [ErrUnavailable]
// otherwise.
func KCMAvailable(socket string, timeout time.Duration) error {
	if socket == "" {
		socket = DefaultKCMSocket
	}
	if timeout == 0 {
		timeout = time.Second
	}
	fi, err := os.Stat(socket)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("KCM: caches: no KCM daemon: %s does not exist (install and start sssd-kcm or Heimdal's kcm): %w", socket, ErrUnavailable)
		}
		return fmt.Errorf("KCM: caches: %v: %w", err, ErrUnavailable)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("KCM: caches: %s is not a socket: %w", socket, ErrUnavailable)
	}
	c, err := net.DialTimeout("unix", socket, timeout)
	if err != nil {
		return fmt.Errorf("KCM: caches: no KCM daemon answers on %s: %v: %w", socket, err, ErrUnavailable)
	}
	c.Close()
	return nil
}
