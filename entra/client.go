package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/smbkrb/smbkrb/internal/aad"
	"github.com/smbkrb/smbkrb/krb5"
)

// Client talks to one tenant's Entra ID endpoints. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	http *http.Client

	mu   sync.Mutex
	oidc *oidcMetadata
}

// NewClient checks cfg and returns a client for its tenant. It makes no
// request.
func NewClient(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: *cfg}
	c.http = c.cfg.httpClient()
	return c, nil
}

// Config returns the client's configuration (do not modify it).
func (c *Client) Config() *Config { return &c.cfg }

// oidcMetadata is what this package reads of the tenant's OpenID
// configuration.
type oidcMetadata struct {
	Issuer           string `json:"issuer"`
	TokenEndpoint    string `json:"token_endpoint"`
	KerberosEndpoint string `json:"kerberos_endpoint"`
	TenantRegion     string `json:"tenant_region_scope"`
}

// discover reads (once) the tenant's OpenID configuration.
func (c *Client) discover(ctx context.Context) (*oidcMetadata, error) {
	c.mu.Lock()
	m := c.oidc
	c.mu.Unlock()
	if m != nil {
		return m, nil
	}
	const op = "discover"
	u := c.cfg.authorityURL() + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	status, body, err := c.do(ctx, op, req)
	if err != nil {
		return nil, err
	}
	if status == http.StatusBadRequest || status == http.StatusNotFound {
		e := aad.ReplyError(op, status, body).(*Error)
		e.Err = fmt.Errorf("no tenant %q at %s: check the tenant ID or domain", c.cfg.Tenant, c.cfg.authority())
		return nil, e
	}
	m = &oidcMetadata{}
	if err := decodeReply(op, status, body, m); err != nil {
		return nil, err
	}
	if m.TokenEndpoint == "" {
		return nil, aad.DecodeError(op, "the OpenID configuration has no token_endpoint", nil)
	}
	c.mu.Lock()
	c.oidc = m
	c.mu.Unlock()
	return m, nil
}

// KDCProxy returns the MS-KKDCP URL of KerberosRealm for the tenant:
// Config.KDCProxy; else, for a tenant ID, <Authority>/<Tenant>/kerberos
// without a request; else (a tenant named by domain) the kerberos_endpoint
// of the tenant's OpenID configuration.
func (c *Client) KDCProxy(ctx context.Context) (string, error) {
	if c.cfg.KDCProxy != "" {
		return c.cfg.KDCProxy, nil
	}
	if guidRE.MatchString(c.cfg.Tenant) {
		return c.cfg.authorityURL() + "/kerberos", nil
	}
	m, err := c.discover(ctx)
	if err != nil {
		return "", err
	}
	if m.KerberosEndpoint != "" {
		p, err := url.Parse(m.KerberosEndpoint)
		if err != nil || p.Scheme != "https" || p.Host == "" {
			return "", aad.DecodeError("discover", "kerberos_endpoint is not an https URL", nil)
		}
		return m.KerberosEndpoint, nil
	}
	return c.cfg.authorityURL() + "/kerberos", nil
}

// Realm returns KerberosRealm with the tenant's KDC proxy as its KDC, for
// krb5.Config.Realms.
func (c *Client) Realm(ctx context.Context) (krb5.Realm, error) {
	u, err := c.KDCProxy(ctx)
	if err != nil {
		return krb5.Realm{}, err
	}
	return krb5.Realm{Name: KerberosRealm, KDCs: []string{u}}, nil
}

// AddRealm makes cfg reach Azure Files with Entra Kerberos: it adds
// KerberosRealm with the tenant's KDC proxy (Realm; unless cfg lists
// that realm already, whose KDCs then stay) and the Azure Files host
// mappings after cfg's own, which win for the hosts they name.
func (c *Client) AddRealm(ctx context.Context, cfg *krb5.Config) error {
	have := false
	for _, r := range cfg.Realms {
		have = have || r.Name == KerberosRealm
	}
	if !have {
		realm, err := c.Realm(ctx)
		if err != nil {
			return err
		}
		cfg.Realms = append(cfg.Realms, realm)
	}
	cfg.HostRealms = HostRealms(nil, cfg.HostRealms...)
	return nil
}

// HostRealms maps Azure Files (FileSuffix) and Entra's Kerberos top-level
// names (from a sign-in; ports dropped) to KerberosRealm, after the
// caller's overrides: list storage accounts that use AD DS, or another
// realm, in overrides ("adacct.file.core.windows.net" → "CORP.CONTOSO.COM")
// so that both kinds work side by side. An exact host always wins over a
// suffix (krb5.Config.HostRealms).
func HostRealms(topLevelNames []string, overrides ...krb5.HostRealm) []krb5.HostRealm {
	out := append([]krb5.HostRealm(nil), overrides...)
	seen := map[string]bool{}
	for _, o := range overrides {
		seen[strings.ToLower(o.Host)] = true
	}
	add := func(h string) {
		h = strings.ToLower(strings.TrimSpace(h))
		if i := strings.IndexByte(h, ':'); i >= 0 {
			h = h[:i]
		}
		if h == "" || h == "." || seen[h] {
			return
		}
		if !strings.HasPrefix(h, ".") {
			h = "." + h
		}
		if seen[h] {
			return
		}
		seen[h] = true
		out = append(out, krb5.HostRealm{Host: h, Realm: KerberosRealm})
	}
	add(FileSuffix)
	for _, n := range topLevelNames {
		add(n)
	}
	return out
}

// jsonString decodes s, a JSON document carried inside a JSON string (as
// tgt_cloud is), into out.
func jsonString(s string, out any) error {
	return json.Unmarshal([]byte(s), out)
}
