// Package smb gives Kerberos-authenticated SMB3 sessions: MIT GSS-API
// (through package krb5) does the authentication, an SMB engine
// (currently github.com/cloudsoda/go-smb2, kept out of this package's
// API) the protocol.
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
// authentication is required. Every message after session setup must be
// signed or encrypted; the package checks this on the wire itself, beside
// the engine, and closes a connection that breaks it. Shares the server
// marks for encryption are encrypted; with Dialer.Encrypt, a share the
// server does not encrypt is refused with ErrPolicy rather than used
// signed only.
//
// A Session outlives its ticket: when the server expires it
// (STATUS_NETWORK_SESSION_EXPIRED), it authenticates again with a new
// ticket from the Dialer's credentials on a new connection, mounts its
// shares again, reopens open files and retries the request, so a long
// transfer or a long-running process goes on. Every dial asks the
// credentials first, so a ticket near its end is replaced before use.
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
//
// Known limits of the current engine: AES-128 ciphers only (AES-128-GCM or
// -CCM); signing with AES-128-CMAC (no AES-GMAC signing), which costs CPU
// on large signed transfers; no encryption of shares the server does not
// mark for it.
package smb
