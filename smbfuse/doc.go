// Package smbfuse serves a directory of an SMB share as a FUSE file
// system, so that ordinary programs (cp, tar, find, a device's own
// daemons) read and write the share as local files, over one
// Kerberos-authenticated smb.Session: no kernel cifs module, no
// cifs-utils, no system Kerberos. `smbkrb mount` is a thin layer over it.
//
// How it behaves:
//
//   - Reads go to the server. A file read sequentially is read ahead in
//     large requests, several in flight, as smb.Share.Get does.
//   - A file open for writing is staged in a local temporary file (created
//     in Options.StagingDir, removed from the directory at once, so nothing
//     is left behind) and uploaded with smb.Share.Put when it is flushed:
//     on close, fsync, or unmount. The upload goes to a temporary name and
//     is renamed over the file when complete, so other clients see the old
//     content or the new, never a half-written file, and a failed upload
//     leaves the old content in place and returns the error (EIO, EACCES,
//     ENOSPC, ...) from close or fsync. After a failed upload the changes
//     stay staged while the file is open (the next fsync or close tries
//     again) and are dropped at its last close. A file written from its start
//     (created, or opened with O_TRUNC) is uploaded while it is written, so
//     the close waits only for the tail. Opening an existing file for
//     writing without O_TRUNC first copies it into the staging file.
//   - Attributes and directory listings are cached for Options.AttrTimeout
//     (1 s by default); a change made through the mount drops what it
//     invalidates at once.
//   - The owner and permission bits of every file are Options' (SMB has no
//     POSIX owners); a file with the read-only attribute loses its write
//     bits; chmod and chown are accepted and change nothing.
//   - Symbolic links, hard links, device files, extended attributes and
//     locks are not supported (ENOTSUP or ENOSYS).
//   - Every operation on the server is bounded by Options.Timeout; an
//     upload or a read-ahead fails when it makes no progress for that long.
//     A server that stops answering gives EIO, never a hang.
//
// The session's own renewal (re-authentication on the same connection
// before the service ticket ends, reconnection with durable handles when
// the connection is lost) keeps a mount alive for as long as its
// credentials can get tickets.
package smbfuse
