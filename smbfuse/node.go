//go:build !(arm || 386 || mips || mipsle)

package smbfuse

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/smbkrb/smbkrb/smb"
)

// fileSystem is what every node of one mount shares.
type fileSystem struct {
	sh     *smb.Share
	root   string // the share directory mounted
	o      Options
	ctx    context.Context // the mount's life: read-aheads and uploads
	cancel context.CancelFunc

	dirs dirCache

	mu     sync.Mutex
	staged map[*staging]struct{} // every open staging, for flushAll

	bg sync.WaitGroup // releases finishing in the background
}

// op bounds one server operation of a request.
func (f *fileSystem) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.o.Timeout)
}

// fail turns err into the errno the program sees, and logs what the
// errno alone does not say.
func (f *fileSystem) fail(op, name string, err error) syscall.Errno {
	e := toErrno(err)
	switch e {
	case syscall.ENOENT, syscall.EEXIST, syscall.ENOTEMPTY, syscall.EINTR:
	default:
		f.o.Logf("%s %s: %v", op, "/"+name, err)
	}
	return e
}

// remote is the share path of name in the mounted directory.
func (f *fileSystem) remote(name string) string {
	if name == "" {
		return f.root
	}
	if f.root == "" {
		return name
	}
	return f.root + "/" + name
}

// isStagingName reports a name smb.Share.Put uploads to before renaming
// into place (".NAME.smbkrb-XXXXXXXXXXXX.part"): such files are in
// flight, and the mount does not list them.
func isStagingName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".part") && strings.Contains(name, ".smbkrb-")
}

// parentKey is the dirCache key of the directory that holds p.
func parentKey(p string) string { return path.Dir("/" + p) }

// validName refuses names SMB would read differently: "\" is its
// separator.
func validName(name string) syscall.Errno {
	if strings.ContainsRune(name, '\\') {
		return syscall.EINVAL
	}
	return 0
}

// fill sets a's attributes from fi.
func (f *fileSystem) fill(a *fuse.Attr, fi fs.FileInfo) {
	perm, typ := f.o.FileMode.Perm(), uint32(syscall.S_IFREG)
	if fi.IsDir() {
		perm, typ = f.o.DirMode.Perm(), syscall.S_IFDIR
	}
	if fi.Mode().Perm()&0o200 == 0 || f.o.ReadOnly {
		perm &^= 0o222 // the read-only attribute
	}
	a.Mode = typ | uint32(perm)
	a.Size = uint64(max(fi.Size(), 0))
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = 1 << 20 // a hint for the I/O size (cp and cat use it)
	a.Nlink = 1
	mt := fi.ModTime()
	a.SetTimes(&mt, &mt, &mt)
	a.Uid, a.Gid = uint32(f.o.UID), uint32(f.o.GID)
}

// dirCache keeps each directory's last listing for AttrTimeout, so that
// the lookups of a listing (ls -l, find, READDIRPLUS) cost no round trip.
type dirCache struct {
	mu sync.Mutex
	m  map[string]*dirList
}

type dirList struct {
	at     time.Time
	byName map[string]fs.FileInfo
}

func (c *dirCache) get(dir, name string, ttl time.Duration) fs.FileInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.m[dir]
	if l == nil {
		return nil
	}
	if time.Since(l.at) >= ttl {
		delete(c.m, dir)
		return nil
	}
	return l.byName[name]
}

func (c *dirCache) put(dir string, list []fs.FileInfo, at time.Time) {
	l := &dirList{at: at, byName: make(map[string]fs.FileInfo, len(list))}
	for _, fi := range list {
		l.byName[fi.Name()] = fi
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Bounded: listings live a second or so, so when many directories
	// were listed within that, starting over loses little.
	if len(c.m) >= 256 {
		clear(c.m)
	}
	c.m[dir] = l
}

func (c *dirCache) drop(dirs ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range dirs {
		delete(c.m, d)
	}
}

// node is a file or directory of the mount. Its path is where it sits
// in go-fuse's tree of inodes, which follows renames and unlinks.
type node struct {
	gofs.Inode
	fsys *fileSystem

	mu  sync.Mutex
	stg *staging // while the file is open for writing
}

var (
	_ gofs.NodeLookuper  = (*node)(nil)
	_ gofs.NodeGetattrer = (*node)(nil)
	_ gofs.NodeSetattrer = (*node)(nil)
	_ gofs.NodeReaddirer = (*node)(nil)
	_ gofs.NodeOpener    = (*node)(nil)
	_ gofs.NodeCreater   = (*node)(nil)
	_ gofs.NodeMkdirer   = (*node)(nil)
	_ gofs.NodeUnlinker  = (*node)(nil)
	_ gofs.NodeRmdirer   = (*node)(nil)
	_ gofs.NodeRenamer   = (*node)(nil)
	_ gofs.NodeStatfser  = (*node)(nil)
	_ gofs.NodeFsyncer   = (*node)(nil)
)

// rel is the node's path below the mounted directory; ok is false for a
// node no longer in the tree (unlinked, or below a removed directory).
func (n *node) rel() (p string, ok bool) {
	var parts []string
	in := n.EmbeddedInode()
	root := in.Root()
	for in != root {
		name, parent := in.Parent()
		if parent == nil {
			return "", false
		}
		parts = append(parts, name)
		in = parent
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/"), true
}

// path is the node's share path, or ESTALE for a node no longer there.
func (n *node) path() (string, syscall.Errno) {
	p, ok := n.rel()
	if !ok {
		return "", syscall.ESTALE
	}
	return n.fsys.remote(p), 0
}

func (n *node) child(name string) (string, syscall.Errno) {
	if e := validName(name); e != 0 {
		return "", e
	}
	p, e := n.path()
	if e != 0 {
		return "", e
	}
	if p == "" {
		return name, 0
	}
	return p + "/" + name, 0
}

// staging is the node's staging file, if it is open for writing.
func (n *node) staging() *staging {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stg
}

// stat describes the node's path p: the staged file's size and time
// while it is open for writing, else the parent's cached listing, else
// the server.
func (n *node) stat(ctx context.Context, p string) (fs.FileInfo, error) {
	if fi := n.fsys.dirs.get(parentKey(p), path.Base(p), n.fsys.o.AttrTimeout); p != "" && fi != nil {
		return fi, nil
	}
	octx, cancel := n.fsys.op(ctx)
	defer cancel()
	return n.fsys.sh.Stat(octx, p)
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	p, e := n.child(name)
	if e != 0 {
		return nil, e
	}
	fi, err := n.stat(ctx, p)
	if err != nil {
		return nil, n.fsys.fail("lookup", p, err)
	}
	ch := n.GetChild(name)
	if ch != nil {
		if cn, ok := ch.Operations().(*node); ok {
			fi = cn.staged(fi)
		}
	}
	n.fsys.fill(&out.Attr, fi)
	if ch != nil && ch.IsDir() == fi.IsDir() {
		return ch, 0
	}
	mode := uint32(syscall.S_IFREG)
	if fi.IsDir() {
		mode = syscall.S_IFDIR
	}
	return n.NewInode(ctx, &node{fsys: n.fsys}, gofs.StableAttr{Mode: mode}), 0
}

// staged is fi with the staging file's size and time while the node is
// open for writing.
func (n *node) staged(fi fs.FileInfo) fs.FileInfo {
	s := n.staging()
	if s == nil {
		return fi
	}
	return s.info(fi)
}

func (n *node) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	p, e := n.path()
	if e != 0 {
		if s := n.staging(); s != nil {
			// Unlinked but still open: what is staged.
			n.fsys.fill(&out.Attr, s.info(nil))
			return 0
		}
		return e
	}
	var fi fs.FileInfo
	if s := n.staging(); s != nil && !n.IsDir() {
		fi = s.info(nil)
	} else {
		var err error
		if fi, err = n.stat(ctx, p); err != nil {
			return n.fsys.fail("stat", p, err)
		}
	}
	n.fsys.fill(&out.Attr, fi)
	return 0
}

func (n *node) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	p, e := n.path()
	s := n.staging()
	if e != 0 && s == nil {
		return e
	}
	if size, ok := in.GetSize(); ok {
		if n.IsDir() {
			return syscall.EISDIR
		}
		if s != nil {
			if err := s.truncate(int64(size)); err != nil {
				return n.fsys.fail("truncate", p, err)
			}
		} else {
			octx, cancel := n.fsys.op(ctx)
			err := n.fsys.sh.Truncate(octx, p, int64(size))
			cancel()
			if err != nil {
				return n.fsys.fail("truncate", p, err)
			}
			n.fsys.dirs.drop(parentKey(p))
		}
	}
	mtime, okm := in.GetMTime()
	atime, _ := in.GetATime()
	// Only a modification time reaches the server (SMB clients leave the
	// access time to the server); with it, an access time given too.
	if okm {
		if s != nil && !s.setModTime(mtime) {
			// Set on the upload, which would otherwise stamp its own
			// time.
			okm = false
		}
		if okm && e == 0 {
			octx, cancel := n.fsys.op(ctx)
			err := n.fsys.sh.Chtimes(octx, p, atime, mtime)
			cancel()
			if err != nil {
				return n.fsys.fail("chtimes", p, err)
			}
			n.fsys.dirs.drop(parentKey(p))
		}
	}
	// Mode and owner: SMB keeps no POSIX owner or mode; accepted and
	// left as Options say (as cifs does without its ACL mapping).
	return n.Getattr(ctx, fh, out)
}

func (n *node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	p, e := n.path()
	if e != 0 {
		return nil, e
	}
	octx, cancel := n.fsys.op(ctx)
	defer cancel()
	at := time.Now()
	list, err := n.fsys.sh.ReadDir(octx, p)
	if err != nil {
		return nil, n.fsys.fail("readdir", p, err)
	}
	n.fsys.dirs.put("/"+p, list, at)
	entries := make([]fuse.DirEntry, 0, len(list))
	for _, fi := range list {
		if isStagingName(fi.Name()) {
			continue
		}
		mode := uint32(syscall.S_IFREG)
		if fi.IsDir() {
			mode = syscall.S_IFDIR
		}
		entries = append(entries, fuse.DirEntry{Name: fi.Name(), Mode: mode})
	}
	return gofs.NewListDirStream(entries), 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	p, e := n.child(name)
	if e != 0 {
		return nil, e
	}
	octx, cancel := n.fsys.op(ctx)
	defer cancel()
	if err := n.fsys.sh.Mkdir(octx, p); err != nil {
		return nil, n.fsys.fail("mkdir", p, err)
	}
	n.fsys.dirs.drop(parentKey(p))
	fi, err := n.fsys.sh.Stat(octx, p)
	if err != nil {
		return nil, n.fsys.fail("mkdir", p, err)
	}
	n.fsys.fill(&out.Attr, fi)
	return n.NewInode(ctx, &node{fsys: n.fsys}, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
}

func (n *node) remove(ctx context.Context, op, name string) syscall.Errno {
	p, e := n.child(name)
	if e != 0 {
		return e
	}
	octx, cancel := n.fsys.op(ctx)
	defer cancel()
	if err := n.fsys.sh.Remove(octx, p); err != nil {
		return n.fsys.fail(op, p, err)
	}
	n.fsys.dirs.drop(parentKey(p), "/"+p)
	if ch := n.GetChild(name); ch != nil {
		if cn, ok := ch.Operations().(*node); ok {
			if s := cn.staging(); s != nil {
				s.unlinked() // open, but gone from the share: nothing to upload
			}
		}
	}
	return 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.remove(ctx, "unlink", name)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	ch := n.GetChild(name)
	if ch != nil && !ch.IsDir() {
		return syscall.ENOTDIR
	}
	return n.remove(ctx, "rmdir", name)
}

func (n *node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if flags&^uint32(unixRenameNoReplace) != 0 {
		return syscall.ENOTSUP // RENAME_EXCHANGE, RENAME_WHITEOUT
	}
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	from, e := n.child(name)
	if e != 0 {
		return e
	}
	to, e := np.child(newName)
	if e != 0 {
		return e
	}
	octx, cancel := n.fsys.op(ctx)
	defer cancel()
	// What is at the target decides, in one round trip: RENAME_NOREPLACE
	// refuses anything; a directory replaces only an empty directory (the
	// server would refuse to replace one at all); a file never replaces a
	// directory.
	target, terr := n.fsys.sh.Stat(octx, to)
	if flags&unixRenameNoReplace != 0 {
		if terr == nil {
			return syscall.EEXIST
		} else if !errors.Is(terr, fs.ErrNotExist) {
			return n.fsys.fail("rename", to, terr)
		}
	}
	if terr == nil {
		if ch := n.GetChild(name); ch != nil && ch.IsDir() {
			if !target.IsDir() {
				return syscall.ENOTDIR
			}
			if err := n.fsys.sh.Remove(octx, to); err != nil {
				return n.fsys.fail("rename", to, err)
			}
		} else if target.IsDir() {
			return syscall.EISDIR
		}
	}
	if err := n.fsys.sh.Rename(octx, from, to); err != nil {
		return n.fsys.fail("rename", from+" -> "+to, err)
	}
	n.fsys.dirs.drop(parentKey(from), parentKey(to), "/"+from, "/"+to)
	if ch := np.GetChild(newName); ch != nil {
		if cn, ok := ch.Operations().(*node); ok {
			if s := cn.staging(); s != nil {
				s.unlinked() // replaced
			}
		}
	}
	return 0
}

// unixRenameNoReplace is RENAME_NOREPLACE of renameat2(2).
const unixRenameNoReplace = 1

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	octx, cancel := n.fsys.op(ctx)
	defer cancel()
	st, err := n.fsys.sh.StatFS(octx)
	if err != nil {
		return n.fsys.fail("statfs", n.fsys.root, err)
	}
	bs := st.BlockSize
	blocks, free, avail := st.Blocks, st.BlocksFree, st.BlocksAvail
	for bs > 1<<30 { // the field is 32 bits
		bs /= 2
		blocks, free, avail = blocks*2, free*2, avail*2
	}
	out.Bsize, out.Frsize = uint32(bs), uint32(bs)
	out.Blocks, out.Bfree, out.Bavail = blocks, free, avail
	out.NameLen = 255
	return 0
}

func (n *node) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	if h, ok := fh.(*handle); ok {
		return h.Fsync(ctx, flags)
	}
	if s := n.staging(); s != nil {
		return s.flushErrno(ctx)
	}
	return 0
}
