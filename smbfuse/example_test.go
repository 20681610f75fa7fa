//go:build !(arm || 386 || mips || mipsle)

package smbfuse_test

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smbfuse"
)

// Serve a directory of a share at /mnt/data until SIGTERM, with the
// tickets of an earlier kinit.
func ExampleNew() {
	k, err := krb5.NewContext(&krb5.Config{DefaultRealm: "LAB.TEST"})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	ctx := context.Background()
	d := &smb.Dialer{Kerberos: k, Credentials: smb.Cache()}
	sess, err := d.Dial(ctx, smb.Server{Name: "fs1.lab.test"})
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	share, err := sess.Mount(ctx, "data")
	if err != nil {
		log.Fatal(err)
	}
	defer share.Close()
	m, err := smbfuse.New(share, "telemetry", "/mnt/data", &smbfuse.Options{UID: -1, GID: -1, Logf: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() { <-stop; m.Unmount(5 * time.Second) }()
	m.Wait()
}
