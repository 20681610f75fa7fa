package entra_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
)

// Register a headless device once: the user completes a device-code
// sign-in on their phone, and the device identity is kept on disk.
func ExampleClient_Register() {
	ctx := context.Background()
	ec, err := entra.NewClient(&entra.Config{Tenant: "6f1c9a52-3d4e-4b8a-9c21-5e7f0a1b2c3d", Domain: "contoso.com"})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := ec.DeviceCodeSignIn(ctx, func(msg string) { fmt.Fprintln(os.Stderr, msg) })
	if err != nil {
		log.Fatal(err)
	}
	dev, err := ec.Register(ctx, tok.AccessToken, &entra.RegisterOptions{DisplayName: "press-17"})
	if err != nil {
		log.Fatal(err)
	}
	if err := dev.Save("/var/lib/smbkrb/device"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered", dev.ID)
}

// Sign in with a password, then read a file from an Azure Files share
// that uses Microsoft Entra Kerberos. The TGT is refreshed before it ends
// and the refreshed sign-in saved, so a long-running process keeps going.
func ExampleClient_SignInPassword() {
	ctx := context.Background()
	const dir = "/var/lib/smbkrb/device"
	ec, err := entra.NewClient(&entra.Config{Tenant: "6f1c9a52-3d4e-4b8a-9c21-5e7f0a1b2c3d"})
	if err != nil {
		log.Fatal(err)
	}
	realm, err := ec.Realm(ctx)
	if err != nil {
		log.Fatal(err)
	}
	k, err := krb5.NewContext(&krb5.Config{Realms: []krb5.Realm{realm}, HostRealms: entra.HostRealms(nil)})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	dev, err := entra.LoadDevice(dir)
	if err != nil {
		log.Fatal(err)
	}
	password := []byte(os.Getenv("ENTRA_PASSWORD"))
	sess, err := ec.SignInPassword(ctx, dev, "alice@contoso.com", password)
	clear(password)
	if errors.Is(err, entra.ErrMFARequired) {
		log.Fatal("MFA is required: sign in with the device code flow and SignInRefreshToken")
	}
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Save(dir); err != nil {
		log.Fatal(err)
	}
	cc, err := k.NewMemoryCCache()
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Destroy()
	d := &smb.Dialer{Kerberos: k, CCache: cc, Credentials: ec.Credentials(sess, dir), Encrypt: true}
	s, err := d.Dial(ctx, smb.Server{Name: "acct.file.core.windows.net"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	share, err := s.Mount(ctx, "share")
	if err != nil {
		log.Fatal(err)
	}
	defer share.Close()
	data, err := share.ReadFile(ctx, "config/plant.json")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(data), "bytes as", s.Info().Client)
}
