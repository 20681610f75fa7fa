//go:build !(arm || 386 || mips || mipsle)

package smbfuse

import (
	"context"
	"errors"
	"io/fs"
	"syscall"

	"github.com/smbkrb/smbkrb/smb"
)

// NTSTATUS values the mapping names beside smb's own.
const (
	statusQuotaExceeded     smb.Status = 0xC0000044
	statusDeletePending     smb.Status = 0xC0000056
	statusFileLockConflict  smb.Status = 0xC0000054
	statusNotSupported      smb.Status = 0xC00000BB
	statusCannotDelete      smb.Status = 0xC0000121
	statusNameTooLong       smb.Status = 0xC0000106
	statusObjectPathInvalid smb.Status = 0xC0000039
	statusFileClosed        smb.Status = 0xC0000128
)

// toErrno is the errno a program sees for err: the server's NTSTATUS
// mapped as Linux's cifs client maps it where there is an obvious peer,
// EIO for everything else (network failures, deadlines, policy).
func toErrno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	var st smb.Status
	if errors.As(err, &st) {
		switch st {
		case smb.StatusNoSuchFile, smb.StatusObjectNameNotFound, smb.StatusObjectPathNotFound, statusDeletePending:
			return syscall.ENOENT
		case smb.StatusObjectNameCollision:
			return syscall.EEXIST
		case smb.StatusAccessDenied, statusCannotDelete:
			return syscall.EACCES
		case smb.StatusMediaWriteProtected:
			return syscall.EROFS
		case smb.StatusDiskFull:
			return syscall.ENOSPC
		case statusQuotaExceeded:
			return syscall.EDQUOT
		case smb.StatusFileIsADirectory:
			return syscall.EISDIR
		case smb.StatusNotADirectory:
			return syscall.ENOTDIR
		case smb.StatusDirectoryNotEmpty:
			return syscall.ENOTEMPTY
		case smb.StatusSharingViolation, statusFileLockConflict:
			return syscall.EBUSY
		case smb.StatusObjectNameInvalid, statusObjectPathInvalid:
			return syscall.EINVAL
		case statusNameTooLong:
			return syscall.ENAMETOOLONG
		case statusNotSupported:
			return syscall.ENOTSUP
		case statusFileClosed:
			return syscall.EBADF
		}
		return syscall.EIO
	}
	switch {
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
	case errors.Is(err, fs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, fs.ErrExist):
		return syscall.EEXIST
	case errors.Is(err, fs.ErrPermission):
		return syscall.EACCES
	}
	return syscall.EIO
}
