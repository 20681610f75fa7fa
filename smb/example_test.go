package smb_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
)

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
