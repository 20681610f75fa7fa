package main

/*
#include "capi.h"
*/
import "C"

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
)

// defaultTimeout bounds connect and metadata operations when neither the
// call nor the configuration says otherwise (the CLI's --timeout).
const defaultTimeout = 60 * time.Second

// config is an smbkrb_config: settings until the first connect, then the
// Kerberos context made from them, which lives while the handle or a
// session holds a reference.
type config struct {
	mu      sync.Mutex
	kcfg    krb5.Config
	roots   *x509.CertPool
	encrypt bool
	ciphers []smb.Cipher
	timeout time.Duration
	tenant  string
	auth    string // Entra authority
	oauthEP string

	// After the first connect:
	k     *krb5.Context
	entra *entra.Client
	refs  int // the handle and each session
}

// fixed reports whether the configuration can no longer change.
func (c *config) fixed() bool { return c.k != nil }

// change applies f unless the configuration is fixed.
func configChange(p *C.smbkrb_config, what string, f func(c *config) error) (rc C.int) {
	defer recoverTo(what, &rc)
	c, err := lookup[*config](unsafe.Pointer(p), magicConfig)
	if err != nil {
		return status(what, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fixed() {
		return status(what, usagef("the configuration is in use by a connection and can no longer change: make a new one"))
	}
	return status(what, f(c))
}

// open makes the Kerberos context on the first connect (with the Entra
// realm, found through the tenant's metadata, when a tenant is set) and
// takes a reference for the session.
func (c *config) open(ctx context.Context) (*krb5.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.k != nil {
		c.refs++
		return c.k, nil
	}
	kcfg := c.kcfg
	kcfg.Realms = append([]krb5.Realm(nil), c.kcfg.Realms...)
	kcfg.RootCAs = c.roots
	if c.tenant != "" {
		ec, err := entra.NewClient(&entra.Config{Tenant: c.tenant, Authority: c.auth, RootCAs: c.roots, Timeout: c.timeout})
		if err != nil {
			return nil, fmt.Errorf("the Entra settings (smbkrb_config_set_entra): %w", err)
		}
		if err := ec.AddRealm(ctx, &kcfg); err != nil {
			return nil, err
		}
		c.entra = ec
	}
	k, err := krb5.NewContext(&kcfg)
	if err != nil {
		return nil, err
	}
	c.k = k
	c.refs++
	return k, nil
}

// release drops a reference; the last one closes the Kerberos context.
func (c *config) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refs--
	if c.refs == 0 && c.k != nil {
		c.k.Close()
		c.k = nil
	}
}

func (c *config) opTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
}

//export smbkrb_config_new
func smbkrb_config_new(out **C.smbkrb_config) (rc C.int) {
	begin()
	defer recoverTo("smbkrb_config_new", &rc)
	if out == nil {
		return status("smbkrb_config_new", usagef("out is NULL"))
	}
	*out = (*C.smbkrb_config)(newHandle(magicConfig, &config{timeout: defaultTimeout, refs: 1}))
	return C.SMBKRB_OK
}

//export smbkrb_config_free
func smbkrb_config_free(p *C.smbkrb_config) {
	begin()
	if c, ok := freeHandle[*config](unsafe.Pointer(p), magicConfig); ok {
		c.release()
	}
}

// need is an error for a required string argument that is empty.
func need(name, value string) error {
	if value == "" {
		return usagef("%s is NULL or empty", name)
	}
	return nil
}

//export smbkrb_config_add_kdc
func smbkrb_config_add_kdc(p *C.smbkrb_config, realm, kdc *C.smbkrb_cchar) C.int {
	begin()
	r, k := goString(realm), goString(kdc)
	return configChange(p, "smbkrb_config_add_kdc", func(c *config) error {
		if err := need("realm", r); err != nil {
			return err
		}
		if err := need("kdc", k); err != nil {
			return err
		}
		if strings.HasPrefix(k, "http://") {
			return usagef("KDC %s: a KDC proxy must be https://", k)
		}
		if err := (&krb5.Config{Realms: []krb5.Realm{{Name: r, KDCs: []string{k}}}}).Validate(); err != nil {
			return usagef("%v", err)
		}
		for i := range c.kcfg.Realms {
			if c.kcfg.Realms[i].Name == r {
				c.kcfg.Realms[i].KDCs = append(c.kcfg.Realms[i].KDCs, k)
				return nil
			}
		}
		c.kcfg.Realms = append(c.kcfg.Realms, krb5.Realm{Name: r, KDCs: []string{k}})
		return nil
	})
}

//export smbkrb_config_set_default_realm
func smbkrb_config_set_default_realm(p *C.smbkrb_config, realm *C.smbkrb_cchar) C.int {
	begin()
	r := goString(realm)
	return configChange(p, "smbkrb_config_set_default_realm", func(c *config) error {
		c.kcfg.DefaultRealm = r
		return nil
	})
}

//export smbkrb_config_map_host
func smbkrb_config_map_host(p *C.smbkrb_config, host, realm *C.smbkrb_cchar) C.int {
	begin()
	h, r := goString(host), goString(realm)
	return configChange(p, "smbkrb_config_map_host", func(c *config) error {
		if err := need("host", h); err != nil {
			return err
		}
		if err := need("realm", r); err != nil {
			return err
		}
		c.kcfg.HostRealms = append(c.kcfg.HostRealms, krb5.HostRealm{Host: h, Realm: r})
		return nil
	})
}

// addCA adds PEM certificates to c's roots.
func (c *config) addCA(pem []byte, from string) error {
	if c.roots == nil {
		c.roots = x509.NewCertPool()
	}
	if !c.roots.AppendCertsFromPEM(pem) {
		return usagef("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", from)
	}
	return nil
}

//export smbkrb_config_add_ca_file
func smbkrb_config_add_ca_file(p *C.smbkrb_config, path *C.smbkrb_cchar) C.int {
	begin()
	f := goString(path)
	return configChange(p, "smbkrb_config_add_ca_file", func(c *config) error {
		if err := need("path", f); err != nil {
			return err
		}
		pem, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		return c.addCA(pem, f)
	})
}

//export smbkrb_config_add_ca_pem
func smbkrb_config_add_ca_pem(p *C.smbkrb_config, pem *C.smbkrb_cvoid, n C.size_t) C.int {
	begin()
	var b []byte
	if pem != nil && n > 0 {
		b = C.GoBytes(unsafe.Pointer(pem), C.int(n))
	}
	return configChange(p, "smbkrb_config_add_ca_pem", func(c *config) error {
		return c.addCA(b, "the PEM buffer")
	})
}

//export smbkrb_config_set_encrypt
func smbkrb_config_set_encrypt(p *C.smbkrb_config, required C.int) C.int {
	begin()
	return configChange(p, "smbkrb_config_set_encrypt", func(c *config) error {
		c.encrypt = required != 0
		return nil
	})
}

//export smbkrb_config_set_ciphers
func smbkrb_config_set_ciphers(p *C.smbkrb_config, list *C.smbkrb_cchar) C.int {
	begin()
	l := goString(list)
	return configChange(p, "smbkrb_config_set_ciphers", func(c *config) error {
		var cs []smb.Cipher
		for _, name := range strings.Split(l, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			ci, err := smb.ParseCipher(name)
			if err != nil {
				return usagef("%v", err)
			}
			cs = append(cs, ci)
		}
		if len(cs) == 0 {
			return usagef("no cipher in %q: name one or more of AES-128-GCM, AES-256-GCM, AES-128-CCM, AES-256-CCM", l)
		}
		c.ciphers = cs
		return nil
	})
}

//export smbkrb_config_set_timeout_ms
func smbkrb_config_set_timeout_ms(p *C.smbkrb_config, ms C.int64_t) C.int {
	begin()
	return configChange(p, "smbkrb_config_set_timeout_ms", func(c *config) error {
		if ms < 0 {
			return usagef("the timeout is negative (%d ms)", int64(ms))
		}
		c.timeout = time.Duration(ms) * time.Millisecond
		if ms == 0 {
			c.timeout = defaultTimeout
		}
		return nil
	})
}

//export smbkrb_config_set_temp_dir
func smbkrb_config_set_temp_dir(p *C.smbkrb_config, dir *C.smbkrb_cchar) C.int {
	begin()
	d := goString(dir)
	return configChange(p, "smbkrb_config_set_temp_dir", func(c *config) error {
		c.kcfg.TempDir = d
		return nil
	})
}

//export smbkrb_config_set_entra
func smbkrb_config_set_entra(p *C.smbkrb_config, tenant, authority *C.smbkrb_cchar) C.int {
	begin()
	t, a := goString(tenant), goString(authority)
	return configChange(p, "smbkrb_config_set_entra", func(c *config) error {
		if err := need("tenant", t); err != nil {
			return err
		}
		if a != "" && !strings.HasPrefix(a, "https://") {
			return usagef("the Entra authority %s must be an https:// URL", a)
		}
		c.tenant, c.auth = t, a
		return nil
	})
}

//export smbkrb_config_set_oauth_endpoint
func smbkrb_config_set_oauth_endpoint(p *C.smbkrb_config, url *C.smbkrb_cchar) C.int {
	begin()
	u := goString(url)
	return configChange(p, "smbkrb_config_set_oauth_endpoint", func(c *config) error {
		if u != "" && !strings.HasPrefix(u, "https://") {
			return usagef("the SMB OAuth endpoint %s must be an https:// URL", u)
		}
		c.oauthEP = u
		return nil
	})
}
