package samba

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

func TestCheckGlobal(t *testing.T) {
	for _, ok := range []string{
		"server smb3 encryption algorithms = AES-256-GCM",
		"server max protocol=SMB3_00",
		"dns forwarder =",
		"idmap config * : range = 10000-20000",
	} {
		if err := checkGlobal([]string{ok}); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"server signing",
		"= mandatory",
		"   = x",
		"server signing = mandatory # a comment",
		"server signing = mandatory ; a comment",
		"server signing = mandatory\n[evil]",
		"[global] = x",
		"log level = 1 \\",
	} {
		if err := checkGlobal([]string{"log level = 1", bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Start refuses before it needs root or touches anything.
	dir := filepath.Join(t.TempDir(), "dc")
	if _, err := Start(dir, Options{Global: []string{"server signing"}}); err == nil || !strings.Contains(err.Error(), "key = value") {
		t.Errorf("Start with a bad Global line: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Start left %s behind: %v", dir, err)
	}
}

func TestMergeGlobal(t *testing.T) {
	fixed := []string{"realm = LAB.TEST", "server min protocol = SMB2_10", "log level = 1"}
	got := mergeGlobal(fixed, []string{
		"Server  Min Protocol=SMB3_11",
		"server smb3 encryption algorithms = AES-256-GCM",
		"  log level   =   3  ",
		"server smb3 encryption algorithms = AES-128-GCM",
	})
	want := []string{
		"realm = LAB.TEST",
		"Server Min Protocol = SMB3_11",
		"log level = 3",
		"server smb3 encryption algorithms = AES-128-GCM",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mergeGlobal:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if fixed[1] != "server min protocol = SMB2_10" {
		t.Error("mergeGlobal changed its input")
	}
}

// TestGlobal starts an Azure-like DC ("maximum security": SMB 3.1.1 only,
// encryption required, AES-256-GCM only, and CMAC signing) and proves that
// Samba applies the lines: testparm reads them, smbclient's session gets
// them, and a client outside them is refused. The DC uses 127.0.0.61.
func TestGlobal(t *testing.T) {
	labtest.Need(t)
	needLab(t)
	dc := startDC(t, Options{Addr: "127.0.0.61", Global: []string{
		"server min protocol = SMB3_11",
		"server smb encrypt = required",
		"server smb3 encryption algorithms = AES-256-GCM",
		"server smb3 signing algorithms = AES-128-CMAC",
	}})
	conf := mustRead(t, dc.Config)
	if n := strings.Count(conf, "server min protocol"); n != 1 {
		t.Errorf("smb.conf sets server min protocol %d times:\n%s", n, conf)
	}
	// testparm answers in Samba's canonical spelling: SMB3 is SMB3_11,
	// required is mandatory.
	for name, want := range map[string]string{
		"server min protocol":               "SMB3",
		"server smb encrypt":                "required",
		"server smb3 encryption algorithms": "AES-256-GCM",
		"server smb3 signing algorithms":    "AES-128-CMAC",
		"server signing":                    "required", // a fixed line kept
		"ntlm auth":                         "disabled",
	} {
		got, err := dc.Parameter(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	const user = "dave"
	pw := labtool.Password()
	if err := dc.AddUser(user, pw); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, dc)
	c.kinit(t, user+"@"+dc.Realm, pw)

	t.Run("applied", func(t *testing.T) {
		// A default smbclient on a share that does not itself require
		// encryption: the server-wide setting encrypts everything.
		h := holdSession(t, dc, c, user, ShareSigned)
		s := h.status
		t.Logf("%+v", s)
		if s.Dialect != "SMB3_11" || s.Encryption != "AES-256-GCM" || s.EncryptionDegree != "full" || s.Signing != "AES-128-CMAC" {
			t.Errorf("dialect %q, encryption %q (%s), signing %q; want SMB3_11, AES-256-GCM (full), AES-128-CMAC",
				s.Dialect, s.Encryption, s.EncryptionDegree, s.Signing)
		}
	})

	refused := func(t *testing.T, clientLines string) {
		t.Helper()
		conf := filepath.Join(t.TempDir(), "smb.conf")
		if err := os.WriteFile(conf, []byte("[global]\n"+clientLines), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := c.run(t, "", "smbclient", "//"+dc.FQDN+"/"+ShareSigned, "-I", dc.Addr, "-s", conf,
			"--use-kerberos=required", "--use-krb5-ccache="+c.ccache, "-c", "ls")
		if err == nil {
			t.Fatalf("smbclient with %q was served: %s", clientLines, out)
		}
		t.Logf("refused: %s", strings.TrimSpace(out))
	}
	t.Run("smb3_00-refused", func(t *testing.T) {
		refused(t, "\tclient max protocol = SMB3_00\n")
	})
	t.Run("aes-128-refused", func(t *testing.T) {
		refused(t, "\tclient smb3 encryption algorithms = AES-128-GCM, AES-128-CCM\n")
	})
}
