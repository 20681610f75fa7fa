package krb5

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/smbkrb/smbkrb/kkdcp"
)

// maxKDCReply bounds a KDC reply; real ones are a few KiB (a PAC can make a
// ticket tens of KiB).
const maxKDCReply = 1 << 20

// realmTransport carries one realm's KDC exchanges: its KDCs in order,
// each over TCP or through an MS-KKDCP proxy.
type realmTransport struct {
	realm   string
	kdcs    []kdcEndpoint
	proxies map[string]*kkdcp.Client
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration
}

func newTransports(cfg *Config) (map[string]*realmTransport, error) {
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		}}
	}
	dial := cfg.DialContext
	if dial == nil {
		d := &net.Dialer{}
		dial = d.DialContext
	}
	m := map[string]*realmTransport{}
	for _, r := range cfg.Realms {
		t := &realmTransport{realm: r.Name, proxies: map[string]*kkdcp.Client{}, dial: dial, timeout: cfg.kdcTimeout()}
		for _, s := range r.KDCs {
			ep, err := parseKDC(s)
			if err != nil {
				return nil, fmt.Errorf("krb5: config: realm %s: %w", r.Name, err)
			}
			t.kdcs = append(t.kdcs, ep)
			if ep.url != "" {
				t.proxies[ep.url] = &kkdcp.Client{URL: ep.url, HTTPClient: httpClient, MaxReplySize: maxKDCReply}
			}
		}
		m[r.Name] = t
	}
	return m, nil
}

// exchange sends req to the realm's KDCs in order until one answers. Each
// attempt is bounded by the transport timeout and by ctx.
func (t *realmTransport) exchange(ctx context.Context, req []byte) ([]byte, error) {
	var errs []error
	for _, ep := range t.kdcs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		actx, cancel := context.WithTimeout(ctx, t.timeout)
		var resp []byte
		var err error
		if ep.url != "" {
			resp, err = t.proxies[ep.url].Exchange(actx, t.realm, req)
		} else {
			resp, err = kkdcp.ExchangeTCP(actx, t.dial, ep.tcp, req, maxKDCReply)
			if err != nil {
				err = fmt.Errorf("KDC %s: %w", ep.tcp, err)
			}
		}
		cancel()
		if err == nil {
			return resp, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("realm %s has no KDC", t.realm)
	}
	return nil, errors.Join(errs...)
}
