//go:build !(arm || 386 || mips || mipsle)

package smbfuse

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/smb"
)

func TestToErrno(t *testing.T) {
	wrap := func(err error) error { return &smb.Error{Op: "write", Server: "fs1", Path: "data/x", Err: err} }
	for _, c := range []struct {
		err  error
		want syscall.Errno
	}{
		{nil, 0},
		{wrap(smb.StatusObjectNameNotFound), syscall.ENOENT},
		{wrap(smb.StatusObjectPathNotFound), syscall.ENOENT},
		{wrap(smb.StatusObjectNameCollision), syscall.EEXIST},
		{wrap(smb.StatusAccessDenied), syscall.EACCES},
		{wrap(smb.StatusMediaWriteProtected), syscall.EROFS},
		{wrap(smb.StatusDiskFull), syscall.ENOSPC},
		{wrap(statusQuotaExceeded), syscall.EDQUOT},
		{wrap(smb.StatusDirectoryNotEmpty), syscall.ENOTEMPTY},
		{wrap(smb.StatusNotADirectory), syscall.ENOTDIR},
		{wrap(smb.StatusFileIsADirectory), syscall.EISDIR},
		{wrap(smb.StatusSharingViolation), syscall.EBUSY},
		{wrap(smb.StatusObjectNameInvalid), syscall.EINVAL},
		{wrap(smb.Status(0xC0001234)), syscall.EIO},
		{wrap(context.DeadlineExceeded), syscall.EIO},
		{fmt.Errorf("lost: %w", syscall.ECONNRESET), syscall.ECONNRESET},
		{wrap(context.Canceled), syscall.EINTR},
		{fmt.Errorf("x: %w", fs.ErrPermission), syscall.EACCES},
		{errors.New("anything else"), syscall.EIO},
	} {
		if got := toErrno(c.err); got != c.want {
			t.Errorf("toErrno(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestNames(t *testing.T) {
	for name, want := range map[string]bool{
		".report.pdf.smbkrb-0a1b2c3d4e5f.part": true,
		"report.pdf":                           false,
		".hidden":                              false,
		"x.smbkrb-1.part":                      false,
	} {
		if isStagingName(name) != want {
			t.Errorf("isStagingName(%q) = %v", name, !want)
		}
	}
	if validName(`a\b`) != syscall.EINVAL || validName("a b") != 0 {
		t.Error("validName: a backslash must be refused, a space not")
	}
}

func TestDirCache(t *testing.T) {
	var c dirCache
	c.m = map[string]*dirList{}
	fi := &stagedInfo{name: "a.txt", size: 3}
	c.put("/d", []fs.FileInfo{fi}, time.Now())
	if c.get("/d", "a.txt", time.Second) != fi || c.get("/d", "b.txt", time.Second) != nil {
		t.Fatal("a fresh listing answers for its names only")
	}
	c.put("/old", []fs.FileInfo{fi}, time.Now().Add(-2*time.Second))
	if c.get("/old", "a.txt", time.Second) != nil {
		t.Fatal("an expired listing still answered")
	}
	c.drop("/d")
	if c.get("/d", "a.txt", time.Second) != nil {
		t.Fatal("a dropped listing still answered")
	}
	for i := range 1000 {
		c.put(fmt.Sprint("/many/", i), nil, time.Now())
	}
	if len(c.m) > 256 {
		t.Errorf("%d listings kept, the bound is 256", len(c.m))
	}
}

// The watchdog ends work that stops making progress, and leaves work
// that moves alone however long it takes.
func TestWatchdog(t *testing.T) {
	var done atomic.Int64
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-ctx.Done(); errc <- ctx.Err() }()
	err := watchdog(errc, &done, 50*time.Millisecond, cancel)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a stalled transfer: %v", err)
	}
	errc = make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		for i := range 20 {
			done.Store(int64(i + 1))
			time.Sleep(10 * time.Millisecond)
		}
		close(stop)
		errc <- nil
	}()
	if err := watchdog(errc, &done, 60*time.Millisecond, func() { t.Error("cancelled a transfer that moved") }); err != nil {
		t.Fatal(err)
	}
	<-stop
}
