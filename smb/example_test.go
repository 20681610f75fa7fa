package smb_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"

	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
)

// The shortest way from nothing to a file's bytes: a realm and its KDC, a
// password login into a MEMORY: cache of the session's own (the Dialer's
// nil CCache), a signed SMB 3.1.1 session.
func Example() {
	ctx := context.Background()
	k, err := krb5.NewContext(&krb5.Config{Realms: []krb5.Realm{{Name: "LAB.TEST", KDCs: []string{"10.0.0.1"}}}})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	d := &smb.Dialer{Kerberos: k, Credentials: smb.Password("alice@LAB.TEST", []byte(os.Getenv("SMB_PASSWORD")))}
	s, err := d.Dial(ctx, smb.Server{Name: "fs1.lab.test", Realm: "LAB.TEST"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	share, err := s.Mount(ctx, "data")
	if err != nil {
		log.Fatal(err)
	}
	defer share.Close()
	if _, err := share.Get(ctx, "hello.txt", os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}

// Use the tickets of an earlier kinit (MIT's or smbkrb's): open the cache
// it wrote and never log in. When they have expired the dial fails with
// krb5.ErrNoCredentials, and the remedy is another kinit.
func ExampleCache() {
	ctx := context.Background()
	k, err := krb5.NewContext(&krb5.Config{Realms: []krb5.Realm{{Name: "LAB.TEST", KDCs: []string{"10.0.0.1"}}}})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	cc, err := k.DefaultCCache() // $KRB5CCNAME, else FILE:/tmp/krb5cc_<uid>
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close() // Close, not Destroy: the tickets stay for the next program
	d := &smb.Dialer{Kerberos: k, CCache: cc, Credentials: smb.Cache()}
	s, err := d.Dial(ctx, smb.Server{Name: "fs1.lab.test", Realm: "LAB.TEST"})
	if errors.Is(err, krb5.ErrNoCredentials) {
		log.Fatal("no valid tickets: run kinit first: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println("authenticated as", s.Info().Client)
}

// Walk a share with the io/fs tools: Share.FS is an fs.FS (and
// fs.ReadDirFS, fs.StatFS, fs.ReadFileFS) whose operations are bounded by
// the context it was made with.
func ExampleShare_FS() {
	ctx := context.Background()
	var share *smb.Share // from Session.Mount
	var total int64
	err := fs.WalkDir(share.FS(ctx), "logs", func(name string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := e.Info(); err == nil && !e.IsDir() {
			total += info.Size()
			fmt.Println(name, info.Size(), info.ModTime().Format("2006-01-02"))
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(total, "bytes under logs")
}

// Triage a failure with errors.Is: each error says what failed and what
// to do in its text, and matches the sentinels of the layer that knows.
func ExampleError() {
	ctx := context.Background()
	var d *smb.Dialer // as in the Dialer example
	s, err := d.Dial(ctx, smb.Server{Name: "fs1.lab.test"})
	switch {
	case errors.Is(err, krb5.ErrPreauthFailed):
		log.Fatal("wrong password, or an out-of-date keytab: ", err)
	case errors.Is(err, krb5.ErrPrincipalUnknown):
		log.Fatal("the KDC does not know the user or the server's SPN: ", err)
	case errors.Is(err, krb5.ErrNoKDC):
		log.Fatal("no KDC answered: check the address, port 88, or use a KDC proxy: ", err)
	case errors.Is(err, krb5.ErrClockSkew):
		log.Fatal("the clock is off: ", err)
	case errors.Is(err, smb.ErrPolicy):
		log.Fatal("the server cannot sign or encrypt as required: ", err)
	case err != nil:
		log.Fatal(err)
	}
	defer s.Close()
	share, err := s.Mount(ctx, "data")
	if errors.Is(err, smb.ErrNoShare) {
		log.Fatal("no such share: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer share.Close()
	_, err = share.Stat(ctx, "config/device.json")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Println("no configuration yet")
	case errors.Is(err, fs.ErrPermission):
		log.Fatal("the account may not read it: ", err)
	case err != nil:
		log.Fatal(err)
	}
}

// An AD DS account and an Entra Domain Services account side by side:
// the Dialer picks the credentials (and the cache) by the realm of each
// server, and falls back from a keytab to a password with FirstOf.
func ExampleDialer_realms() {
	ctx := context.Background()
	k, err := krb5.NewContext(&krb5.Config{
		Realms: []krb5.Realm{
			{Name: "CORP.EXAMPLE", KDCs: []string{"dc1.corp.example"}},
			{Name: "AADDS.EXAMPLE", KDCs: []string{"https://kdcproxy.aadds.example/KdcProxy"}},
		},
		HostRealms: []krb5.HostRealm{{Host: ".corp.example", Realm: "CORP.EXAMPLE"}, {Host: ".aadds.example", Realm: "AADDS.EXAMPLE"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	corp, err := k.NewMemoryCCache()
	if err != nil {
		log.Fatal(err)
	}
	defer corp.Destroy()
	aadds, err := k.NewMemoryCCache()
	if err != nil {
		log.Fatal(err)
	}
	defer aadds.Destroy()
	pw := []byte(os.Getenv("DEVICE_PASSWORD"))
	d := &smb.Dialer{
		Kerberos: k, CCache: corp,
		Credentials: smb.FirstOf(smb.Keytab("device01@CORP.EXAMPLE", "/etc/smbkrb/device01.keytab"), smb.Password("device01@CORP.EXAMPLE", pw)),
		Realms: []smb.RealmCredentials{
			{Realm: "AADDS.EXAMPLE", Credentials: smb.Password("device01@AADDS.EXAMPLE", pw), CCache: aadds},
		},
	}
	clear(pw)
	for _, name := range []string{"fs1.corp.example", "fs2.aadds.example"} {
		s, err := d.Dial(ctx, smb.Server{Name: name})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, "as", s.Info().Client)
		s.Close()
	}
}

// Copy a file from an AD DS share with a password login, the KDC reached
// directly and the server reached by address.
func ExampleDialer_Dial() {
	ctx := context.Background()
	k, err := krb5.NewContext(&krb5.Config{
		Realms:     []krb5.Realm{{Name: "LAB.TEST", KDCs: []string{"10.0.0.1:88"}}},
		HostRealms: []krb5.HostRealm{{Host: ".lab.test", Realm: "LAB.TEST"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	cc, err := k.NewMemoryCCache()
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Destroy()

	password := []byte(os.Getenv("SMB_PASSWORD"))
	d := &smb.Dialer{Kerberos: k, CCache: cc, Credentials: smb.Password("alice@LAB.TEST", password)}
	clear(password)
	s, err := d.Dial(ctx, smb.Server{Name: "fs1.lab.test", Addr: "10.0.0.5"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	share, err := s.Mount(ctx, "data")
	if err != nil {
		log.Fatal(err)
	}
	defer share.Close()

	out, err := os.Create("report.csv")
	if err != nil {
		log.Fatal(err)
	}
	defer out.Close()
	n, err := share.Get(ctx, "reports/2026/report.csv", out, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "bytes over SMB", s.Info().Dialect)
}

// Upload through a KDC proxy when port 88 is closed: the realm's KDC is
// an https URL, and the rest is the same.
func ExampleShare_Put() {
	ctx := context.Background()
	k, err := krb5.NewContext(&krb5.Config{
		Realms: []krb5.Realm{{Name: "LAB.TEST", KDCs: []string{"https://kdcproxy.lab.test/KdcProxy"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	cc, err := k.NewMemoryCCache()
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Destroy()
	d := &smb.Dialer{Kerberos: k, CCache: cc, Credentials: smb.Keytab("device01@LAB.TEST", "/etc/smbkrb/device01.keytab"), Encrypt: true}
	s, err := d.Dial(ctx, smb.Server{Name: "fs1.lab.test", Realm: "LAB.TEST"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	share, err := s.Mount(ctx, "uploads")
	if err != nil {
		log.Fatal(err)
	}
	defer share.Close()
	f, err := os.Open("/var/log/device.log")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := share.MkdirAll(ctx, "device01"); err != nil {
		log.Fatal(err)
	}
	_, err = share.Put(ctx, "device01/device.log", f, &smb.PutOptions{
		TransferOptions: smb.TransferOptions{Progress: func(done, total int64) { fmt.Printf("\r%d/%d", done, total) }},
	})
	if err != nil {
		log.Fatal(err)
	}
}
