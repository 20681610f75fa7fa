package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/platform/linux"
	"github.com/smbkrb/smbkrb/smboauth"
)

// oauthWanted reports whether the settings ask for SMB OAuth.
func (o *options) oauthWanted() bool {
	return o.oauthClientID != "" || o.managedIdentity || o.managedID != ""
}

// oauthCacheName is the credential cache of SMB OAuth tickets: --cache,
// else a FILE: cache in the state directory, so that later commands reuse
// a ticket until it nears its end and klist shows it.
func (o *options) oauthCacheName() (string, error) {
	if o.cache != "" {
		return o.cache, nil
	}
	dir, err := linux.StateDir()
	if err != nil {
		return "", err
	}
	return "FILE:" + filepath.Join(dir, "smboauth", "krb5cc"), nil
}

// oauthCredentials is the SMB OAuth exchange the settings describe: an
// application with a certificate or a secret, or a managed identity.
func (a *app) oauthCredentials(cmd string, o *options) (*smboauth.Exchange, error) {
	kinds := 0
	for _, set := range []bool{o.oauthClientID != "", o.managedIdentity, o.managedID != ""} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		return nil, usagef(cmd, "--oauth-client-id, --managed-identity and --managed-identity-id exclude each other")
	}
	if o.user != "" {
		return nil, usagef(cmd, "--user and SMB OAuth (--oauth-client-id, --managed-identity) exclude each other")
	}
	pool, err := rootCAs(cmd, o)
	if err != nil {
		return nil, err
	}
	var x *smboauth.Exchange
	switch {
	case o.managedIdentity || o.managedID != "":
		ts, err := smboauth.ManagedIdentityTokens(o.managedID, nil)
		if err != nil {
			return nil, err
		}
		x = (&smboauth.Config{RootCAs: pool, Timeout: o.timeout}).Exchange(ts)
	default:
		var ts smboauth.TokenSource
		if !o.entraConfigured() {
			return nil, settingf(cmd, "add a line 'entra-tenant TENANT-ID' to the configuration file, or pass --entra-tenant", "an application's tokens need its Entra tenant, and none is set")
		}
		c := &smboauth.Config{Tenant: o.entraTenant, Authority: o.entraAuthority, RootCAs: pool, Timeout: o.timeout}
		secret := a.getenv("SMBKRB_OAUTH_SECRET")
		switch {
		case o.oauthCert != "" && (o.oauthSecretFile != "" || secret != ""):
			return nil, usagef(cmd, "--oauth-cert excludes a client secret (--oauth-secret-file, $SMBKRB_OAUTH_SECRET)")
		case o.oauthCert != "":
			pem, err := readPrivateFile(cmd, o.oauthCert, "the application's certificate and key")
			if err != nil {
				return nil, err
			}
			certs, key, err := smboauth.ParseCertificateKey(pem)
			clear(pem)
			if err != nil {
				return nil, settingf(cmd, "--oauth-cert takes a PEM file with the certificate and its private key", "--oauth-cert %s: %v", o.oauthCert, err)
			}
			if ts, err = c.ClientCertificateTokens(o.oauthClientID, certs, key); err != nil {
				return nil, err
			}
		case o.oauthSecretFile != "":
			b, err := readPasswordFile(cmd, o.oauthSecretFile)
			if err != nil {
				return nil, err
			}
			secret = string(b)
			clear(b)
			fallthrough
		case secret != "":
			if ts, err = c.ClientSecretTokens(o.oauthClientID, secret); err != nil {
				return nil, err
			}
		default:
			return nil, usagef(cmd, "--oauth-client-id needs --oauth-cert FILE or a secret (--oauth-secret-file FILE, $SMBKRB_OAUTH_SECRET)")
		}
		x = c.Exchange(ts)
	}
	x.Endpoint = o.oauthEndpoint
	x.OnExchange = func(ft smboauth.Ticket) {
		a.logf("exchanged an access token for a ticket for %s, valid until %s", ft.Server, ft.Expires.Local().Format(time.DateTime))
	}
	return x, nil
}

// readPrivateFile reads a whole file that holds a secret and that only its
// owner may read.
func readPrivateFile(cmd, path, what string) ([]byte, error) {
	f, err := openPrivate(cmd, path, what)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// klistOAuth is the SMB OAuth part of klist: the tickets in the SMB OAuth
// cache, if it exists.
func (a *app) klistOAuth(k *krb5.Context, o *options) (string, []ticketJSON) {
	if o.cache != "" {
		return "", nil
	}
	name, err := o.oauthCacheName()
	if err != nil {
		return "", nil
	}
	if _, err := os.Stat(cacheFile(name)); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	full, principal, tickets, err := readCache(k, name)
	if err != nil || !strings.HasSuffix(principal, "@"+smboauth.FilesRealm) {
		return "", nil
	}
	return full, ticketsJSON(tickets, time.Now())
}
