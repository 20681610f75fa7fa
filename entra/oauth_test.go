package entra_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/entratest"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smboauth"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// objectIDFor is a stable GUID-shaped ID for a name.
func objectIDFor(name string) string {
	h := sha256.Sum256([]byte(name))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// oauthServer is the SMB OAuth storage account, reached over the root
// namespace (the path needs no KDC at all).
func oauthServer(name string) smb.Server {
	return smb.Server{Name: name, Addr: filesAddr, Realm: smboauth.FilesRealm}
}

// oauthKerberos is a krb5 context with no realm and no KDC: the SMB
// OAuth path must not need one.
func oauthKerberos(t testing.TB) *krb5.Context {
	t.Helper()
	k, err := krb5.NewContext(&krb5.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// rootClient is the SMB OAuth configuration of the emulator, reached
// from the root namespace.
func rootClient(t testing.TB) *smboauth.Config {
	t.Helper()
	return lab.emu.SMBOAuthConfig()
}

// TestSMBOAuthCertificate is an application with a certificate: MSAL's
// client-credentials flow with a signed assertion, the exchange at the
// file endpoint, the KRB-CRED into a cache of a krb5 context that has no
// KDC, and a byte-exact put/get on the encrypted share as
// AzureFileClient.
func TestSMBOAuthCertificate(t *testing.T) {
	labtest.Need(t)
	c := rootClient(t)
	certs, key, err := smboauth.ParseCertificateKey(lab.appKey)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.ClientCertificateTokens(lab.app.ClientID, certs, key)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Exchange(ts)
	o.Endpoint = lab.emu.FileEndpoint()
	var got []smboauth.Ticket
	o.OnExchange = func(ft smboauth.Ticket) { got = append(got, ft) }
	k := oauthKerberos(t)
	before := lab.emu.Requests("kerbticket")
	s, err := (&smb.Dialer{Kerberos: k, CCache: testmain.MemoryCache(t, k), Credentials: o}).Dial(t.Context(), oauthServer(oauthAcct))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if in := s.Info(); in.Client != smboauth.FilesClient || in.SPN != "cifs/"+oauthAcct+"@"+smboauth.FilesRealm {
		t.Errorf("session as %s for %s", in.Client, in.SPN)
	}
	if len(got) != 1 || got[0].Account != oauthAcct || time.Until(got[0].Expires) < time.Hour {
		t.Errorf("exchanges: %+v", got)
	}
	if lab.emu.Requests("kerbticket") != before+1 {
		t.Errorf("%d exchanges at the file endpoint", lab.emu.Requests("kerbticket")-before)
	}
	putGet(t, s, samba.ShareEncrypted, "oauth-cert.bin", 2<<20+5)
}

// TestSMBOAuthSecret uses a client secret, and a second dial reuses the
// cached ticket without another exchange.
func TestSMBOAuthSecret(t *testing.T) {
	labtest.Need(t)
	c := rootClient(t)
	ts, err := c.ClientSecretTokens(lab.app.ClientID, lab.app.Secret)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Exchange(ts)
	o.Endpoint = lab.emu.FileEndpoint()
	k := oauthKerberos(t)
	d := &smb.Dialer{Kerberos: k, CCache: testmain.MemoryCache(t, k), Credentials: o}
	before := lab.emu.Requests("kerbticket")
	for range 2 {
		s, err := d.Dial(t.Context(), oauthServer(oauthAcct))
		if err != nil {
			t.Fatal(err)
		}
		putGet(t, s, samba.ShareEncrypted, "oauth-secret.bin", 256<<10)
		s.Close()
	}
	if n := lab.emu.Requests("kerbticket") - before; n != 1 {
		t.Errorf("%d exchanges for two dials, want 1", n)
	}
}

// TestSMBOAuthManagedIdentity takes tokens from an App Service style
// managed identity endpoint (the emulator's, on loopback), for the
// system-assigned identity and a user-assigned one.
func TestSMBOAuthManagedIdentity(t *testing.T) {
	labtest.Need(t)
	t.Setenv("IDENTITY_ENDPOINT", lab.emu.IdentityEndpoint)
	t.Setenv("IDENTITY_HEADER", lab.emu.IdentityHeader)
	c := rootClient(t)
	for _, id := range []string{"", objectIDFor("user-assigned")} {
		before := lab.emu.Requests("managed-identity")
		ts, err := smboauth.ManagedIdentityTokens(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := c.Exchange(ts)
		o.Endpoint = lab.emu.FileEndpoint()
		k := oauthKerberos(t)
		s, err := (&smb.Dialer{Kerberos: k, CCache: testmain.MemoryCache(t, k), Credentials: o}).Dial(t.Context(), oauthServer(oauthAcct))
		if err != nil {
			t.Fatalf("managed identity %q: %v", id, err)
		}
		putGet(t, s, samba.ShareEncrypted, "oauth-mi.bin", 1<<20)
		s.Close()
		if lab.emu.Requests("managed-identity") <= before {
			t.Errorf("identity %q: the token did not come from the identity endpoint", id)
		}
	}
	if _, err := smboauth.ManagedIdentityTokens("not-assigned", nil); err != nil {
		t.Fatal(err)
	}
}

// TestSMBOAuthErrors checks the refusals of the exchange and of the token
// endpoint for their sentinels and words.
func TestSMBOAuthErrors(t *testing.T) {
	labtest.Need(t)
	c := rootClient(t)
	exchange := func(ts smboauth.TokenSource, account string) error {
		o := c.Exchange(ts)
		o.Endpoint = lab.emu.FileEndpoint()
		der, _, err := o.KRBCred(t.Context(), account)
		clear(der)
		return err
	}
	secretApp, _ := c.ClientSecretTokens(lab.app.ClientID, lab.app.Secret)
	t.Run("wrong audience", func(t *testing.T) {
		ec, err := entra.NewClient(lab.emu.Config())
		if err != nil {
			t.Fatal(err)
		}
		tok := deviceCode(t, lab.emu, ec, lab.users["alice"].upn) // a DRS token
		err = exchange(smboauth.StaticToken(smboauth.AccessToken{Token: tok.AccessToken, ExpiresOn: tok.ExpiresOn}), oauthAcct)
		wantErr(t, err, smboauth.ErrUnauthorized, "InvalidAuthenticationInfo", "https://storage.azure.com")
	})
	t.Run("expired token", func(t *testing.T) {
		ts, _ := c.ClientSecretTokens(lab.app.ClientID, lab.app.Secret)
		tok, err := ts.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		lab.emu.SetClockOffset(2 * time.Hour)
		defer lab.emu.SetClockOffset(0)
		wantErr(t, exchange(smboauth.StaticToken(tok), oauthAcct), smboauth.ErrUnauthorized, "expired")
	})
	t.Run("no SMB role", func(t *testing.T) {
		ts, _ := c.ClientSecretTokens(lab.noRoleApp.ClientID, lab.noRoleApp.Secret)
		wantErr(t, exchange(ts, oauthAcct), smboauth.ErrForbidden, "AuthorizationPermissionMismatch", "Storage File Data SMB MI Admin")
	})
	t.Run("SMB OAuth off", func(t *testing.T) {
		wantErr(t, exchange(secretApp, closedAcct), smboauth.ErrForbidden, "AuthorizationFailure", "SMB OAuth must be enabled")
	})
	t.Run("wrong secret", func(t *testing.T) {
		ts, _ := c.ClientSecretTokens(lab.app.ClientID, "not-the-secret")
		err := exchange(ts, oauthAcct)
		wantErr(t, err, smboauth.ErrClientCredentials, "AADSTS7000215", "secret's value")
		if bytes.Contains([]byte(err.Error()), []byte("not-the-secret")) {
			t.Error("the error shows the secret")
		}
	})
}

// TestSMBOAuthRenewal runs a session across its ticket's end (SMB OAuth
// tickets are not renewable: a new one comes from a new exchange). The
// ticket is exchanged again RenewBefore its end, and when the server
// expires the first session, that session authenticates again by itself
// with a fresh ticket: a file opened before the expiry still reads, and an
// upload that straddles it completes byte-exact. Service tickets
// shorter than about 5 minutes are refused by the lab's KDC, so this
// takes over 5 minutes.
func TestSMBOAuthRenewal(t *testing.T) {
	labtest.Need(t)
	// The other tests run beside it.
	t.Parallel()
	// An emulator of its own: other tests move the shared one's clock.
	emu, err := entratest.NewServer(entratest.Options{
		Domain: tenantDN, KDCs: []string{net.JoinHostPort(entraAddr, "88")},
		Apps: []entratest.App{lab.app},
		SMBOAuth: &entratest.SMBOAuth{
			KDCs: lab.emuFilesKDCs, ClientPassword: lab.filesPW,
			Accounts: []entratest.Account{{Name: oauthAcct}}, TicketLifetime: 5*time.Minute + 20*time.Second,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	c := emu.SMBOAuthConfig()
	ts, err := c.ClientSecretTokens(lab.app.ClientID, lab.app.Secret)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Exchange(ts)
	o.Endpoint = emu.FileEndpoint()
	o.RenewBefore = 5 * time.Minute
	k := oauthKerberos(t)
	d := &smb.Dialer{Kerberos: k, CCache: testmain.MemoryCache(t, k), Credentials: o}

	s1, err := d.Dial(t.Context(), oauthServer(oauthAcct))
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	first := s1.Info().Ticket.EndTime
	sh, err := s1.Mount(t.Context(), samba.ShareEncrypted)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	early := make([]byte, 3<<20)
	rand.Read(early)
	if err := sh.WriteFile(t.Context(), "renew-early.bin", early); err != nil {
		t.Fatal(err)
	}
	f, err := sh.Open(t.Context(), "renew-early.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// An upload that is half done when the ticket ends.
	late := make([]byte, 4<<20+123)
	rand.Read(late)
	pr, pw := io.Pipe()
	putDone := make(chan error, 1)
	go func() {
		_, err := sh.Put(t.Context(), "renew-late.bin", pr, &smb.PutOptions{TransferOptions: smb.TransferOptions{ChunkSize: 256 << 10}})
		putDone <- err
	}()
	wrote := make(chan error, 1)
	go func() {
		_, err := pw.Write(late[:len(late)/2])
		wrote <- err
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case err := <-putDone:
		t.Fatalf("the upload ended before its first half was written: %v", err)
	}

	// Within RenewBefore of the end, a new dial exchanges again.
	time.Sleep(25 * time.Second)
	s2, err := d.Dial(t.Context(), oauthServer(oauthAcct))
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if n := emu.Requests("kerbticket"); n != 2 {
		t.Fatalf("%d exchanges after the renewal margin, want 2", n)
	}
	if !s2.Info().Ticket.EndTime.After(first) {
		t.Fatalf("the second ticket ends %v, the first %v", s2.Info().Ticket.EndTime, first)
	}

	// Past the first ticket's end, the first session is expired at the
	// server; its next requests renew it.
	select {
	case err := <-putDone:
		t.Fatalf("the upload ended while waiting for more data: %v", err)
	case <-time.After(time.Until(first) + 15*time.Second):
	}
	got := make([]byte, len(early))
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, early) {
		t.Fatalf("reading the file opened before the expiry: %v", err)
	}
	go func() {
		pw.Write(late[len(late)/2:])
		pw.Close()
	}()
	if err := <-putDone; err != nil {
		pr.CloseWithError(err)
		t.Fatalf("the upload across the expiry: %v", err)
	}
	back, err := sh.ReadFile(t.Context(), "renew-late.bin")
	if err != nil || !bytes.Equal(back, late) {
		t.Fatalf("the upload across the expiry came back different (%d bytes, %v)", len(back), err)
	}
	if r := s1.Info().Renewals; r != 1 {
		t.Errorf("the session authenticated again %d times, want 1", r)
	}
	// The second ticket was within RenewBefore of its end by then too:
	// the renewal exchanged for a third.
	if n := emu.Requests("kerbticket"); n != 3 {
		t.Errorf("%d exchanges, want 3", n)
	}
	if end := s1.Info().Ticket.EndTime; !end.After(s2.Info().Ticket.EndTime) {
		t.Errorf("the renewed session's ticket ends %v, not after the second ticket (%v)", end, s2.Info().Ticket.EndTime)
	}
	sh.Remove(t.Context(), "renew-early.bin")
	sh.Remove(t.Context(), "renew-late.bin")
}
