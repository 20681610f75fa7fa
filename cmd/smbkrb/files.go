package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/internal/localfile"
	"github.com/smbkrb/smbkrb/smb"
)

// fileJSON is a directory entry in --json output.
type fileJSON struct {
	Name  string `json:"name"`
	Path  string `json:"path,omitempty"`
	Size  int64  `json:"size"`
	Mode  string `json:"mode"`
	Dir   bool   `json:"dir"`
	MTime string `json:"mtime"`
}

func toJSON(fi fs.FileInfo) fileJSON {
	return fileJSON{
		Name:  fi.Name(),
		Size:  fi.Size(),
		Mode:  fi.Mode().String(),
		Dir:   fi.IsDir(),
		MTime: fi.ModTime().UTC().Format(time.RFC3339),
	}
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// start parses a remote path argument, records it for messages and
// connects.
func (a *app) start(ctx context.Context, cmd string, o *options, arg string) (remotePath, *conn, error) {
	r, err := parseRemote(cmd, arg)
	if err != nil {
		return r, nil, err
	}
	if r.isAddress() && o.spn == "" {
		// The service principal comes from the name, never an address.
		return r, nil, usagef(cmd, "%s is an address, but Kerberos needs the server's name: write //NAME/%s/... with --addr NAME=%s (or name the service principal with --spn)", r.host, r.share, r.host)
	}
	a.what = describe(cmd, r)
	a.hints.server = r.host
	a.hints.path = r.String()
	c, err := a.connect(ctx, cmd, o, r)
	return r, c, err
}

func cmdLs(ctx context.Context, a *app, o *options, args []string) error {
	r, c, err := a.start(ctx, "ls", o, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	if o.recursive {
		return lsRecursive(ctx, a, o, c.share, r.path)
	}
	octx, cancel := opCtx(ctx, o)
	defer cancel()
	var list []fs.FileInfo
	if r.path != "" {
		fi, err := c.share.Stat(octx, r.path)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			list = []fs.FileInfo{fi}
		}
	}
	if list == nil {
		if list, err = c.share.ReadDir(octx, r.path); err != nil {
			return err
		}
	}
	switch {
	case o.json:
		out := make([]fileJSON, 0, len(list))
		for _, fi := range list {
			out = append(out, toJSON(fi))
		}
		return a.printJSON(out)
	case o.long:
		width := 1
		for _, fi := range list {
			width = max(width, len(strconv.FormatInt(fi.Size(), 10)))
		}
		for _, fi := range list {
			fmt.Fprintf(a.stdout, "%s %*d %s %s\n", fi.Mode(), width, fi.Size(), fi.ModTime().Local().Format("2006-01-02 15:04"), displayName(fi))
		}
	default:
		for _, fi := range list {
			fmt.Fprintln(a.stdout, displayName(fi))
		}
	}
	return nil
}

// displayName is the entry's name, with a trailing "/" for a directory.
func displayName(fi fs.FileInfo) string {
	if fi.IsDir() {
		return fi.Name() + "/"
	}
	return fi.Name()
}

func cmdStat(ctx context.Context, a *app, o *options, args []string) error {
	r, c, err := a.start(ctx, "stat", o, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	octx, cancel := opCtx(ctx, o)
	defer cancel()
	fi, err := c.share.Stat(octx, r.path)
	if err != nil {
		return err
	}
	if o.json {
		j := toJSON(fi)
		j.Path = r.String()
		return a.printJSON(j)
	}
	kind := "file"
	if fi.IsDir() {
		kind = "directory"
	}
	fmt.Fprintf(a.stdout, "path:  %s\ntype:  %s\nsize:  %d (%s)\nmode:  %s\nmtime: %s\n",
		r, kind, fi.Size(), formatBytes(fi.Size()), fi.Mode(), fi.ModTime().Local().Format(time.RFC3339))
	return nil
}

func cmdGet(ctx context.Context, a *app, o *options, args []string) error {
	if err := checkTreeFlags("get", o); err != nil {
		return err
	}
	if o.recursive {
		return cmdGetTree(ctx, a, o, args)
	}
	r, err := parseRemote("get", args[0])
	if err != nil {
		return err
	}
	if r.path == "" {
		return usagef("get", "%s names a share, not a file", r)
	}
	local := r.base()
	if len(args) > 1 {
		local = args[1]
	}
	_, c, err := a.start(ctx, "get", o, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	octx, cancel := opCtx(ctx, o)
	fi, err := c.share.Stat(octx, r.path)
	cancel()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory: get copies one file", r)
	}

	var out io.Writer = a.stdout
	var tmp *localfile.Atomic
	if local != "-" {
		if st, err := os.Stat(local); err == nil && st.IsDir() || strings.HasSuffix(local, "/") {
			local = filepath.Join(local, r.base())
		}
		a.what = fmt.Sprintf("get %s -> %s", r, local)
		tmp, err = localfile.Create(local)
		if err != nil {
			return err
		}
		defer tmp.Abort()
		out = tmp
	}
	var h hash.Hash
	if o.verbose {
		h = sha256.New()
		out = io.MultiWriter(out, h)
	}
	bar := a.newProgress(o, r.base(), fi.Size())
	begin := time.Now()
	n, err := c.share.Get(ctx, r.path, out, &smb.TransferOptions{Progress: bar.fn()})
	bar.finish()
	if err != nil {
		return err
	}
	if tmp != nil {
		if err := tmp.Commit(); err != nil {
			return err
		}
	}
	a.logTransfer("got", r.String(), local, n, time.Since(begin), h)
	return nil
}

func cmdPut(ctx context.Context, a *app, o *options, args []string) error {
	if err := checkTreeFlags("put", o); err != nil {
		return err
	}
	if o.recursive {
		return cmdPutTree(ctx, a, o, args)
	}
	local := args[0]
	r, err := parseRemote("put", args[1])
	if err != nil {
		return err
	}
	if local == "-" && o.passwordStdin {
		return usagef("put", "standard input cannot carry both the password and the data: use --password-file or --keytab")
	}
	var src io.Reader
	size := int64(-1)
	if local == "-" {
		if st, err := a.stdin.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	} else {
		f, err := os.Open(local)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.IsDir() {
			return usagef("put", "%s is a directory: put copies one file", local)
		}
		src, size = f, st.Size()
	}
	if local == "-" && (r.path == "" || r.dirSyntax) {
		return usagef("put", "%s is a directory: give the name of the file to write from stdin", r)
	}
	_, c, err := a.start(ctx, "put", o, args[1])
	if err != nil {
		return err
	}
	defer c.Close()
	// On Ctrl-C the source fails rather than the connection: Put then
	// still has a working connection to remove its temporary file.
	if local == "-" {
		// Only now: a password prompt may have read stdin first.
		src = cancelableReader(ctx, a.stdin)
	} else {
		src = &interruptibleReader{ctx: ctx, r: src}
	}
	target := r
	if r.path == "" || r.dirSyntax {
		target = r.join(filepath.Base(local))
	} else {
		octx, cancel := opCtx(ctx, o)
		fi, err := c.share.Stat(octx, r.path)
		cancel()
		if err == nil && fi.IsDir() {
			if local == "-" {
				return usagef("put", "%s is a directory: give the name of the file to write from stdin", r)
			}
			target = r.join(filepath.Base(local))
		}
	}
	a.what = fmt.Sprintf("put %s -> %s", local, target)
	a.hints.path = target.String()
	var h hash.Hash
	if o.verbose {
		h = sha256.New()
		src = io.TeeReader(src, h)
	}
	bar := a.newProgress(o, target.base(), size)
	begin := time.Now()
	n, err := c.share.Put(context.WithoutCancel(ctx), target.path, src, &smb.PutOptions{
		InPlace:         o.inPlace,
		TransferOptions: smb.TransferOptions{Progress: bar.fn()},
	})
	bar.finish()
	if err != nil {
		return err
	}
	a.logTransfer("put", local, target.String(), n, time.Since(begin), h)
	return nil
}

// logTransfer reports a finished transfer with --verbose.
func (a *app) logTransfer(verb, from, to string, n int64, d time.Duration, h hash.Hash) {
	if !a.verbose {
		return
	}
	sum := ""
	if h != nil {
		sum = ", sha256 " + hex.EncodeToString(h.Sum(nil))
	}
	a.logf("%s %s -> %s: %d bytes (%s) in %v, %s/s%s", verb, from, to, n, formatBytes(n), d.Round(time.Millisecond), formatBytes(rate(n, d)), sum)
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

func cmdRm(ctx context.Context, a *app, o *options, args []string) error {
	r, err := parseRemote("rm", args[0])
	if err != nil {
		return err
	}
	if r.path == "" {
		return usagef("rm", "%s is a share: rm removes a file or an empty directory in it", r)
	}
	_, c, err := a.start(ctx, "rm", o, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	octx, cancel := opCtx(ctx, o)
	defer cancel()
	if err := c.share.Remove(octx, r.path); err != nil {
		return err
	}
	a.logf("removed %s", r)
	return nil
}

func cmdMkdir(ctx context.Context, a *app, o *options, args []string) error {
	r, err := parseRemote("mkdir", args[0])
	if err != nil {
		return err
	}
	if r.path == "" {
		if o.parents {
			return nil
		}
		return usagef("mkdir", "%s is a share: name the directory to make in it", r)
	}
	_, c, err := a.start(ctx, "mkdir", o, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	octx, cancel := opCtx(ctx, o)
	defer cancel()
	if o.parents {
		err = c.share.MkdirAll(octx, r.path)
	} else {
		err = c.share.Mkdir(octx, r.path)
	}
	if err != nil {
		return err
	}
	a.logf("made %s", r)
	return nil
}

func cmdMv(ctx context.Context, a *app, o *options, args []string) error {
	from, err := parseRemote("mv", args[0])
	if err != nil {
		return err
	}
	to, err := parseRemote("mv", args[1])
	if err != nil {
		return err
	}
	if !strings.EqualFold(from.host, to.host) || from.port != to.port || !strings.EqualFold(from.share, to.share) {
		return usagef("mv", "mv moves within one share, but %s and %s are on different shares or servers: copy with get and put, then rm", from, to)
	}
	if from.path == "" {
		return usagef("mv", "%s is a share: mv moves a file or directory in it", from)
	}
	_, c, err := a.start(ctx, "mv", o, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	octx, cancel := opCtx(ctx, o)
	defer cancel()
	if to.path == "" || to.dirSyntax {
		to = to.join(from.base())
	} else if fi, err := c.share.Stat(octx, to.path); err == nil && fi.IsDir() {
		to = to.join(from.base())
	}
	a.what = fmt.Sprintf("mv %s -> %s", from, to)
	if err := c.share.Rename(octx, from.path, to.path); err != nil {
		return err
	}
	a.logf("moved %s -> %s", from, to)
	return nil
}

// cancelableReader reads r in a goroutine of its own, so that a Read
// waiting on a pipe that gives nothing returns when ctx is canceled (an
// upload from stdin can then be interrupted and clean up).
func cancelableReader(ctx context.Context, r io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err)
	}()
	go func() {
		<-ctx.Done()
		pr.CloseWithError(ctx.Err())
	}()
	return pr
}

// interruptibleReader fails once ctx is canceled.
type interruptibleReader struct {
	ctx context.Context
	r   io.Reader
}

func (ir *interruptibleReader) Read(p []byte) (int, error) {
	if err := ir.ctx.Err(); err != nil {
		return 0, err
	}
	return ir.r.Read(p)
}
