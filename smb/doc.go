// Package smb gives Kerberos-authenticated SMB3 sessions: MIT GSS-API
// (through package krb5) does the authentication, smbkrb's own SMB 3.x
// engine (the internal package smb/internal/smb2, written from MS-SMB2
// and kept out of this package's API) the protocol.
//
// A Dialer holds the Kerberos context, the credential cache and a source
// of credentials (Password, Keytab, Cache, or another package's source).
// Dial takes a Server, whose Name gives the service principal
// (cifs/<Name>) and whose Addr is where to connect, so a device needs no
// DNS for the server and never sends the name through a resolver. The
// service ticket is fetched into the cache through the krb5 package's
// transports (TCP to port 88, or a KDC proxy over HTTPS) before session
// setup.
//
// The security policy is fixed where it matters. There is no NTLM: a
// server that does not accept the Kerberos ticket fails the dial. Mutual
// authentication is required, the SPNEGO mechListMIC and the signature of
// the final SESSION_SETUP response are verified, and guest or anonymous
// sessions are refused. Dialects are SMB 3.0, 3.0.2 and 3.1.1 (with the
// preauthentication hash). Every message after session setup is signed
// (AES-128-GMAC when the server offers it, else AES-128-CMAC) or
// encrypted (AES-128-GCM, AES-256-GCM, AES-128-CCM, AES-256-CCM; the
// AES-256 ciphers use the whole 32-byte Kerberos session key), and the
// engine ends a connection whose responses break this with ErrPolicy,
// before any of their data reaches the caller. Dialer.Ciphers narrows and
// orders the ciphers offered (AES-256-GCM only, for an Azure Files account
// at maximum security). Shares the server marks for encryption are
// encrypted; a session the server encrypts, or one dialed with
// Dialer.Encrypt, is encrypted as a whole, every share included.
//
// A Session outlives its ticket: before the service ticket ends, and when
// the server expires the session (STATUS_NETWORK_SESSION_EXPIRED), it
// authenticates again on the same connection and SessionId with a new
// ticket from the Dialer's credentials, so mounted shares and open files
// stay as they are. Only when the connection is lost does it dial again
// (with the same client GUID), mount its shares again and retry the
// request; open files carry on by their durable handles (version 2, with
// a create GUID: persistent on a continuously available share such as
// Azure Files, elsewhere with the read and handle lease a server demands
// for durability, under which nothing is cached and whose breaks are
// acknowledged at once). An open the server cannot resume (it restarted)
// is opened again by name at its offset. SessionInfo.Reconnects and
// Resumed count both.
//
// Large transfers use READ and WRITE requests up to the server's maximum
// (8 MiB on Samba) with multi-credit requests, up to four in flight at
// once. How many is measured, not assumed: a long transfer times its
// first chunks one at a time against four at a time and keeps one at a
// time only when that is clearly faster (Samba on glibc does far more work
// per byte with two or more large requests outstanding; over a link with
// latency the pipeline wins), unless TransferOptions.Fixed. The
// connection's one receiver verifies or decrypts each response in
// place into pooled buffers. Get hands READ data from the receive buffer
// to the writer, and Put reads each chunk from its source straight into
// the WRITE request, so a transfer copies its data once on the client. A
// cancelled context sends SMB2 CANCEL and returns at once. Stat is one
// compounded CREATE and CLOSE; Get of a file up to 64 KiB is one
// compounded CREATE, READ and CLOSE.
//
// A Session mounts Shares. A Share has the operations of a file system:
// Stat, ReadDir, Open (a streaming io.Reader, io.ReaderAt, io.Seeker),
// Get and Put (several requests in flight, bounded memory, progress),
// ReadFile, WriteFile, Mkdir, MkdirAll, Remove, Rename, and FS for an
// io/fs view. Put writes to a temporary name and renames it into place,
// so a failed upload never leaves a partial file under the real name.
//
// Errors are *Error values naming the step (login, service ticket,
// connect, session setup, mount, a file operation), the server and the
// path; the cause matches errors.Is against krb5's sentinels
// (krb5.ErrPreauthFailed, krb5.ErrClockSkew, ...), this package's
// (ErrPolicy, ErrAccessDenied, ErrNoShare, ...), fs.ErrNotExist,
// fs.ErrExist, fs.ErrPermission and context errors. Status is the
// server's NTSTATUS.
package smb
