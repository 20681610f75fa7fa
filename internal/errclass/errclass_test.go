package errclass

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smboauth"
)

// TestOf: each kind of failure lands in its class, through wrapping.
func TestOf(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("step: %w", err) }
	for _, c := range []struct {
		err  error
		want Class
	}{
		{nil, OK},
		{errors.New("odd"), Failure},
		{wrap(context.Canceled), Canceled},
		{wrap(context.DeadlineExceeded), Network},
		{wrap(syscall.ECONNREFUSED), Network},
		{wrap(&fs.PathError{Op: "mkdir", Path: "/x", Err: syscall.ENOTDIR}), Failure},
		{wrap(syscall.ENOSPC), Failure},
		{wrap(smb.ErrPolicy), Policy},
		{wrap(krb5.ErrPreauthFailed), Auth},
		{wrap(krb5.ErrNoKDC), Auth},
		{wrap(fs.ErrNotExist), NotFound},
		{wrap(smb.ErrNoShare), NotFound},
		{wrap(smboauth.ErrNoAccount), NotFound},
		{wrap(fs.ErrPermission), Permission},
		{wrap(smb.ErrAccessDenied), Permission},
	} {
		if got := Of(c.err); got != c.want {
			t.Errorf("Of(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
