package entra_test

import (
	"crypto/tls"
	"net"
	"net/http"
	"testing"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/internal/lab/kdcproxy"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smboauth"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// openClose dials, mounts the encrypted share, stats its root and closes:
// an open SMB session that has done something.
func openClose(b *testing.B, d *smb.Dialer, srv smb.Server) {
	s, err := d.Dial(b.Context(), srv)
	if err != nil {
		b.Fatal(err)
	}
	sh, err := s.Mount(b.Context(), "encrypted")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sh.Stat(b.Context(), "."); err != nil {
		b.Fatal(err)
	}
	sh.Close()
	s.Close()
}

// BenchmarkEntraCold is a sign-in on a registered device to an open SMB
// session: nonce, PRT request with tgt=true (the emulator gets the TGT
// from the KDC), cloud TGT decoded by MIT into a new cache, service ticket
// through the Entra KDC proxy, session setup, tree connect. https/op
// counts the HTTPS requests the emulator answered.
func BenchmarkEntraCold(b *testing.B) {
	labtest.Need(b)
	c := client(b, lab.emu)
	k := kerberos(b, lab.emu, c, nil)
	d := device(b)
	u := lab.users["frank"]
	before := lab.emu.Requests("")
	n := 0
	for b.Loop() {
		s, err := c.SignInPassword(b.Context(), d, u.upn, []byte(u.pw))
		if err != nil {
			b.Fatal(err)
		}
		cc, err := k.NewMemoryCCache()
		if err != nil {
			b.Fatal(err)
		}
		openClose(b, dialer(k, cc, c.Credentials(s, "")), storage())
		cc.Destroy()
		s.Close()
		n++
	}
	b.ReportMetric(float64(lab.emu.Requests("")-before)/float64(n), "https/op")
}

// BenchmarkEntraTGTCached is a resumed sign-in whose cloud TGT is still
// good (a restarted process): the TGT into a new cache, the service ticket
// through the KDC proxy, the session.
func BenchmarkEntraTGTCached(b *testing.B) {
	labtest.Need(b)
	c := client(b, lab.emu)
	k := kerberos(b, lab.emu, c, nil)
	s := signInB(b, c, k)
	before := lab.emu.Requests("")
	n := 0
	for b.Loop() {
		cc, err := k.NewMemoryCCache()
		if err != nil {
			b.Fatal(err)
		}
		openClose(b, dialer(k, cc, c.Credentials(s, "")), storage())
		cc.Destroy()
		n++
	}
	b.ReportMetric(float64(lab.emu.Requests("")-before)/float64(n), "https/op")
}

// BenchmarkEntraWarm has the service ticket cached too: session setup
// only, no HTTPS at all.
func BenchmarkEntraWarm(b *testing.B) {
	labtest.Need(b)
	c := client(b, lab.emu)
	k := kerberos(b, lab.emu, c, nil)
	s := signInB(b, c, k)
	cc := testmain.MemoryCache(b, k)
	d := dialer(k, cc, c.Credentials(s, ""))
	openClose(b, d, storage())
	before := lab.emu.Requests("")
	n := 0
	for b.Loop() {
		openClose(b, d, storage())
		n++
	}
	b.ReportMetric(float64(lab.emu.Requests("")-before)/float64(n), "https/op")
}

// BenchmarkADProxyCold is the peer of BenchmarkEntraCold on the same
// machine in the same run: an AD DS user (CORP.TEST) through an
// on-premises KDC proxy over HTTPS, password login, service ticket,
// session, tree connect. https/op counts the proxy's requests.
func BenchmarkADProxyCold(b *testing.B) {
	labtest.Need(b)
	proxy, err := kdcproxy.Start(net.JoinHostPort(lab.ns.HostAddr, "0"), map[string][]string{"CORP.TEST": {net.JoinHostPort(corpAddr, "88")}})
	if err != nil {
		b.Fatal(err)
	}
	defer proxy.Close()
	k, err := krb5.NewContext(&krb5.Config{
		Realms:     []krb5.Realm{{Name: "CORP.TEST", KDCs: []string{proxy.URL}}},
		HostRealms: []krb5.HostRealm{{Host: adAcct, Realm: "CORP.TEST"}},
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: lab.ns.DialContext, TLSClientConfig: &tls.Config{RootCAs: proxy.RootCAs}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	before := proxy.Requests()
	n := 0
	for b.Loop() {
		cc, err := k.NewMemoryCCache()
		if err != nil {
			b.Fatal(err)
		}
		d := &smb.Dialer{Kerberos: k, CCache: cc, Credentials: smb.Password(lab.corpU.upn, []byte(lab.corpU.pw))}
		openClose(b, d, smb.Server{Name: adAcct, Addr: corpAddr})
		cc.Destroy()
		n++
	}
	b.ReportMetric(float64(proxy.Requests()-before)/float64(n), "https/op")
}

func signInB(b *testing.B, c *entra.Client, k *krb5.Context) *entra.SignIn {
	b.Helper()
	u := lab.users["frank"]
	s, err := c.SignInPassword(b.Context(), device(b), u.upn, []byte(u.pw))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}

// BenchmarkSMBOAuthFromToken is SMB OAuth from an access token in hand to
// an open SMB session: the exchange at the file endpoint, the KRB-CRED
// into a new cache, session setup, tree connect.
func BenchmarkSMBOAuthFromToken(b *testing.B) {
	labtest.Need(b)
	c := lab.emu.SMBOAuthConfig()
	src, err := c.ClientSecretTokens(lab.app.ClientID, lab.app.Secret)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := src.Token(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	k := oauthKerberos(b)
	before := lab.emu.Requests("")
	n := 0
	for b.Loop() {
		o := c.Exchange(smboauth.StaticToken(tok))
		o.Endpoint = lab.emu.FileEndpoint()
		cc, err := k.NewMemoryCCache()
		if err != nil {
			b.Fatal(err)
		}
		openClose(b, &smb.Dialer{Kerberos: k, CCache: cc, Credentials: o}, oauthServer(oauthAcct))
		cc.Destroy()
		n++
	}
	b.ReportMetric(float64(lab.emu.Requests("")-before)/float64(n), "https/op")
}

// BenchmarkSMBOAuthCold adds the token: a new MSAL client each time, a
// client assertion signed with the application's certificate, the token
// request, then the exchange and the session.
func BenchmarkSMBOAuthCold(b *testing.B) {
	labtest.Need(b)
	c := lab.emu.SMBOAuthConfig()
	certs, key, err := smboauth.ParseCertificateKey(lab.appKey)
	if err != nil {
		b.Fatal(err)
	}
	k := oauthKerberos(b)
	before := lab.emu.Requests("")
	n := 0
	for b.Loop() {
		ts, err := c.ClientCertificateTokens(lab.app.ClientID, certs, key)
		if err != nil {
			b.Fatal(err)
		}
		o := c.Exchange(ts)
		o.Endpoint = lab.emu.FileEndpoint()
		cc, err := k.NewMemoryCCache()
		if err != nil {
			b.Fatal(err)
		}
		openClose(b, &smb.Dialer{Kerberos: k, CCache: cc, Credentials: o}, oauthServer(oauthAcct))
		cc.Destroy()
		n++
	}
	b.ReportMetric(float64(lab.emu.Requests("")-before)/float64(n), "https/op")
}
