package entra

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/internal/aad"
)

// Well-known names of the Entra flows (../shared/ENTRA.md).
const (
	// KerberosRealm is the realm of Microsoft Entra Kerberos: the cloud TGT
	// and the service tickets for Azure Files accounts that use it.
	KerberosRealm = "KERBEROS.MICROSOFTONLINE.COM"
	// FileSuffix is the DNS suffix of Azure Files endpoints; it is mapped
	// to KerberosRealm (narrower than Microsoft's own "windows.net", so
	// that storage accounts joined to AD DS can keep their realm).
	FileSuffix = ".file.core.windows.net"

	// DefaultAuthority is the Entra ID login service.
	DefaultAuthority = aad.DefaultAuthority
	// DefaultDeviceRegistration is the Device Registration Service.
	DefaultDeviceRegistration = "https://enterpriseregistration.windows.net"

	// BrokerClientID is the Microsoft Authentication Broker application,
	// whose refresh tokens a PRT request accepts; a device-code sign-in
	// with it gives both the DRS access token and that refresh token.
	BrokerClientID = "29d9ed98-a469-4536-ade2-f981bc1d605e"
	// PRTClientID is the client of password PRT requests and refreshes.
	PRTClientID = "38aa3b87-a06d-4817-b275-7a316988d93b"
	// DRSResource is the application ID of the Device Registration
	// Service, the audience of the access token a join needs.
	DRSResource = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9"
)

// Config describes the tenant and how to reach Entra ID. The zero value
// of every field but Tenant is the real service with TLS verified against
// the system's roots. A Config must not be modified after it is passed to
// NewClient.
type Config struct {
	// Tenant is the directory (tenant) ID, a GUID, or a verified domain of
	// the tenant such as "contoso.onmicrosoft.com". Required.
	Tenant string

	// Domain is the domain whose Device Registration Service is
	// discovered ("contoso.com"); "" means the domain of the signing-in
	// user's name, or Tenant when that is a domain.
	Domain string

	// Authority is the base URL of the login service; "" means
	// DefaultAuthority. A sovereign cloud or the emulator
	// (entra/entratest) sets it.
	Authority string

	// DeviceRegistration is the base URL of the Device Registration
	// Service; "" means DefaultDeviceRegistration.
	DeviceRegistration string

	// KDCProxy is the MS-KKDCP URL of KerberosRealm; "" means the
	// kerberos_endpoint the tenant's OpenID metadata publishes, or
	// <Authority>/<Tenant>/kerberos.
	KDCProxy string

	// HTTPClient carries every request. Nil means a client whose TLS
	// verifies certificates against RootCAs (or the system's roots) and
	// that goes through HTTPS_PROXY when the environment sets one.
	HTTPClient *http.Client

	// RootCAs are the roots trusted when HTTPClient is nil; nil means the
	// system's roots.
	RootCAs *x509.CertPool

	// Timeout bounds one HTTPS request when the caller's context has no
	// earlier deadline; 0 means 30 seconds.
	Timeout time.Duration

	// RefreshBefore is how long before the cloud TGT ends it is replaced
	// by a PRT refresh; 0 means 1 hour (Entra's TGTs last 10 hours, and a
	// service ticket taken late in the TGT's life would end with it).
	RefreshBefore time.Duration

	// RefreshKDF is the key derivation of PRT refresh requests: 2 (the
	// default, as current Windows: the key depends on the request's
	// contents) or 1 (the key depends on a random context only, as older
	// clients do).
	RefreshKDF int

	// UserAgent, if not "", is sent as the User-Agent header.
	UserAgent string
}

func (c *Config) authority() string { return aad.Authority(c.Authority) }

func (c *Config) deviceRegistration() string {
	if c.DeviceRegistration == "" {
		return DefaultDeviceRegistration
	}
	return strings.TrimRight(c.DeviceRegistration, "/")
}

func (c *Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 30 * time.Second
	}
	return c.Timeout
}

func (c *Config) refreshBefore() time.Duration {
	if c.RefreshBefore <= 0 {
		return time.Hour
	}
	return c.RefreshBefore
}

// tokenURL is the v1 token endpoint that nonces and PRT requests use.
func (c *Config) tokenURL() string {
	return c.authority() + "/" + url.PathEscape(c.Tenant) + "/oauth2/token"
}

// authorityURL is the tenant's authority as MSAL takes it.
func (c *Config) authorityURL() string { return aad.TenantAuthority(c.Authority, c.Tenant) }

func (c *Config) validate() error {
	if err := aad.CheckTenant(c.Tenant); err != nil {
		return fmt.Errorf("entra: %w", err)
	}
	if c.RefreshKDF != 0 && c.RefreshKDF != 1 && c.RefreshKDF != 2 {
		return fmt.Errorf("entra: Config.RefreshKDF is %d: 1 or 2", c.RefreshKDF)
	}
	for name, u := range map[string]string{"Authority": c.Authority, "DeviceRegistration": c.DeviceRegistration, "KDCProxy": c.KDCProxy} {
		if err := aad.CheckHTTPS(name, u); err != nil {
			return fmt.Errorf("entra: %w", err)
		}
	}
	return nil
}

// httpClient is the configured client or the default one.
func (c *Config) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return aad.HTTPClient(c.RootCAs)
}
