package smboauth

import (
	"crypto/x509"
	"net/http"
	"time"

	"github.com/smbkrb/smbkrb/internal/aad"
)

// DefaultAuthority is Microsoft Entra ID's login service, which issues an
// application's tokens.
const DefaultAuthority = aad.DefaultAuthority

// Config says how an application's tokens are obtained and how the
// storage account is reached. Managed identities need none of it
// (ManagedIdentityTokens). The zero value of every field but Tenant is
// the real service with TLS verified against the system's roots.
type Config struct {
	// Tenant is the directory (tenant) ID or a verified domain of the
	// application's tenant. Required for ClientSecretTokens and
	// ClientCertificateTokens.
	Tenant string

	// Authority is the base URL of the login service; "" means
	// DefaultAuthority. A sovereign cloud or the emulator
	// (entra/entratest) sets it.
	Authority string

	// HTTPClient carries every request (token endpoint and exchange). Nil
	// means a client whose TLS verifies certificates against RootCAs (or
	// the system's roots), that goes through HTTPS_PROXY when the
	// environment sets one and that follows no redirects.
	HTTPClient *http.Client

	// RootCAs are the roots trusted when HTTPClient is nil; nil means the
	// system's roots.
	RootCAs *x509.CertPool

	// Timeout bounds one HTTPS request when the caller's context has no
	// earlier deadline; 0 means 30 seconds.
	Timeout time.Duration
}

// Exchange is an Exchange of tokens with c's HTTP client (and so its
// trust roots) and timeout.
func (c *Config) Exchange(tokens TokenSource) *Exchange {
	return &Exchange{Tokens: tokens, HTTPClient: c.httpClient(), Timeout: c.Timeout}
}

// authorityURL is the tenant's authority for MSAL.
func (c *Config) authorityURL() (string, error) {
	if c == nil {
		return "", aad.CheckTenant("")
	}
	if err := aad.CheckTenant(c.Tenant); err != nil {
		return "", err
	}
	if err := aad.CheckHTTPS("Authority", c.Authority); err != nil {
		return "", err
	}
	return aad.TenantAuthority(c.Authority, c.Tenant), nil
}

// httpClient is c.HTTPClient or one built from RootCAs.
func (c *Config) httpClient() *http.Client {
	if c == nil {
		return aad.HTTPClient(nil)
	}
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return aad.HTTPClient(c.RootCAs)
}
