package entratest

import (
	"context"
	"errors"
	"regexp"

	"github.com/smbkrb/smbkrb/entra"
)

// userCode finds the code in a device-code prompt.
var userCode = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

// SaveSignIn gives a device what `smbkrb entra register` and
// `smbkrb entra login` leave in its state directory: it registers a
// device through a device-code sign-in (approved here, as the user would
// at the browser), signs upn in with password, and saves the device
// identity and the sign-in into dir. A program or library that takes a
// saved sign-in (entra.LoadDevice, entra.LoadSignIn; the C library's
// smbkrb_cred_entra) can then be tested against the emulator without
// running the CLI. ctx bounds it all.
func (s *Server) SaveSignIn(ctx context.Context, dir, upn, password string) error {
	c, err := entra.NewClient(s.Config())
	if err != nil {
		return err
	}
	approved := make(chan error, 1)
	tok, err := c.DeviceCodeSignIn(ctx, func(msg string) {
		m := userCode.FindStringSubmatch(msg)
		if m == nil {
			approved <- errors.New("entratest: no user code in " + msg)
			return
		}
		go func() { approved <- s.ApproveDeviceCode(m[1], upn) }()
	})
	if err != nil {
		return err
	}
	if err := <-approved; err != nil {
		return err
	}
	d, err := c.Register(ctx, tok.AccessToken, nil)
	if err != nil {
		return err
	}
	if err := d.Save(dir); err != nil {
		return err
	}
	in, err := c.SignInPassword(ctx, d, upn, []byte(password))
	if err != nil {
		return err
	}
	defer in.Close()
	return in.Save(dir)
}
