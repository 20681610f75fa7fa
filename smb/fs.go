package smb

import (
	"context"
	"io"
	"io/fs"
	"path"
	"strings"
)

// FS returns a read-only io/fs view of the share whose network calls use
// ctx. It implements fs.StatFS, fs.ReadDirFS and fs.ReadFileFS, so
// fs.WalkDir, fs.Glob, template.ParseFS and http.FS work on a share.
func (sh *Share) FS(ctx context.Context) fs.FS { return shareFS{sh, ctx} }

type shareFS struct {
	sh  *Share
	ctx context.Context
}

func fsPath(op, name string) (string, error) {
	// A "\" is a separator to an SMB server, never part of a name.
	if !fs.ValidPath(name) || strings.ContainsRune(name, '\\') {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return "", nil
	}
	return name, nil
}

// pathErr reports err as fs.PathError, as io/fs expects, keeping the
// package's Error as the cause.
func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func (s shareFS) Open(name string) (fs.File, error) {
	p, err := fsPath("open", name)
	if err != nil {
		return nil, err
	}
	fi, err := s.sh.Stat(s.ctx, p)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	if fi.IsDir() {
		return &fsDir{fs: s, path: p, info: renamed(fi, path.Base(name))}, nil
	}
	f, err := s.sh.Open(s.ctx, p)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return &fsFile{File: f, info: renamed(fi, path.Base(name))}, nil
}

func (s shareFS) Stat(name string) (fs.FileInfo, error) {
	p, err := fsPath("stat", name)
	if err != nil {
		return nil, err
	}
	fi, err := s.sh.Stat(s.ctx, p)
	if err != nil {
		return nil, pathErr("stat", name, err)
	}
	return renamed(fi, path.Base(name)), nil
}

func (s shareFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := fsPath("readdir", name)
	if err != nil {
		return nil, err
	}
	list, err := s.sh.ReadDir(s.ctx, p)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	out := make([]fs.DirEntry, len(list))
	for i, fi := range list {
		out[i] = fs.FileInfoToDirEntry(fi)
	}
	return out, nil
}

func (s shareFS) ReadFile(name string) ([]byte, error) {
	p, err := fsPath("readfile", name)
	if err != nil {
		return nil, err
	}
	b, err := s.sh.ReadFile(s.ctx, p)
	if err != nil {
		return nil, pathErr("readfile", name, err)
	}
	return b, nil
}

// renamed is fi under the name io/fs expects ("." for the root).
func renamed(fi fs.FileInfo, name string) fs.FileInfo {
	if i, ok := fi.(*info); ok && i.name != name {
		c := *i
		c.name = name
		return &c
	}
	return fi
}

type fsFile struct {
	*File
	info fs.FileInfo
}

func (f *fsFile) Stat() (fs.FileInfo, error) { return f.info, nil }

// fsDir is an open directory: it lists on the first ReadDir.
type fsDir struct {
	fs      shareFS
	path    string
	info    fs.FileInfo
	entries []fs.DirEntry
	listed  bool
}

func (d *fsDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *fsDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: fs.ErrInvalid}
}
func (d *fsDir) Close() error { return nil }

func (d *fsDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.listed {
		name := d.path
		if name == "" {
			name = "."
		}
		e, err := d.fs.ReadDir(name)
		if err != nil {
			return nil, err
		}
		d.entries, d.listed = e, true
	}
	if n <= 0 {
		e := d.entries
		d.entries = nil
		return e, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	e := d.entries[:n]
	d.entries = d.entries[n:]
	return e, nil
}
