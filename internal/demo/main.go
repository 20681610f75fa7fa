// Command demo shows smbkrb's Kerberos core against real servers on this
// machine: a throwaway MIT KDC and smbkrb's own KDC proxy (MS-KKDCP over
// TLS). It logs in with a password, fetches a service ticket and runs a
// GSS-API exchange, first with the KDC reached over TCP, then with the
// KDC reachable only through the HTTPS proxy. `make demo` runs it.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
	"github.com/smbkrb/smbkrb/internal/lab/testca"
	"github.com/smbkrb/smbkrb/kkdcp"
	"github.com/smbkrb/smbkrb/krb5"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
	fmt.Println("\ndemo finished: every step above ran against real servers.")
}

func step(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "smbkrb-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	step("starting a throwaway MIT KDC for realm DEMO.TEST")
	kdc, err := mitkdc.Start(filepath.Join(dir, "kdc"), mitkdc.Options{Realm: "DEMO.TEST"})
	if err != nil {
		return err
	}
	defer kdc.Close()
	password := labtool.Password()
	keytab := filepath.Join(dir, "fs.keytab")
	if err := kdc.AddPrincipal("alice", password); err != nil {
		return err
	}
	if _, err := kdc.Kadmin("modprinc +requires_preauth alice"); err != nil {
		return err
	}
	if err := kdc.AddRandomKey("cifs/fs1.demo.test"); err != nil {
		return err
	}
	if err := kdc.Keytab(keytab, "cifs/fs1.demo.test"); err != nil {
		return err
	}
	fmt.Printf("    KDC on %s; user alice; service cifs/fs1.demo.test with a keytab\n", kdc.Addr)

	step("starting smbkrb's KDC proxy (kkdcp.Handler) over TLS")
	ca, err := testca.New("smbkrb demo CA")
	if err != nil {
		return err
	}
	leaf, err := ca.Issue("127.0.0.1")
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           &kkdcp.Handler{Realms: map[string][]string{"DEMO.TEST": {kdc.Addr}}},
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{leaf.TLS}},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.ServeTLS(l, "", "")
	defer srv.Close()
	proxyURL := "https://" + l.Addr().String() + "/KdcProxy"
	fmt.Printf("    proxy at %s\n", proxyURL)

	for _, path := range []struct {
		name string
		kdc  string
	}{{"TCP to the KDC", kdc.Addr}, {"only the HTTPS KDC proxy", proxyURL}} {
		step("Kerberos through %s", path.name)
		k, err := krb5.NewContext(&krb5.Config{
			Realms:     []krb5.Realm{{Name: "DEMO.TEST", KDCs: []string{path.kdc}}},
			HostRealms: []krb5.HostRealm{{Host: ".demo.test", Realm: "DEMO.TEST"}},
			RootCAs:    ca.Pool(),
		})
		if err != nil {
			return err
		}
		if err := exchange(ctx, k, password, keytab); err != nil {
			k.Close()
			return err
		}
		k.Close()
	}
	return nil
}

func exchange(ctx context.Context, k *krb5.Context, password, keytab string) error {
	cc, err := k.NewMemoryCCache()
	if err != nil {
		return err
	}
	defer cc.Destroy()

	_, err = k.GetInitCredsPassword(ctx, cc, "alice@DEMO.TEST", []byte("wrong password"), nil)
	fmt.Printf("    wrong password -> %v\n", err)

	t0 := time.Now()
	client, err := k.GetInitCredsPassword(ctx, cc, "alice@DEMO.TEST", []byte(password), nil)
	if err != nil {
		return err
	}
	fmt.Printf("    logged in as %s (%v)\n", client, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if _, err := k.GetCredentials(ctx, cc, "cifs/fs1.demo.test"); err != nil {
		return err
	}
	fmt.Printf("    service ticket fetched (%v); the cache %s holds:\n", time.Since(t0).Round(time.Millisecond), cc.Name())
	creds, err := cc.Credentials()
	if err != nil {
		return err
	}
	for _, c := range creds {
		fmt.Printf("      %-36s until %s  flags %-5s  %s\n", c.Server, c.EndTime.Format(time.DateTime), c.Flags, c.KeyEnctype)
	}

	ini, err := k.NewInitiator(ctx, cc, "cifs/fs1.demo.test", nil)
	if err != nil {
		return err
	}
	defer ini.Close()
	acc, err := krb5.NewAcceptor("FILE:"+keytab, &krb5.AcceptorOptions{ReplayCache: "none:"})
	if err != nil {
		return err
	}
	defer acc.Close()
	apreq, err := ini.Step(nil)
	if err != nil {
		return err
	}
	aprep, err := acc.Step(apreq)
	if err != nil {
		return err
	}
	if _, err := ini.Step(aprep); err != nil {
		return err
	}
	mic, err := ini.GetMIC([]byte("hello"))
	if err != nil {
		return err
	}
	if err := acc.VerifyMIC([]byte("hello"), mic); err != nil {
		return err
	}
	ik, err := ini.SessionKey()
	if err != nil {
		return err
	}
	defer ik.Zero()
	fmt.Printf("    GSS-API: server accepted %s; mutual auth done; MIC verified; %d-byte %s session key\n",
		acc.Peer(), len(ik.Key), ik.Enctype)
	return nil
}
