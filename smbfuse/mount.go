//go:build !(arm || 386 || mips || mipsle)

package smbfuse

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/smbkrb/smbkrb/smb"
)

// Options configure a mount. Nil Options give a read-write mount owned by
// the calling user, files 0644 and directories 0755, attributes cached for
// 1 s, every server operation bounded by 60 s; in Options of one's own,
// zero fields take those defaults, except UID and GID (0 is root: -1 is the
// caller).
type Options struct {
	// UID and GID own every file and directory; -1 means the calling
	// process's own, 0 root.
	UID, GID int
	// FileMode and DirMode are the permission bits of files and
	// directories (0: 0644 and 0755). A file with the read-only attribute,
	// and everything on a ReadOnly mount, loses its write bits.
	FileMode, DirMode fs.FileMode
	// ReadOnly mounts read-only: the kernel refuses every change with
	// EROFS before it reaches the server.
	ReadOnly bool
	// AttrTimeout is how long the kernel and the mount may use attributes
	// and directory listings before asking the server again (0: 1 s;
	// negative: not at all).
	AttrTimeout time.Duration
	// Timeout bounds each server operation, and how long an upload or a
	// read-ahead may go without progress (0: 60 s).
	Timeout time.Duration
	// StagingDir is where files open for writing are staged (""
	// os.TempDir()). It needs room for the largest file written at once.
	StagingDir string
	// AllowOther lets other users than the one mounting use the mount
	// (FUSE's allow_other; for a non-root user it needs user_allow_other
	// in /etc/fuse.conf).
	AllowOther bool
	// Name is the mount's source as mount(8) and df show it, such as
	// //server/share (default "smbkrb").
	Name string
	// Logf, if set, receives what a program cannot be told: the full
	// error behind an EIO, an upload that failed after the last close.
	Logf func(format string, args ...any)
	// Debug logs every FUSE request through Logf.
	Debug bool
}

func (o Options) withDefaults() Options {
	if o.UID < 0 {
		o.UID = os.Getuid()
	}
	if o.GID < 0 {
		o.GID = os.Getgid()
	}
	if o.FileMode == 0 {
		o.FileMode = 0o644
	}
	if o.DirMode == 0 {
		o.DirMode = 0o755
	}
	switch {
	case o.AttrTimeout == 0:
		o.AttrTimeout = time.Second
	case o.AttrTimeout < 0:
		o.AttrTimeout = 0
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.StagingDir == "" {
		o.StagingDir = os.TempDir()
	}
	if o.Name == "" {
		o.Name = "smbkrb"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// A Mount is a share directory served at a mount point.
type Mount struct {
	fsys   *fileSystem
	server *fuse.Server
	dir    string
	dev    uint64 // the mount's device: its FUSE connection's number

	unmountOnce sync.Once
	unmountErr  error
}

// New mounts the directory dir of sh ("" for the share root) at
// mountpoint, an existing empty directory, and serves it until Unmount,
// or until it is unmounted from outside (fusermount -u, umount). The share
// must stay open while the mount is served.
func New(sh *smb.Share, dir, mountpoint string, opts *Options) (*Mount, error) {
	var o Options
	if opts != nil {
		o = *opts
	} else {
		o.UID, o.GID = -1, -1
	}
	o = o.withDefaults()
	dir = strings.Trim(path.Clean("/"+strings.ReplaceAll(dir, `\`, "/")), "/")
	if st, err := os.Stat(o.StagingDir); err != nil {
		return nil, fmt.Errorf("smbfuse: the staging directory: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("smbfuse: the staging directory %s is not a directory", o.StagingDir)
	}

	ctx, cancel := context.WithCancel(context.Background())
	fsys := &fileSystem{sh: sh, root: dir, o: o, ctx: ctx, cancel: cancel, staged: map[*staging]struct{}{}}
	fsys.dirs.m = map[string]*dirList{}

	// The root must be a directory the user may list.
	sctx, scancel := context.WithTimeout(ctx, o.Timeout)
	fi, err := sh.Stat(sctx, dir)
	scancel()
	if err != nil {
		cancel()
		return nil, err
	}
	if !fi.IsDir() {
		cancel()
		return nil, fmt.Errorf("smbfuse: %s is not a directory", dir)
	}

	ttl := o.AttrTimeout
	neg := time.Duration(0) // a file another client creates is seen at once
	mo := fuse.MountOptions{
		AllowOther:    o.AllowOther,
		FsName:        o.Name,
		Name:          "smbkrb",
		MaxWrite:      1 << 20,
		MaxBackground: 64,
		DisableXAttrs: true,
		DirectMount:   true,
		// O_TRUNC comes with the open (not as a later SETATTR), so that
		// an open that truncates does not first copy the old content.
		ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC,
		Debug:             o.Debug,
	}
	if o.ReadOnly {
		mo.Options = append(mo.Options, "ro")
	}
	if o.Debug {
		mo.Logger = logWriter(o.Logf)
	}
	root := &node{fsys: fsys}
	server, err := gofs.Mount(mountpoint, root, &gofs.Options{
		MountOptions:    mo,
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &neg,
		UID:             uint32(o.UID),
		GID:             uint32(o.GID),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("smbfuse: mounting on %s: %w", mountpoint, err)
	}
	m := &Mount{fsys: fsys, server: server, dir: mountpoint}
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err == nil {
		m.dev = st.Dev
	}
	return m, nil
}

// Wait blocks until the file system is unmounted, by Unmount or from
// outside.
func (m *Mount) Wait() { m.server.Wait() }

// Flush waits for the files closed last to finish closing, then uploads
// every file staged for writing that has changes not yet on the server
// (what a close would upload), and reports the first failure; the others
// are logged.
func (m *Mount) Flush(ctx context.Context) error {
	m.waitReleases(m.fsys.o.Timeout)
	return m.fsys.flushAll(ctx)
}

// Unmount flushes what is staged and unmounts. When programs still have
// files open, the mount point is detached at once (MNT_DETACH) and those
// files are served for up to grace more, then the connection ends (their
// next operations fail with ENOTCONN); what they write meanwhile is
// flushed too. Unmount may be called more than once.
func (m *Mount) Unmount(grace time.Duration) error {
	m.unmountOnce.Do(func() { m.unmountErr = m.unmount(grace) })
	return m.unmountErr
}

func (m *Mount) unmount(grace time.Duration) error {
	ctx := context.Background()
	ferr := m.fsys.flushAll(ctx)
	// The unmount waits for the requests being served; one stuck on the
	// server must not hold it past the grace period.
	errc := make(chan error, 1)
	go func() { errc <- m.server.Unmount() }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(grace):
		m.fsys.o.Logf("%s: requests still being served after %v: ending the FUSE connection", m.dir, grace)
		if aerr := abortConnection(m.dev); aerr != nil {
			m.fsys.o.Logf("%s: ending the FUSE connection: %v", m.dir, aerr)
		}
		syscall.Unmount(m.dir, syscall.MNT_DETACH)
		m.fsys.cancel()
		return ferr
	}
	if err != nil {
		// Busy: programs hold files open. Detach, serve them a little
		// longer, then end.
		if derr := syscall.Unmount(m.dir, syscall.MNT_DETACH); derr != nil {
			return errors.Join(ferr, fmt.Errorf("smbfuse: unmounting %s: %w (detaching: %v)", m.dir, err, derr))
		}
		m.fsys.o.Logf("%s: files are still open: detached; serving them for %v more", m.dir, grace)
		done := make(chan struct{})
		go func() { m.server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(grace):
		}
		ferr = errors.Join(ferr, m.fsys.flushAll(ctx))
		select {
		case <-done:
		default:
			if aerr := abortConnection(m.dev); aerr != nil {
				m.fsys.o.Logf("%s: ending the FUSE connection: %v", m.dir, aerr)
			}
		}
	}
	m.waitReleases(grace)
	m.fsys.cancel()
	return ferr
}

// waitReleases waits up to d for the releases still finishing.
func (m *Mount) waitReleases(d time.Duration) {
	done := make(chan struct{})
	go func() { m.fsys.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		m.fsys.o.Logf("%s: closing files on the server did not finish within %v", m.dir, d)
	}
}

// logWriter adapts Logf to go-fuse's *log.Logger for Debug.
func logWriter(logf func(string, ...any)) *log.Logger {
	return log.New(logfWriter(logf), "fuse: ", 0)
}

type logfWriter func(string, ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// abortConnection ends the FUSE connection of the mount whose device
// is dev through the fusectl file system, as `echo 1 > .../abort` does:
// every request still pending, and every later one, fails with ENOTCONN.
func abortConnection(dev uint64) error {
	const ctl = "/sys/fs/fuse/connections"
	if _, err := os.Stat(ctl + "/."); err != nil {
		return err
	}
	f := fmt.Sprintf("%s/%d/abort", ctl, unix.Minor(dev))
	if _, err := os.Stat(f); err != nil {
		// fusectl not mounted: mount it (as root), as the kernel's
		// documentation does.
		if merr := syscall.Mount("fusectl", ctl, "fusectl", 0, ""); merr != nil {
			return fmt.Errorf("%v (mounting fusectl: %v)", err, merr)
		}
	}
	return os.WriteFile(f, []byte("1"), 0)
}
