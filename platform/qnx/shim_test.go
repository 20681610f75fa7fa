//go:build linux

// Package qnx has no Go code: Go has no QNX port (see README.md). Its
// test shows, on Linux, the part that does carry over: a C program with
// no Go in it (shim-example/example.c) drives smbkrb's Kerberos core
// (krb5/shim.c) through the contract of krb5/shim.h, with its own KDC
// transport, against a real MIT KDC.
package qnx

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
	"github.com/smbkrb/smbkrb/platform/linux"
)

func TestShimFromC(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()

	// Build: the example, krb5/shim.c as it is, the MIT libraries.
	cc, err := labtool.Find("gcc", "gcc")
	if err != nil {
		t.Fatal(err)
	}
	cflags, ldflags, err := (&linux.PkgConfig{}).CgoFlags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "shim-example")
	args := append([]string{"-O1", "-Wall", "-o", bin, "shim-example/example.c", "../../krb5/shim.c",
		"-Ishim-example", "-I../../krb5"}, cflags...)
	args = append(append(args, ldflags...), "-lkrb5", "-lk5crypto", "-lcom_err")
	if out, err := exec.CommandContext(ctx, cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	kdc, err := mitkdc.Start(filepath.Join(dir, "kdc"), mitkdc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kdc.Close()
	pw := labtool.Password()
	if err := kdc.AddPrincipal("alice", pw); err != nil {
		t.Fatal(err)
	}
	service := "host/svc.mitlab.test@" + kdc.Realm
	if err := kdc.AddRandomKey(service); err != nil {
		t.Fatal(err)
	}
	keytab := filepath.Join(dir, "svc.keytab")
	if err := kdc.Keytab(keytab, service); err != nil {
		t.Fatal(err)
	}
	// The profile's kdc is a port nobody listens on: only the program's
	// own transport reaches the KDC.
	profile := filepath.Join(dir, "krb5.conf")
	conf := fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 dns_canonicalize_hostname = false
 rdns = false
 default_tkt_enctypes = aes256-cts-hmac-sha1-96
 default_tgs_enctypes = aes256-cts-hmac-sha1-96
 permitted_enctypes = aes256-cts-hmac-sha1-96
[realms]
 %[1]s = {
  kdc = 127.0.0.1:1
 }
`, kdc.Realm)
	if err := os.WriteFile(profile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(kdc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	run := exec.CommandContext(ctx, bin, profile, host, port, "alice@"+kdc.Realm, service, "FILE:"+keytab)
	run.Env = append(labtool.Env("KRB5"), "KRB5_CONFIG=/dev/null", "KRB5CCNAME=MEMORY:unused")
	run.Stdin = strings.NewReader(pw + "\n")
	out, err := run.CombinedOutput()
	t.Logf("shim-example:\n%s", out)
	if err != nil {
		t.Fatalf("shim-example: %v", err)
	}
	for _, want := range []string{
		"logged in as alice@" + kdc.Realm,
		"service ticket " + service,
		"mutual authentication complete",
		"session keys match: 32 bytes",
		"MIC verified",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	m := regexp.MustCompile(`KDC exchanges through the C transport: (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatal("the output does not count the KDC exchanges")
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 2 {
		t.Errorf("%d KDC exchanges through the C transport, want an AS and a TGS exchange at least", n)
	}
}
