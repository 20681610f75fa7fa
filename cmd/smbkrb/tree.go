package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/smbkrb/smbkrb/smb"
)

// treeFlags are get's and put's flags for whole trees.
func treeFlags(fs *flag.FlagSet, o *options) {
	fs.BoolVar(&o.recursive, "r", false, "copy a directory and everything below it")
	fs.BoolVar(&o.update, "update", false, "-r: skip files whose copy has the same size and modification time (resumes an interrupted copy)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "-r: say what would be copied, copy nothing")
	fs.IntVar(&o.files, "files", 0, "`N`: -r: files copied at once (default 8)")
	fs.BoolVar(&o.json, "json", false, "-r: print the summary as JSON {files, bytes, skipped, failed, dirs, seconds, failures}")
}

// checkTreeFlags refuses the tree flags without -r.
func checkTreeFlags(cmd string, o *options) error {
	if o.recursive {
		if o.files < 0 {
			return usagef(cmd, "--files takes a positive number")
		}
		if o.inPlace {
			return usagef(cmd, "-r writes every file under a temporary name: --in-place does not apply")
		}
		return nil
	}
	if o.update || o.dryRun || o.files != 0 || o.json {
		return usagef(cmd, "--update, --dry-run, --files and --json go with -r")
	}
	return nil
}

// treeSummaryJSON is --json's summary of a tree copy.
type treeSummaryJSON struct {
	From     string            `json:"from"`
	To       string            `json:"to"`
	DryRun   bool              `json:"dry_run,omitempty"`
	Files    int               `json:"files"`
	Bytes    int64             `json:"bytes"`
	Skipped  int               `json:"skipped"`
	Failed   int               `json:"failed"`
	Dirs     int               `json:"dirs"`
	Seconds  float64           `json:"seconds"`
	Rate     float64           `json:"bytes_per_second"`
	Failures []treeFailureJSON `json:"failures"`
}

type treeFailureJSON struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// treeReport shows a tree copy as it goes: a progress line of files and
// bytes, each file with -v (and each failure always), then the summary.
type treeReport struct {
	a        *app
	o        *options
	cmd      string
	bar      *progressBar
	done     int64
	failures []treeFailureJSON
}

func (a *app) newTreeReport(cmd string, o *options) *treeReport {
	return &treeReport{a: a, o: o, cmd: cmd, bar: a.newProgress(o, cmd+" -r", -1)}
}

// file is TreeOptions.OnFile.
func (t *treeReport) file(f smb.TreeFile) {
	switch f.Action {
	case smb.Copied:
		t.done += f.Size
		if t.bar != nil {
			t.bar.update(t.done, -1)
		}
		t.a.logf("%s %s (%s)", f.Action, f.Path, formatBytes(f.Size))
	case smb.WouldCopy:
		fmt.Fprintf(t.a.stdout, "would copy %s (%s)\n", f.Path, formatBytes(f.Size))
	case smb.Skipped:
		if f.Err != nil {
			fmt.Fprintf(t.a.stderr, "smbkrb: %s -r: skipped %s: %v\n", t.cmd, f.Path, f.Err)
		} else {
			t.a.logf("skipped %s: up to date", f.Path)
		}
	case smb.Failed:
		t.failures = append(t.failures, treeFailureJSON{Path: f.Path, Error: f.Err.Error()})
		fmt.Fprintf(t.a.stderr, "smbkrb: %s -r: failed %s: %v\n", t.cmd, f.Path, f.Err)
	}
}

// finish prints the summary: a line on stderr, or JSON on stdout.
func (t *treeReport) finish(from, to string, s smb.TreeSummary) error {
	if t.bar != nil && t.done > 0 {
		t.bar.finish()
	}
	secs := s.Elapsed.Seconds()
	if t.o.json {
		j := treeSummaryJSON{From: from, To: to, DryRun: t.o.dryRun, Files: s.Files, Bytes: s.Bytes, Skipped: s.Skipped,
			Failed: s.Failed, Dirs: s.Dirs, Seconds: secs, Failures: t.failures}
		if j.Failures == nil {
			j.Failures = []treeFailureJSON{}
		}
		if secs > 0 && !t.o.dryRun {
			j.Rate = float64(s.Bytes) / secs
		}
		return t.a.printJSON(j)
	}
	verb := "copied"
	if t.o.dryRun {
		verb = "would copy"
	}
	files := "files"
	if s.Files == 1 {
		files = "file"
	}
	fmt.Fprintf(t.a.stderr, "smbkrb: %s -r %s -> %s: %s %d %s (%s) in %v", t.cmd, from, to, verb, s.Files, files, formatBytes(s.Bytes), s.Elapsed.Round(time.Millisecond))
	if !t.o.dryRun && secs > 0 {
		fmt.Fprintf(t.a.stderr, ", %s/s", formatBytes(int64(float64(s.Bytes)/secs)))
	}
	fmt.Fprintf(t.a.stderr, "; %d skipped, %d failed\n", s.Skipped, s.Failed)
	return nil
}

// treeOptions are the smb.TreeOptions of the settings.
func (t *treeReport) options() *smb.TreeOptions {
	return &smb.TreeOptions{
		Files: t.o.files, Update: t.o.update, DryRun: t.o.dryRun, OnFile: t.file,
		Transfer: smb.TransferOptions{Parallel: t.o.parallel, ChunkSize: int(t.o.chunk.n)},
	}
}

// treeFailed is the error of a tree copy whose files failed: each was
// reported as it failed, so the last line only counts them. Its class is
// that of the files' errors.
type treeFailed struct{ te *smb.TreeError }

func (e treeFailed) Error() string {
	if e.te.Failed == 1 {
		return "1 file failed (shown above); the others were copied"
	}
	return fmt.Sprintf("%d files failed (shown above); the others were copied", e.te.Failed)
}

func (e treeFailed) Unwrap() error { return e.te }

// treeErr shortens a *smb.TreeError for the last line.
func treeErr(err error) error {
	var te *smb.TreeError
	if errors.As(err, &te) {
		return treeFailed{te}
	}
	return err
}

// cmdGetTree is get -r //server/share/dir [LOCAL]: LOCAL (default: the
// directory's name) receives the tree.
func cmdGetTree(ctx context.Context, a *app, o *options, args []string) error {
	r, err := parseRemote("get", args[0])
	if err != nil {
		return err
	}
	local := r.base()
	if local == "" {
		local = r.share
	}
	if len(args) > 1 {
		local = args[1]
	}
	if local == "-" {
		return usagef("get", "get -r writes a tree of files: give a local directory, not -")
	}
	if fi, err := os.Stat(local); err == nil && !fi.IsDir() {
		return usagef("get", "%s is a file: get -r needs a directory (it is made if missing)", local)
	}
	_, c, err := a.start(ctx, "get", o, args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	a.what = fmt.Sprintf("get -r %s -> %s", r, local)
	rep := a.newTreeReport("get", o)
	sum, err := c.share.GetTree(ctx, r.path, local, rep.options())
	if ferr := rep.finish(r.String(), local, sum); err == nil {
		err = ferr
	}
	return treeErr(err)
}

// cmdPutTree is put -r LOCAL //server/share/dir: the tree under LOCAL
// goes into dir (made if missing).
func cmdPutTree(ctx context.Context, a *app, o *options, args []string) error {
	local := args[0]
	if local == "-" {
		return usagef("put", "put -r copies a tree of files: give a local directory, not -")
	}
	fi, err := os.Stat(local)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return usagef("put", "%s is not a directory: put -r copies a directory (put without -r copies a file)", local)
	}
	r, err := parseRemote("put", args[1])
	if err != nil {
		return err
	}
	_, c, err := a.start(ctx, "put", o, args[1])
	if err != nil {
		return err
	}
	defer c.Close()
	a.what = fmt.Sprintf("put -r %s -> %s", local, r)
	rep := a.newTreeReport("put", o)
	sum, err := c.share.PutTree(ctx, local, r.path, rep.options())
	if ferr := rep.finish(local, r.String(), sum); err == nil {
		err = ferr
	}
	return treeErr(err)
}

// lsRecursive is ls -R: every entry below r.path, by path relative to it,
// directories first in each.
func lsRecursive(ctx context.Context, a *app, o *options, sh *smb.Share, root string) error {
	var out []fileJSON
	var walk func(rel string) error
	walk = func(rel string) error {
		octx, cancel := opCtx(ctx, o)
		list, err := sh.ReadDir(octx, path.Join(root, rel))
		cancel()
		if err != nil {
			return err
		}
		for _, fi := range list {
			p := path.Join(rel, fi.Name())
			j := toJSON(fi)
			j.Path = p
			switch {
			case o.json:
				out = append(out, j)
			case o.long:
				fmt.Fprintf(a.stdout, "%s %12d %s %s\n", fi.Mode(), fi.Size(), fi.ModTime().Local().Format("2006-01-02 15:04"), displayPath(p, fi))
			default:
				fmt.Fprintln(a.stdout, displayPath(p, fi))
			}
			if fi.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return err
	}
	if o.json {
		if out == nil {
			out = []fileJSON{}
		}
		return a.printJSON(out)
	}
	return nil
}

// displayPath is p with a trailing "/" for a directory.
func displayPath(p string, fi fs.FileInfo) string {
	if fi.IsDir() {
		return p + "/"
	}
	return p
}
