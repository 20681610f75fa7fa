package smb

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/smbkrb/smbkrb/smb/internal/smb2"
	"github.com/smbkrb/smbkrb/smb/internal/wire"

	"github.com/smbkrb/smbkrb/krb5"
)

// Error is the error of every smb operation: what was attempted, on which
// server and path, and why. Err is a *krb5.Error for Kerberos failures, a
// Status for the server's refusals, ErrPolicy when the server cannot meet
// the security policy, or a network error. errors.Is works through it:
// errors.Is(err, fs.ErrNotExist), errors.Is(err, krb5.ErrClockSkew),
// errors.Is(err, ErrAccessDenied), errors.Is(err, context.DeadlineExceeded).
type Error struct {
	// Op is the step that failed: "login", "service ticket", "connect",
	// "session setup", "mount", "open", "read", "write", "stat", "list",
	// "mkdir", "remove", "rename", "chtimes".
	Op string
	// Server is the server name as given in Server.Name.
	Server string
	// Path is share or share/path, if the step had one.
	Path string
	// Err is the cause.
	Err error
	// Remedy says what to do about it, in the terms of this package's
	// API (Server.SPN, Dialer fields), when smb knows better than the
	// cause's own text; "" otherwise. Error appends it. A program with
	// remedies of its own, worded for its users (flag names in a CLI),
	// clears it before printing its own.
	Remedy string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("smb: ")
	b.WriteString(e.Op)
	if e.Server != "" || e.Path != "" {
		b.WriteString(" //")
		b.WriteString(e.Server)
		if e.Path != "" {
			b.WriteString("/")
			b.WriteString(e.Path)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Remedy != "" {
		b.WriteString(" (")
		b.WriteString(e.Remedy)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

var (
	// ErrPolicy means the server cannot meet the security policy (SMB 3,
	// signing on every message, encryption when required, the configured
	// ciphers), or a message broke it (a bad or missing signature, an
	// unencrypted answer on an encrypted session); the session or share
	// was refused, or the connection closed, rather than used with less
	// protection.
	ErrPolicy = smb2.ErrPolicy
	// ErrAccessDenied matches a server's access-denied answer (also
	// errors.Is fs.ErrPermission).
	ErrAccessDenied = errors.New("access denied")
	// ErrLogonFailure means the server rejected the Kerberos ticket.
	ErrLogonFailure = errors.New("the server rejected the logon")
	// ErrNoShare means the server has no share of that name.
	ErrNoShare = errors.New("no such share")
	// ErrSessionExpired means the server ended the session, usually because
	// its ticket expired; dial again.
	ErrSessionExpired = errors.New("the SMB session expired")
)

// Status is an NTSTATUS code the server answered with (MS-ERREF 2.3).
// errors.Is maps the common ones onto fs.ErrNotExist, fs.ErrExist,
// fs.ErrPermission, ErrAccessDenied, ErrLogonFailure, ErrNoShare and
// ErrSessionExpired.
type Status uint32

// NTSTATUS values smb names.
const (
	StatusAccessDenied          Status = 0xC0000022
	StatusLogonFailure          Status = 0xC000006D
	StatusNoSuchFile            Status = 0xC000000F
	StatusObjectNameInvalid     Status = 0xC0000033
	StatusObjectNameNotFound    Status = 0xC0000034
	StatusObjectNameCollision   Status = 0xC0000035
	StatusObjectPathNotFound    Status = 0xC000003A
	StatusSharingViolation      Status = 0xC0000043
	StatusDiskFull              Status = 0xC000007F
	StatusMediaWriteProtected   Status = 0xC00000A2
	StatusFileIsADirectory      Status = 0xC00000BA
	StatusBadNetworkName        Status = 0xC00000CC
	StatusDirectoryNotEmpty     Status = 0xC0000101
	StatusNotADirectory         Status = 0xC0000103
	StatusUserSessionDeleted    Status = 0xC0000203
	StatusNetworkSessionExpired Status = 0xC000035C
	StatusMoreProcessing        Status = 0xC0000016
	StatusAccountRestriction    Status = 0xC000006E
	StatusTimeDifference        Status = 0xC0000133
	StatusKDCUnknownEtype       Status = 0xC00002FB
	StatusWrongPassword         Status = 0xC000006A
)

var statusText = map[Status]string{
	StatusAccessDenied:          "access denied (STATUS_ACCESS_DENIED): the user lacks the permission on the share or file, or the share is read-only",
	StatusLogonFailure:          "the server rejected the Kerberos ticket (STATUS_LOGON_FAILURE): is the SPN registered on the server's own account, and is the server's keytab current?",
	StatusNoSuchFile:            "no such file (STATUS_NO_SUCH_FILE)",
	StatusObjectNameInvalid:     "invalid file name (STATUS_OBJECT_NAME_INVALID)",
	StatusObjectNameNotFound:    "no such file or directory (STATUS_OBJECT_NAME_NOT_FOUND)",
	StatusObjectNameCollision:   "the file already exists (STATUS_OBJECT_NAME_COLLISION)",
	StatusObjectPathNotFound:    "a directory on the path does not exist (STATUS_OBJECT_PATH_NOT_FOUND)",
	StatusSharingViolation:      "another client has the file open (STATUS_SHARING_VIOLATION)",
	StatusDiskFull:              "the share is full (STATUS_DISK_FULL)",
	StatusMediaWriteProtected:   "the share is read-only (STATUS_MEDIA_WRITE_PROTECTED)",
	StatusFileIsADirectory:      "it is a directory (STATUS_FILE_IS_A_DIRECTORY)",
	StatusBadNetworkName:        "the server has no share of that name (STATUS_BAD_NETWORK_NAME)",
	StatusDirectoryNotEmpty:     "the directory is not empty (STATUS_DIRECTORY_NOT_EMPTY)",
	StatusNotADirectory:         "not a directory (STATUS_NOT_A_DIRECTORY)",
	StatusUserSessionDeleted:    "the server ended the session (STATUS_USER_SESSION_DELETED): dial again",
	StatusNetworkSessionExpired: "the session's ticket expired (STATUS_NETWORK_SESSION_EXPIRED): dial again",
	StatusAccountRestriction:    "the account may not log on here (STATUS_ACCOUNT_RESTRICTION)",
	StatusTimeDifference:        "the clocks of client and server differ too much (STATUS_TIME_DIFFERENCE_AT_DC)",
	StatusWrongPassword:         "wrong password (STATUS_WRONG_PASSWORD)",
}

func (s Status) Error() string {
	if t, ok := statusText[s]; ok {
		return t
	}
	return fmt.Sprintf("the server answered NTSTATUS 0x%08X", uint32(s))
}

// Is maps statuses onto the fs and smb sentinels.
func (s Status) Is(target error) bool {
	switch target {
	case fs.ErrNotExist:
		return s == StatusNoSuchFile || s == StatusObjectNameNotFound || s == StatusObjectPathNotFound
	case fs.ErrExist:
		return s == StatusObjectNameCollision
	case fs.ErrPermission, ErrAccessDenied:
		return s == StatusAccessDenied || s == StatusMediaWriteProtected
	case ErrLogonFailure:
		return s == StatusLogonFailure || s == StatusAccountRestriction || s == StatusWrongPassword
	case ErrNoShare:
		return s == StatusBadNetworkName
	case ErrSessionExpired:
		return s == StatusUserSessionDeleted || s == StatusNetworkSessionExpired
	case krb5.ErrClockSkew:
		return s == StatusTimeDifference
	}
	return false
}

// engineError turns an error of the SMB engine into the package's own
// terms: a server's refusal becomes its Status; policy and connection
// errors keep their sentinels (ErrPolicy, and the network cause).
func engineError(err error) error {
	if err == nil {
		return nil
	}
	var re *smb2.ResponseError
	if errors.As(err, &re) {
		return Status(re.Status)
	}
	if errors.Is(err, wire.ErrMalformed) && !errors.Is(err, ErrPolicy) {
		return fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	return err
}
