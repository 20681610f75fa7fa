package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
)

// defaultCacheName is the cache MIT tools use by default: $KRB5CCNAME, or
// FILE:/tmp/krb5cc_<uid>.
func defaultCacheName(getenv func(string) string) string {
	if c := getenv("KRB5CCNAME"); c != "" {
		return c
	}
	return "FILE:/tmp/krb5cc_" + strconv.Itoa(os.Getuid())
}

// openCache opens the cache the settings name. With memory set and no
// --cache, it is a new MEMORY: cache, destroyed by the returned release.
func (a *app) openCache(k *krb5.Context, o *options, memory bool) (cc *krb5.CCache, release func(), err error) {
	if o.cache == "" && memory {
		cc, err := k.NewMemoryCCache()
		if err != nil {
			return nil, nil, err
		}
		return cc, func() { cc.Destroy() }, nil
	}
	name := o.cache
	if name == "" {
		name = defaultCacheName(a.getenv)
	}
	cc, err = k.OpenCCache(name)
	if err != nil {
		return nil, nil, err
	}
	return cc, func() { cc.Close() }, nil
}

// cacheFile is the path of a FILE: cache (or a bare path, which MIT takes
// as FILE:), or "".
func cacheFile(name string) string {
	if p, ok := strings.CutPrefix(name, "FILE:"); ok {
		return p
	}
	if strings.HasPrefix(name, "/") {
		return name
	}
	return ""
}

// tightenCache makes sure a FILE: cache smbkrb wrote is readable by its
// owner only. MIT creates such files with mode 0600; this guards against
// a cache that existed before with looser permissions.
func tightenCache(name string) error {
	p := cacheFile(name)
	if p == "" {
		return nil
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return os.Chmod(p, 0o600)
	}
	return nil
}

// maxPassword bounds a password read from a file or stdin.
const maxPassword = 4096

// readPassword gets the password of principal from --password-file,
// --password-stdin or, in a terminal, a prompt without echo. The caller
// zeroes the result.
func (a *app) readPassword(cmd string, o *options, principal string) ([]byte, error) {
	switch {
	case o.passwordFile != "" && o.passwordStdin:
		return nil, usagef(cmd, "--password-file and --password-stdin exclude each other")
	case o.passwordFile != "":
		return readPasswordFile(cmd, o.passwordFile)
	case o.passwordStdin:
		return readPasswordLine(a.stdin)
	}
	fd := int(a.stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, settingf(cmd, "give --password-file FILE, --password-stdin or --keytab FILE", "no password for %s: standard input is not a terminal, so there is no prompt", principal)
	}
	// term.ReadPassword turns echo off; Ctrl-C at the prompt must turn it
	// back on before the process ends.
	state, err := term.GetState(fd)
	if err != nil {
		return nil, fmt.Errorf("reading the password: %w", err)
	}
	prompted := make(chan struct{})
	defer close(prompted)
	go func() {
		select {
		case <-a.ctx.Done():
			term.Restore(fd, state)
			fmt.Fprintf(a.stderr, "\nsmbkrb: %s: interrupted\n", cmd)
			os.Exit(exitInterrupted)
		case <-prompted:
		}
	}()
	fmt.Fprintf(a.stderr, "Password for %s: ", principal)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(a.stderr)
	if err != nil {
		clear(pw)
		return nil, fmt.Errorf("reading the password: %w", err)
	}
	if len(pw) == 0 {
		return nil, usagef(cmd, "empty password")
	}
	return pw, nil
}

// readPasswordFile reads the first line of a file that only its owner may
// read.
func readPasswordFile(cmd, path string) ([]byte, error) {
	f, err := openPrivate(cmd, path, "password file")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readPasswordLine(f)
}

// openPrivate opens a regular file that holds a secret (what names it),
// refusing one that the group or others may read or write.
func openPrivate(cmd, path, what string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, settingf(cmd, "", "%s %s is not a regular file", what, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		f.Close()
		return nil, settingf(cmd, "chmod 600 "+path, "%s %s may be read by others (mode %04o), so it is not used", what, path, perm)
	}
	return f, nil
}

// readPasswordLine reads up to the first newline, one byte at a time so
// that nothing after it is consumed and no buffer keeps a copy.
func readPasswordLine(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, 128)
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			if len(buf) == maxPassword {
				clear(buf)
				return nil, errors.New("the password is longer than 4096 bytes: is this the right input?")
			}
			if len(buf) == cap(buf) {
				bigger := make([]byte, len(buf), 2*cap(buf))
				copy(bigger, buf)
				clear(buf)
				buf = bigger
			}
			buf = append(buf, b[0])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			clear(buf)
			return nil, fmt.Errorf("reading the password: %w", err)
		}
	}
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	if len(buf) == 0 {
		return nil, errors.New("reading the password: the input is empty")
	}
	return buf, nil
}

// credentials returns the login the settings ask for: a keytab or a
// password with --user, else nil (the cache's tickets). The password is
// read now, before any timeout starts; forget zeroes it.
func (a *app) credentials(cmd string, o *options) (creds smb.Credentials, forget func(), err error) {
	if o.user == "" {
		if o.keytab != "" || o.passwordFile != "" || o.passwordStdin {
			return nil, nil, usagef(cmd, "--keytab, --password-file and --password-stdin need --user PRINCIPAL")
		}
		return nil, func() {}, nil
	}
	if o.keytab != "" {
		if o.passwordFile != "" || o.passwordStdin {
			return nil, nil, usagef(cmd, "--keytab excludes --password-file and --password-stdin")
		}
		return smb.Keytab(o.user, o.keytab), func() {}, nil
	}
	pw, err := a.readPassword(cmd, o, o.user)
	if err != nil {
		return nil, nil, err
	}
	p := smb.Password(o.user, pw)
	clear(pw)
	if o.enterprise || o.lifetime > 0 {
		p.Options = &krb5.InitCredsOptions{Enterprise: o.enterprise, Lifetime: o.lifetime}
	}
	return p, p.Forget, nil
}
