//go:build !(arm || 386 || mips || mipsle)

package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/smbkrb/smbkrb/smbfuse"
)

func cmdMount(ctx context.Context, a *app, o *options, args []string) error {
	mp := args[1]
	if st, err := os.Stat(mp); err != nil {
		return usagef("mount", "the mount point: %v", err)
	} else if !st.IsDir() {
		return usagef("mount", "the mount point %s is not a directory", mp)
	}
	o.keepLogin = true
	r, c, err := a.start(ctx, "mount", o, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	attr := o.attrTimeout
	if attr == 0 {
		attr = -1 // smbfuse: no caching
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(a.stderr, "smbkrb: mount %s: "+format+"\n", append([]any{r}, args...)...)
	}
	m, err := smbfuse.New(c.share, r.path, mp, &smbfuse.Options{
		UID: o.uid, GID: o.gid, FileMode: o.fileMode.m, DirMode: o.dirMode.m,
		ReadOnly: o.readOnly, AttrTimeout: attr, Timeout: o.timeout,
		StagingDir: o.stagingDir, AllowOther: o.allowOther,
		Name: r.String(), Logf: logf, Debug: o.fuseDebug,
	})
	if err != nil {
		return err
	}
	if !o.quiet {
		si := c.share.Info()
		prot := "signed"
		if si.Encrypted {
			prot = "encrypted"
		}
		ro := ""
		if o.readOnly {
			ro = ", read-only"
		}
		fmt.Fprintf(a.stderr, "smbkrb: %s mounted on %s (%s%s); Ctrl-C, SIGTERM or `fusermount3 -u %s` unmounts\n", r, mp, prot, ro, mp)
	}
	done := make(chan struct{})
	go func() { m.Wait(); close(done) }()
	select {
	case <-done:
		// Unmounted from outside: every file was closed, and so flushed.
		a.logf("%s unmounted", mp)
		return m.Flush(context.Background())
	case <-ctx.Done():
	}
	err = m.Unmount(mountGrace)
	select {
	case <-done:
	case <-time.After(mountGrace):
	}
	if err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(a.stderr, "smbkrb: %s unmounted from %s\n", r, mp)
	}
	return nil
}
