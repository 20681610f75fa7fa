package smb

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"
)

// Share is a connected share of a Session. Paths are relative to the
// share root and use "/" (a "\" is taken as "/" too); "" and "." are the
// root. Every method takes a context that bounds its network calls. A
// Share may be used by several goroutines at once.
type Share struct {
	sess      *Session
	es        *smb2.Share
	name      string
	encrypted bool
}

// ShareInfo describes a connected share.
type ShareInfo struct {
	// Name is the share name.
	Name string
	// Encrypted reports that all traffic on the share is encrypted (the
	// server requires it for the share or the whole session); otherwise it
	// is signed.
	Encrypted bool
}

// Info describes the share.
func (sh *Share) Info() ShareInfo { return ShareInfo{Name: sh.name, Encrypted: sh.encrypted} }

// Close disconnects from the share. The Session stays open.
func (sh *Share) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sh.es.WithContext(ctx).Umount(); err != nil && !errors.Is(err, os.ErrClosed) {
		return sh.fail("unmount", "", err)
	}
	return nil
}

// eng is the engine's share bound to ctx.
func (sh *Share) eng(ctx context.Context) *smb2.Share { return sh.es.WithContext(ctx) }

// fail wraps an engine error with the step, server and path.
func (sh *Share) fail(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	p := sh.name
	if name != "" {
		p += "/" + name
	}
	if f := sh.sess.wire.failure(); f != nil {
		err = f
	} else {
		err = engineError(err)
	}
	return &Error{Op: op, Server: sh.sess.info.Server, Path: p, Err: err}
}

// clean turns a caller's path into a share-relative one: "/" separated,
// no leading "/", no "." or ".." elements (".." cannot climb above the
// root), "" for the root.
func clean(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Clean("/" + name)
	return strings.TrimPrefix(name, "/")
}

// Stat describes a file or directory.
func (sh *Share) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	name = clean(name)
	fi, err := sh.eng(ctx).Stat(name)
	if err != nil {
		return nil, sh.fail("stat", name, err)
	}
	return fileInfo(fi, name), nil
}

// ReadDir lists a directory, sorted by name.
func (sh *Share) ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error) {
	name = clean(name)
	list, err := sh.eng(ctx).ReadDir(name)
	if err != nil {
		return nil, sh.fail("list", name, err)
	}
	out := make([]fs.FileInfo, 0, len(list))
	for _, fi := range list {
		out = append(out, fileInfo(fi, ""))
	}
	slices.SortFunc(out, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Mkdir makes one directory; its parent must exist.
func (sh *Share) Mkdir(ctx context.Context, name string) error {
	name = clean(name)
	if name == "" {
		return sh.fail("mkdir", name, fs.ErrExist)
	}
	return sh.fail("mkdir", name, sh.eng(ctx).Mkdir(name, 0o755))
}

// MkdirAll makes a directory and any missing parents; an existing
// directory is not an error.
func (sh *Share) MkdirAll(ctx context.Context, name string) error {
	name = clean(name)
	if name == "" {
		return nil
	}
	if fi, err := sh.eng(ctx).Stat(name); err == nil {
		if fi.IsDir() {
			return nil
		}
		return sh.fail("mkdir", name, errors.New("a file of that name exists"))
	}
	if dir := path.Dir(name); dir != "." {
		if err := sh.MkdirAll(ctx, dir); err != nil {
			return err
		}
	}
	err := sh.eng(ctx).Mkdir(name, 0o755)
	if err != nil && errors.Is(engineError(err), fs.ErrExist) {
		return nil // made by someone else meanwhile
	}
	return sh.fail("mkdir", name, err)
}

// Remove removes a file or an empty directory.
func (sh *Share) Remove(ctx context.Context, name string) error {
	name = clean(name)
	if name == "" {
		return sh.fail("remove", name, errors.New("the share root cannot be removed"))
	}
	return sh.fail("remove", name, sh.eng(ctx).Remove(name))
}

// Rename moves oldname to newname within the share, replacing a file at
// newname.
func (sh *Share) Rename(ctx context.Context, oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	if oldname == "" || newname == "" {
		return sh.fail("rename", oldname, errors.New("the share root cannot be renamed or replaced"))
	}
	return sh.fail("rename", oldname+" -> "+newname, sh.eng(ctx).Rename(oldname, newname))
}

// Open opens a file for reading. The file's reads use ctx; cancel it to
// abort them.
func (sh *Share) Open(ctx context.Context, name string) (*File, error) {
	name = clean(name)
	f, err := sh.eng(ctx).Open(name)
	if err != nil {
		return nil, sh.fail("open", name, err)
	}
	return &File{f: f, sh: sh, name: name}, nil
}

// ReadFile reads a whole file, with Get's parallel requests.
func (sh *Share) ReadFile(ctx context.Context, name string) ([]byte, error) {
	var b bytesWriter
	_, err := sh.Get(ctx, name, &b, nil)
	return b, err
}

// WriteFile writes data to name the way Put does: through a temporary
// file renamed into place.
func (sh *Share) WriteFile(ctx context.Context, name string, data []byte) error {
	_, err := sh.Put(ctx, name, bytes.NewReader(data), nil)
	return err
}

type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// File is a file opened for reading. It is an io.Reader, io.ReaderAt,
// io.Seeker and io.WriterTo; WriteTo keeps several requests in flight.
type File struct {
	f    *smb2.File
	sh   *Share
	name string
}

// Read reads the next bytes.
func (f *File) Read(p []byte) (int, error) {
	n, err := f.f.Read(p)
	if err == io.EOF {
		return n, err
	}
	return n, f.sh.fail("read", f.name, err)
}

// ReadAt reads len(p) bytes at off; it may be called concurrently.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(p, off)
	if err == io.EOF {
		return n, err
	}
	if err == nil && n < len(p) {
		return n, io.EOF
	}
	return n, f.sh.fail("read", f.name, err)
}

// Seek sets the offset of the next Read.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	n, err := f.f.Seek(offset, whence)
	return n, f.sh.fail("seek", f.name, err)
}

// Stat describes the file.
func (f *File) Stat() (fs.FileInfo, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return nil, f.sh.fail("stat", f.name, err)
	}
	return fileInfo(fi, f.name), nil
}

// WriteTo copies the file from its current offset to w with the share's
// parallel requests.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	off, err := f.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, f.sh.fail("read", f.name, err)
	}
	n, err := f.sh.copyOut(f, off, w, f.sh.sess.xfer)
	f.f.Seek(off+n, io.SeekStart)
	return n, err
}

// Close closes the file.
func (f *File) Close() error {
	return f.sh.fail("close", f.name, f.f.Close())
}

// info is a fs.FileInfo of the package's own.
type info struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (i *info) Name() string       { return i.name }
func (i *info) Size() int64        { return i.size }
func (i *info) Mode() fs.FileMode  { return i.mode }
func (i *info) ModTime() time.Time { return i.mtime }
func (i *info) IsDir() bool        { return i.mode.IsDir() }
func (i *info) Sys() any           { return nil }

// fileInfo copies the engine's FileInfo, so that no engine type leaves
// the package. name replaces the engine's name when not "" (the root has
// none).
func fileInfo(fi fs.FileInfo, name string) fs.FileInfo {
	n := fi.Name()
	if name != "" {
		n = path.Base(name)
	}
	if name == "" && n == "" {
		n = "."
	}
	return &info{name: n, size: fi.Size(), mode: fi.Mode(), mtime: fi.ModTime()}
}
