package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/smbkrb/smbkrb/entra/entratest"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/smboauth"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// filesAddr is the loopback address of this package's SMB OAuth DC.
const filesAddr = "127.0.0.35"

const oauthAccount = "oauthacct.file.core.windows.net"

// oauthLab is the SMB OAuth side of the lab, started on first use: a DC of
// FILES.AZURE.STORAGE.MICROSOFT.COM serving the account, and an emulator
// with an application (certificate), one without the SMB role (secret),
// and a system-assigned managed identity.
var oauthLab struct {
	once      sync.Once
	err       error
	dc        *samba.DC
	emu       *entratest.Server
	app       entratest.App
	appPEM    []byte
	noRole    entratest.App
	appClient string
}

func startOAuthLab(t *testing.T) {
	t.Helper()
	l := &oauthLab
	l.once.Do(func() {
		var dcs []*samba.DC
		if dcs, l.err = lab.main.DCs(testmain.DC{Name: "files", Options: samba.Options{
			Realm: smboauth.FilesRealm, Domain: "FILES", HostName: "oauthacct", Addr: filesAddr,
			ExtraSPNs: []string{"cifs/" + oauthAccount},
		}}); l.err != nil {
			return
		}
		l.dc = dcs[0]
		pw := labtool.Password()
		if l.err = l.dc.AddUser("AzureFileClient", pw); l.err != nil {
			return
		}
		if l.app, l.appPEM, l.err = entratest.NewApp("5e0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "smbkrb-cli-app"); l.err != nil {
			return
		}
		l.noRole = entratest.App{ClientID: "0b9d3c0e-4b1f-4b8e-9a52-1c2d3e4f5a6b", Secret: labtool.Password(), NoSMBRole: true}
		l.emu, l.err = entratest.NewServer(entratest.Options{
			KDCs:              []string{net.JoinHostPort(filesAddr, "88")}, // no Entra Kerberos here
			Apps:              []entratest.App{l.app, l.noRole},
			ManagedIdentities: []entratest.Identity{{}},
			SMBOAuth: &entratest.SMBOAuth{
				KDCs: []string{net.JoinHostPort(filesAddr, "88")}, ClientPassword: pw,
				Accounts: []entratest.Account{{Name: oauthAccount}},
			},
		})
		if l.err == nil {
			lab.main.Defer(func() { l.emu.Close() })
		}
	})
	if l.err != nil {
		t.Fatalf("SMB OAuth lab: %v", l.err)
	}
}

// oauthConfig writes c's configuration for the emulated tenant and the
// SMB OAuth account.
func (c *client) oauthConfig(t *testing.T) string {
	t.Helper()
	l := &oauthLab
	path := filepath.Join(c.dir, "oauth.conf")
	conf := "entra-tenant " + l.emu.Tenant + "\nentra-authority " + l.emu.URL + "\nca " + l.emu.CAFile +
		"\noauth-endpoint " + l.emu.FileEndpoint() + "\naddr " + oauthAccount + "=" + filesAddr + "\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOAuthCLI is SMB OAuth from the command line: an application with a
// certificate puts and gets a file byte-exact (one exchange, the ticket
// reused by the next command), klist shows the ticket; the host's managed
// identity lists the share; an identity without the SMB role and a
// readable key file are refused with their exit codes.
func TestOAuthCLI(t *testing.T) {
	labtest.Need(t)
	startOAuthLab(t)
	l := &oauthLab
	c := newClient(t)
	conf := c.oauthConfig(t)
	certFile := filepath.Join(c.dir, "app.pem")
	if err := os.WriteFile(certFile, l.appPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	app := []string{"--config", conf, "--oauth-client-id", l.app.ClientID, "--oauth-cert", certFile}
	data := make([]byte, 3<<20+7)
	rand.Read(data)
	local := filepath.Join(c.dir, "up.bin")
	if err := os.WriteFile(local, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dst := "//" + oauthAccount + "/encrypted/cli-oauth.bin"
	before := l.emu.Requests("kerbticket")
	r := c.ok(t, nil, append([]string{"put", "-v", local, dst}, app...)...)
	for _, want := range []string{"exchanged an access token", "principal " + smboauth.FilesClient, "SPN cifs/" + oauthAccount + "@" + smboauth.FilesRealm} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("put -v does not say %q:\n%s", want, r.stderr)
		}
	}
	back := filepath.Join(c.dir, "down.bin")
	c.ok(t, nil, append([]string{"get", dst, back}, app...)...)
	got, err := os.ReadFile(back)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("the file came back different (%d bytes, %v)", len(got), err)
	}
	if n := l.emu.Requests("kerbticket") - before; n != 1 {
		t.Errorf("%d exchanges for two commands, want 1 (the ticket is kept)", n)
	}
	cache := filepath.Join(c.dir, "state", "smboauth", "krb5cc")
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the SMB OAuth cache: %v, mode %v", err, fi.Mode())
	}
	// doctor: the token, then the exchange (or the cached ticket) and the
	// session.
	r = c.ok(t, nil, append([]string{"doctor", "//" + oauthAccount + "/" + samba.ShareSigned}, app...)...)
	for _, want := range []string{"OK   oauth token: an access token for Azure Storage", "OK   service ticket: cifs/" + oauthAccount + "@" + smboauth.FilesRealm, "OK   tree connect: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor with SMB OAuth does not say %q:\n%s", want, r.stdout)
		}
	}
	r = c.ok(t, nil, "klist", "--json", "--config", conf)
	var kl klistJSON
	if err := json.Unmarshal([]byte(r.stdout), &kl); err != nil || kl.SMBOAuth == nil || len(kl.SMBOAuth.Tickets) == 0 ||
		kl.SMBOAuth.Tickets[0].Server != "cifs/"+oauthAccount+"@"+smboauth.FilesRealm {
		t.Errorf("klist --json: %v\n%s", err, r.stdout)
	}
	r = c.ok(t, nil, "klist", "--config", conf)
	if !strings.Contains(r.stdout, "SMB OAuth tickets") || !strings.Contains(r.stdout, "cifs/"+oauthAccount) {
		t.Errorf("klist does not show the SMB OAuth ticket:\n%s", r.stdout)
	}

	// The managed identity of the (emulated) App Service host.
	mi := newClient(t)
	mi.extra = []string{"IDENTITY_ENDPOINT=" + l.emu.IdentityEndpoint, "IDENTITY_HEADER=" + l.emu.IdentityHeader}
	r = mi.ok(t, nil, "ls", "--config", mi.oauthConfig(t), "--managed-identity", "//"+oauthAccount+"/encrypted")
	if !strings.Contains(r.stdout, "cli-oauth.bin") {
		t.Errorf("ls with the managed identity: %s", r.stdout)
	}

	// Refusals.
	nr := newClient(t)
	nr.extra = []string{"SMBKRB_OAUTH_SECRET=" + l.noRole.Secret}
	nr.fails(t, exitPermission, []string{"AuthorizationPermissionMismatch", "Storage File Data SMB MI Admin"}, nil,
		"ls", "--config", nr.oauthConfig(t), "--oauth-client-id", l.noRole.ClientID, "//"+oauthAccount+"/encrypted")
	if err := os.Chmod(certFile, 0o644); err != nil {
		t.Fatal(err)
	}
	c.fails(t, exitUsage, []string{"may be read by others", "chmod 600"}, nil, append([]string{"ls", "//" + oauthAccount + "/encrypted"}, app...)...)
}
