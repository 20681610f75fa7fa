package smb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smbkrb/smbkrb/internal/localfile"
)

// TreeOptions tune GetTree and PutTree.
type TreeOptions struct {
	// Files is how many files are copied at once on the session; 0 means
	// 8. Each file's own requests come on top (Transfer.Parallel).
	Files int
	// Update skips a file whose copy exists with the same size and the
	// same modification time (to the second): what resumes an
	// interrupted copy, moving only what is missing or changed.
	Update bool
	// DryRun walks the tree and reports each file that would be copied
	// (WouldCopy), copying nothing and making no directory.
	DryRun bool
	// Transfer tunes each file's Get or Put; its Progress is not called
	// (OnFile reports each file).
	Transfer TransferOptions
	// OnFile, if set, is called once per file when it is done: copied,
	// skipped or failed. Calls never overlap.
	OnFile func(TreeFile)
}

// TreeAction is what a tree copy did with one file.
type TreeAction int

// The actions.
const (
	// Copied: the file was copied whole, under a temporary name renamed
	// into place, with its modification time.
	Copied TreeAction = iota
	// Skipped: with Update, the copy was already there; or the entry is
	// not a regular file (a symbolic link, a device), Err saying so.
	Skipped
	// Failed: Err says why; the destination holds no partial file.
	Failed
	// WouldCopy: DryRun.
	WouldCopy
)

func (a TreeAction) String() string {
	switch a {
	case Copied:
		return "copied"
	case Skipped:
		return "skipped"
	case Failed:
		return "failed"
	case WouldCopy:
		return "would copy"
	}
	return fmt.Sprintf("TreeAction(%d)", int(a))
}

// TreeFile is the outcome for one file (or one directory that could not
// be listed or made) of a tree copy.
type TreeFile struct {
	// Path is relative to the tree's root, with '/' between names.
	Path string
	// Size is the file's size at the source.
	Size   int64
	Action TreeAction
	Err    error
}

// TreeSummary counts a tree copy.
type TreeSummary struct {
	// Files were copied (with DryRun: would be), Skipped and Failed as
	// their TreeAction says; Dirs were made or found at the destination.
	Files, Skipped, Failed, Dirs int
	// Bytes were copied (with DryRun: would be).
	Bytes int64
	// Elapsed is the whole copy's wall time.
	Elapsed time.Duration
}

// TreeError is GetTree's and PutTree's error when files failed: the
// others were copied. errors.Is and errors.As see each file's error.
type TreeError struct {
	// Failed is the number of failed entries; Errs holds the first ones
	// (at most 10), each naming its path.
	Failed int
	Errs   []error
}

func (e *TreeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d file", e.Failed)
	if e.Failed != 1 {
		b.WriteString("s")
	}
	b.WriteString(" failed")
	for i, err := range e.Errs {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", e.Failed-3)
			break
		}
		b.WriteString("; ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the files' errors.
func (e *TreeError) Unwrap() []error { return e.Errs }

// maxTreeErrs bounds TreeError.Errs.
const maxTreeErrs = 10

// treeJob is one file to copy.
type treeJob struct {
	rel   string // relative path, '/'
	size  int64
	mtime time.Time
}

// treeRun is the machinery GetTree and PutTree share: a walk that
// enqueues files, workers that copy them, and the tally.
type treeRun struct {
	opts    TreeOptions
	mu      sync.Mutex
	sum     TreeSummary
	errs    []error
	results chan TreeFile
}

func newTreeRun(opts *TreeOptions) *treeRun {
	r := &treeRun{results: make(chan TreeFile, 64)}
	if opts != nil {
		r.opts = *opts
	}
	r.opts.Transfer.Progress = nil
	if r.opts.Files <= 0 {
		r.opts.Files = 8
	}
	return r
}

// run walks with walk, which calls enqueue for each file and report for
// entries it cannot walk, and copies each file with copyOne.
func (r *treeRun) run(ctx context.Context, walk func(enqueue func(treeJob), report func(TreeFile)) error,
	copyOne func(ctx context.Context, j treeJob) (TreeAction, error)) (TreeSummary, error) {
	begin := time.Now()
	jobs := make(chan treeJob)
	var workers sync.WaitGroup
	for range r.opts.Files {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				a, err := copyOne(ctx, j)
				r.results <- TreeFile{Path: j.rel, Size: j.size, Action: a, Err: err}
			}
		}()
	}
	tally := make(chan struct{})
	go func() {
		defer close(tally)
		for f := range r.results {
			r.count(f)
		}
	}()
	report := func(f TreeFile) { r.results <- f }
	werr := walk(func(j treeJob) {
		select {
		case jobs <- j:
		case <-ctx.Done():
		}
	}, report)
	close(jobs)
	workers.Wait()
	close(r.results)
	<-tally
	r.sum.Elapsed = time.Since(begin)
	switch {
	case werr != nil:
		return r.sum, werr
	case ctx.Err() != nil:
		return r.sum, ctx.Err()
	case r.sum.Failed > 0:
		return r.sum, &TreeError{Failed: r.sum.Failed, Errs: r.errs}
	}
	return r.sum, nil
}

// count adds f to the summary and reports it.
func (r *treeRun) count(f TreeFile) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch f.Action {
	case Copied, WouldCopy:
		r.sum.Files++
		r.sum.Bytes += f.Size
	case Skipped:
		r.sum.Skipped++
	case Failed:
		r.sum.Failed++
		if len(r.errs) < maxTreeErrs {
			r.errs = append(r.errs, fmt.Errorf("%s: %w", f.Path, f.Err))
		}
	}
	if r.opts.OnFile != nil {
		r.opts.OnFile(f)
	}
}

// dirMade counts a directory of the destination.
func (r *treeRun) dirMade() {
	r.mu.Lock()
	r.sum.Dirs++
	r.mu.Unlock()
}

// sameFile reports whether a copy of size bytes last written at mtime is
// already there (Update).
func sameFile(size int64, mtime time.Time, fi fs.FileInfo) bool {
	return fi.Mode().IsRegular() && fi.Size() == size && fi.ModTime().Unix() == mtime.Unix()
}

// GetTree copies the directory remoteDir of the share, with everything
// below it, into localDir (made if missing), keeping opts.Files files in
// flight on the session. Each file is written under a temporary name and
// renamed into place when complete, then given the remote file's
// modification time. A file that fails does not stop the others: the
// summary counts them, and the error is a *TreeError naming them (or
// ctx's error when it ended). Entries other than files and directories
// are skipped.
func (sh *Share) GetTree(ctx context.Context, remoteDir, localDir string, opts *TreeOptions) (TreeSummary, error) {
	root := clean(remoteDir)
	r := newTreeRun(opts)
	if fi, err := sh.Stat(ctx, root); err != nil {
		return r.sum, err
	} else if !fi.IsDir() {
		return r.sum, sh.fail("list", root, errors.New("not a directory: GetTree copies a directory (Get copies a file)"))
	}
	local := func(rel string) string { return filepath.Join(localDir, filepath.FromSlash(rel)) }
	mkdir := func(rel string) error {
		if r.opts.DryRun {
			return nil
		}
		if err := os.MkdirAll(local(rel), 0o777); err != nil {
			return err
		}
		r.dirMade()
		return nil
	}
	var walk func(rel string, enqueue func(treeJob), report func(TreeFile)) error
	walk = func(rel string, enqueue func(treeJob), report func(TreeFile)) error {
		if err := mkdir(rel); err != nil {
			report(TreeFile{Path: rel + "/", Action: Failed, Err: err})
			return nil
		}
		list, err := sh.ReadDir(ctx, path.Join(root, rel))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			report(TreeFile{Path: rel + "/", Action: Failed, Err: err})
			return nil
		}
		for _, fi := range list {
			name := path.Join(rel, fi.Name())
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case fi.IsDir():
				if err := walk(name, enqueue, report); err != nil {
					return err
				}
			default:
				enqueue(treeJob{rel: name, size: fi.Size(), mtime: fi.ModTime()})
			}
		}
		return nil
	}
	return r.run(ctx, func(enqueue func(treeJob), report func(TreeFile)) error {
		return walk("", enqueue, report)
	}, func(ctx context.Context, j treeJob) (TreeAction, error) {
		dst := local(j.rel)
		if r.opts.Update {
			if fi, err := os.Stat(dst); err == nil && sameFile(j.size, j.mtime, fi) {
				return Skipped, nil
			}
		}
		if r.opts.DryRun {
			return WouldCopy, nil
		}
		tmp, err := localfile.Create(dst)
		if err != nil {
			return Failed, err
		}
		defer tmp.Abort()
		xo := r.opts.Transfer
		if _, err := sh.Get(ctx, path.Join(root, j.rel), tmp, &xo); err != nil {
			return Failed, err
		}
		if err := tmp.Commit(); err != nil {
			return Failed, err
		}
		if err := os.Chtimes(dst, j.mtime, j.mtime); err != nil {
			return Failed, err
		}
		return Copied, nil
	})
}

// PutTree copies the local directory localDir, with everything below it,
// into remoteDir of the share (made if missing), keeping opts.Files files
// in flight on the session. Each file is written as Put writes it (a
// temporary name renamed into place), then given the local file's
// modification time. A file that fails does not stop the others: the
// summary counts them, and the error is a *TreeError naming them (or
// ctx's error when it ended). Symbolic links and other entries that are
// not regular files or directories are skipped, with a reason.
func (sh *Share) PutTree(ctx context.Context, localDir, remoteDir string, opts *TreeOptions) (TreeSummary, error) {
	root := clean(remoteDir)
	r := newTreeRun(opts)
	if fi, err := os.Stat(localDir); err != nil {
		return r.sum, err
	} else if !fi.IsDir() {
		return r.sum, fmt.Errorf("%s is not a directory: PutTree copies a directory (Put copies a file)", localDir)
	}
	remote := func(rel string) string { return path.Join(root, rel) }
	return r.run(ctx, func(enqueue func(treeJob), report func(TreeFile)) error {
		return filepath.WalkDir(localDir, func(p string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rel, rerr := filepath.Rel(localDir, p)
			if rerr != nil {
				return rerr
			}
			rel = filepath.ToSlash(rel)
			if rel == "." {
				rel = ""
			}
			if err != nil {
				report(TreeFile{Path: rel, Action: Failed, Err: err})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			switch {
			case d.IsDir():
				if r.opts.DryRun || remote(rel) == "" {
					return nil // nothing to make (the share's root exists)
				}
				if err := sh.MkdirAll(ctx, remote(rel)); err != nil {
					report(TreeFile{Path: rel + "/", Action: Failed, Err: err})
					return fs.SkipDir
				}
				r.dirMade()
			case d.Type().IsRegular():
				fi, err := d.Info()
				if err != nil {
					report(TreeFile{Path: rel, Action: Failed, Err: err})
					return nil
				}
				enqueue(treeJob{rel: rel, size: fi.Size(), mtime: fi.ModTime()})
			default:
				report(TreeFile{Path: rel, Action: Skipped, Err: fmt.Errorf("not a regular file (%v): not copied", d.Type())})
			}
			return nil
		})
	}, func(ctx context.Context, j treeJob) (TreeAction, error) {
		dst := remote(j.rel)
		if r.opts.Update {
			if fi, err := sh.Stat(ctx, dst); err == nil && sameFile(j.size, j.mtime, fi) {
				return Skipped, nil
			}
		}
		if r.opts.DryRun {
			return WouldCopy, nil
		}
		f, err := os.Open(filepath.Join(localDir, filepath.FromSlash(j.rel)))
		if err != nil {
			return Failed, err
		}
		defer f.Close()
		if _, err := sh.Put(ctx, dst, f, &PutOptions{TransferOptions: r.opts.Transfer, Size: j.size, ModTime: j.mtime}); err != nil {
			return Failed, err
		}
		return Copied, nil
	})
}
