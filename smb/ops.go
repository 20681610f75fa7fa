package smb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/smb/internal/smb2"
	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// The file operations over the engine's tree: each is one CREATE with the
// access and disposition it needs, the request, and the CLOSE.

// wireName is a share-relative path as SMB names it: "\" separated, no
// leading separator, "" for the root.
func wireName(name string) string { return strings.ReplaceAll(name, "/", `\`) }

const shareAll = wire.ShareRead | wire.ShareWrite | wire.ShareDelete

// infoOf makes a FileInfo from what CREATE or a directory entry returned.
func infoOf(name string, attrs uint32, size uint64, mtime uint64) *info {
	mode := fs.FileMode(0o644)
	if attrs&wire.AttrDirectory != 0 {
		mode = fs.ModeDir | 0o755
	}
	if attrs&wire.AttrReadOnly != 0 {
		mode &^= 0o222
	}
	return &info{name: name, size: int64(size), mode: mode, mtime: wire.FiletimeToTime(mtime), attrs: FileAttributes(attrs)}
}

// stat describes name in one compounded round trip.
func stat(ctx context.Context, t *smb2.Tree, name string) (*info, error) {
	r, err := t.Stat(ctx, &wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      wire.FileReadAttributes | wire.Synchronize,
		ShareAccess:        shareAll,
		CreateDisposition:  wire.FileOpen,
		Name:               wireName(name),
	})
	if err != nil {
		return nil, err
	}
	n := path.Base(name)
	if name == "" {
		n = "."
	}
	return infoOf(n, r.FileAttributes, r.EndOfFile, r.LastWriteTime), nil
}

// open opens name with the given access, disposition and options.
func open(ctx context.Context, t *smb2.Tree, name string, access, disposition, options uint32) (*wire.CreateResponse, error) {
	return t.Create(ctx, createRequest(name, access, disposition, options))
}

// createRequest is the CREATE of open.
func createRequest(name string, access, disposition, options uint32) *wire.CreateRequest {
	return &wire.CreateRequest{
		ImpersonationLevel: wire.ImpersonationImpersonation,
		DesiredAccess:      access | wire.Synchronize,
		ShareAccess:        shareAll,
		CreateDisposition:  disposition,
		CreateOptions:      options,
		FileAttributes:     wire.AttrNormal,
		Name:               wireName(name),
	}
}

// closeQuietly closes fid with its own short deadline: the caller is
// already returning another error, or ctx may have ended.
func closeQuietly(t *smb2.Tree, fid wire.FileID) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.Close(ctx, fid)
}

// readDir lists a directory (without "." and "..").
func readDir(ctx context.Context, t *smb2.Tree, name string) ([]fs.FileInfo, error) {
	r, err := open(ctx, t, name, wire.FileReadData|wire.FileReadAttributes, wire.FileOpen, wire.OptDirectoryFile)
	if err != nil {
		return nil, err
	}
	var out []fs.FileInfo
	var buf []wire.DirEntry
	for restart := true; ; restart = false {
		buf, err = t.QueryDirectory(ctx, r.FileID, "*", restart, buf[:0])
		if err == io.EOF {
			break
		}
		if err != nil {
			closeQuietly(t, r.FileID)
			return nil, err
		}
		for _, e := range buf {
			if e.Name == "." || e.Name == ".." {
				continue
			}
			out = append(out, infoOf(e.Name, e.Attributes, e.EndOfFile, e.LastWriteTime))
		}
	}
	return out, t.Close(ctx, r.FileID)
}

// mkdir makes one directory.
func mkdir(ctx context.Context, t *smb2.Tree, name string) error {
	r, err := open(ctx, t, name, wire.FileReadAttributes, wire.FileCreate, wire.OptDirectoryFile)
	if err != nil {
		return err
	}
	return t.Close(ctx, r.FileID)
}

// remove deletes a file or an empty directory: open for DELETE, set the
// disposition (which reports a non-empty directory), close.
func remove(ctx context.Context, t *smb2.Tree, name string) error {
	r, err := open(ctx, t, name, wire.AccessDelete|wire.FileReadAttributes, wire.FileOpen, wire.OptOpenReparsePoint)
	if err != nil {
		return err
	}
	if err := t.SetInfo(ctx, r.FileID, wire.InfoTypeFile, wire.FileDispositionInformation, wire.MarshalDispositionInfo(true)); err != nil {
		closeQuietly(t, r.FileID)
		return err
	}
	return t.Close(ctx, r.FileID)
}

// rename moves oldname to newname, replacing a file there.
func rename(ctx context.Context, t *smb2.Tree, oldname, newname string) error {
	r, err := open(ctx, t, oldname, wire.AccessDelete|wire.FileReadAttributes, wire.FileOpen, 0)
	if err != nil {
		return err
	}
	buf := wire.MarshalRenameInfo(true, wireName(newname))
	if err := t.SetInfo(ctx, r.FileID, wire.InfoTypeFile, wire.FileRenameInformation, buf); err != nil {
		closeQuietly(t, r.FileID)
		return err
	}
	return t.Close(ctx, r.FileID)
}

// chtimes sets name's last write (and, unless zero, last access) time.
func chtimes(ctx context.Context, t *smb2.Tree, name string, atime, mtime time.Time) error {
	r, err := open(ctx, t, name, wire.FileWriteAttributes|wire.FileReadAttributes, wire.FileOpen, 0)
	if err != nil {
		return err
	}
	// Zero leaves a time (and the attributes) as they are (MS-FSCC 2.4.7).
	info := wire.FileBasicInfo{LastWriteTime: wire.TimeToFiletime(mtime)}
	if !atime.IsZero() {
		info.LastAccessTime = wire.TimeToFiletime(atime)
	}
	if err := t.SetInfo(ctx, r.FileID, wire.InfoTypeFile, wire.FileBasicInformation, info.Marshal()); err != nil {
		closeQuietly(t, r.FileID)
		return err
	}
	return t.Close(ctx, r.FileID)
}

// openFile opens name for File with the given create contexts; extra is
// added to the access that flag asks for.
func openFile(ctx context.Context, t *smb2.Tree, name string, flag int, extra uint32, ctxs []wire.CreateContext) (*wire.CreateResponse, error) {
	access, disp, options := fileOpenMode(flag)
	req := createRequest(name, access|extra, disp, options)
	req.Contexts = ctxs
	for _, c := range ctxs {
		if c.Name == wire.ContextRequestLease {
			req.OplockLevel = wire.OplockLease
		}
	}
	return t.Create(ctx, req)
}

// fileOpenMode is the access, disposition and options of a File opened
// with flag: os.O_RDONLY, or a write mode with O_CREATE, O_EXCL and
// O_TRUNC as os.OpenFile has them.
func fileOpenMode(flag int) (access, disp, options uint32) {
	if flag == os.O_RDONLY {
		return wire.FileReadData | wire.FileReadAttributes, wire.FileOpen, 0
	}
	disp = wire.FileOpen
	switch {
	case flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		disp = wire.FileCreate
	case flag&os.O_CREATE != 0 && flag&os.O_TRUNC != 0:
		disp = wire.FileOverwriteIf
	case flag&os.O_CREATE != 0:
		disp = wire.FileOpenIf
	case flag&os.O_TRUNC != 0:
		disp = wire.FileOverwrite
	}
	access = wire.FileWriteData | wire.FileReadAttributes | wire.FileWriteAttributes
	if flag&os.O_RDWR != 0 {
		access |= wire.FileReadData
	}
	return access, disp, wire.OptNonDirectoryFile
}

// fileStat describes an open file.
func fileStat(ctx context.Context, t *smb2.Tree, fid wire.FileID, name string) (*info, error) {
	b, err := t.QueryInfo(ctx, fid, wire.InfoTypeFile, wire.FileNetworkOpenInformation, 56)
	if err != nil {
		return nil, err
	}
	ni, err := wire.ParseFileNetworkOpenInfo(b)
	if err != nil {
		return nil, err
	}
	return infoOf(path.Base(name), ni.FileAttributes, ni.EndOfFile, ni.LastWriteTime), nil
}

// readFull reads len(p) bytes at off in READs of the size the server and
// the credits allow; short only at the end of the file (io.EOF).
func readFull(ctx context.Context, t *smb2.Tree, fid wire.FileID, p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n := t.Session().Conn().MaxRead(len(p) - done)
		m, err := t.Read(ctx, fid, off+int64(done), p[done:done+n])
		done += m
		if err != nil {
			return done, err
		}
		if m == 0 {
			return done, io.EOF
		}
		if m < n {
			// A short read: the end of the file came first.
			return done, io.EOF
		}
	}
	return done, nil
}

// writeFull writes p at off in WRITEs the server and the credits allow.
func writeFull(ctx context.Context, t *smb2.Tree, fid wire.FileID, p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n := t.Session().Conn().MaxWrite(len(p) - done)
		m, err := t.Write(ctx, fid, off+int64(done), p[done:done+n])
		done += m
		if err != nil {
			return done, err
		}
		if m == 0 {
			return done, errors.New("the server wrote nothing")
		}
	}
	return done, nil
}

// truncate sets the end of file of name to size.
func truncate(ctx context.Context, t *smb2.Tree, name string, size int64) error {
	r, err := open(ctx, t, name, wire.FileWriteData|wire.FileReadAttributes, wire.FileOpen, wire.OptNonDirectoryFile)
	if err != nil {
		return err
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(size))
	if err := t.SetInfo(ctx, r.FileID, wire.InfoTypeFile, wire.FileEndOfFileInformation, b[:]); err != nil {
		closeQuietly(t, r.FileID)
		return err
	}
	return t.Close(ctx, r.FileID)
}

// fsFullSize asks for FileFsFullSizeInformation (MS-FSCC 2.5.4) of the
// share root.
func fsFullSize(ctx context.Context, t *smb2.Tree) (FSStat, error) {
	r, err := open(ctx, t, "", wire.FileReadAttributes, wire.FileOpen, wire.OptDirectoryFile)
	if err != nil {
		return FSStat{}, err
	}
	b, err := t.QueryInfo(ctx, r.FileID, wire.InfoTypeFileSystem, wire.FileFsFullSizeInformation, 32)
	if err != nil {
		closeQuietly(t, r.FileID)
		return FSStat{}, err
	}
	if err := t.Close(ctx, r.FileID); err != nil {
		return FSStat{}, err
	}
	return parseFSFullSize(b)
}

// parseFSFullSize turns FILE_FS_FULL_SIZE_INFORMATION into an FSStat,
// refusing sizes that do not fit.
func parseFSFullSize(b []byte) (FSStat, error) {
	fi, err := wire.ParseFileFsFullSizeInfo(b)
	if err != nil {
		return FSStat{}, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	total, avail, free := fi.TotalAllocationUnits, fi.CallerAvailableAllocationUnits, fi.ActualAvailableAllocationUnits
	unit := uint64(fi.SectorsPerAllocationUnit) * uint64(fi.BytesPerSector)
	if unit == 0 || unit > 1<<30 || total > math.MaxUint64/unit {
		return FSStat{}, fmt.Errorf("%w: FileFsFullSizeInformation gives %d-byte units of %d", ErrPolicy, unit, total)
	}
	return FSStat{BlockSize: int64(unit), Blocks: total, BlocksFree: min(free, total), BlocksAvail: min(avail, total)}, nil
}
