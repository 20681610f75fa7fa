package smboauth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smboauth"
)

// Azure Files SMB OAuth for a managed identity: no KDC, no TGT, no user.
// An OAuth token for https://storage.azure.com is exchanged at the
// storage account for a service ticket, and exchanged again before the
// ticket ends, so a long-running session keeps going.
func Example() {
	ctx := context.Background()
	tokens, err := smboauth.ManagedIdentityTokens("", nil) // the system-assigned identity
	if err != nil {
		log.Fatal(err)
	}
	k, err := krb5.NewContext(&krb5.Config{}) // no realm, no KDC
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	d := &smb.Dialer{Kerberos: k, Credentials: &smboauth.Exchange{Tokens: tokens}, Encrypt: true}
	s, err := d.Dial(ctx, smb.Server{Name: "acct.file.core.windows.net", Realm: smboauth.FilesRealm})
	switch {
	case errors.Is(err, smboauth.ErrForbidden):
		log.Fatal("SMB OAuth is off on the account, or the identity has no SMB data role: ", err)
	case errors.Is(err, smboauth.ErrUnauthorized):
		log.Fatal("the token was refused: ", err)
	case err != nil:
		log.Fatal(err)
	}
	defer s.Close()
	share, err := s.Mount(ctx, "telemetry")
	if err != nil {
		log.Fatal(err)
	}
	defer share.Close()
	if err := share.WriteFile(ctx, "press-17/heartbeat.json", []byte(`{"ok":true}`)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("written as", s.Info().Client) // AzureFileClient@FILES.AZURE.STORAGE.MICROSOFT.COM
}

// An application with a certificate: its tokens by the client-credentials
// flow of its tenant, exchanged for tickets as above.
func ExampleConfig_ClientCertificateTokens() {
	pem, err := os.ReadFile("/etc/press-17/app.pem") // certificate and key, mode 0600
	if err != nil {
		log.Fatal(err)
	}
	certs, key, err := smboauth.ParseCertificateKey(pem)
	clear(pem)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &smboauth.Config{Tenant: "6f1c9a52-3d4e-4b8a-9c21-5e7f0a1b2c3d"}
	tokens, err := cfg.ClientCertificateTokens("3c2b1a09-8f7e-4d6c-b5a4-938271605f4e", certs, key)
	if err != nil {
		log.Fatal(err)
	}
	k, err := krb5.NewContext(&krb5.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	d := &smb.Dialer{Kerberos: k, Credentials: cfg.Exchange(tokens), Encrypt: true}
	s, err := d.Dial(context.Background(), smb.Server{Name: "acct.file.core.windows.net", Realm: smboauth.FilesRealm})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println("signed in as", s.Info().Client)
}
