package aad

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// MaxReply bounds every reply body: the largest Entra replies (a PRT
// response with two TGTs) are a few tens of KiB.
const MaxReply = 1 << 20

// RoundTrip sends req with hc, bounded by timeout unless ctx has an
// earlier deadline, and returns the status and the body (bounded).
// Network errors name the host, never the query.
func RoundTrip(ctx context.Context, hc *http.Client, timeout time.Duration, userAgent, op string, req *http.Request) (int, []byte, error) {
	var cancel context.CancelFunc
	if _, ok := ctx.Deadline(); ok {
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	req = req.WithContext(ctx)
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		} else {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
		}
		return 0, nil, &Error{Op: op, Err: fmt.Errorf("%s %s://%s%s: %w", req.Method, req.URL.Scheme, req.URL.Host, req.URL.Path, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxReply+1))
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return resp.StatusCode, nil, &Error{Op: op, Status: resp.StatusCode, Err: fmt.Errorf("reading the reply of %s: %w", req.URL.Host, err)}
	}
	if len(body) > MaxReply {
		return resp.StatusCode, nil, DecodeError(op, fmt.Sprintf("the reply of %s is larger than %d bytes", req.URL.Host, MaxReply), nil)
	}
	return resp.StatusCode, body, nil
}

// ReplyError is the error of a reply whose status is not 200: the OAuth
// error body when there is one.
func ReplyError(op string, status int, body []byte) error {
	var oe OAuthError
	if json.Unmarshal(body, &oe) == nil && (oe.Error != "" || oe.Description != "") {
		return Classify(op, status, oe)
	}
	e := &Error{Op: op, Status: status, Err: fmt.Errorf("HTTP %d %s", status, http.StatusText(status))}
	if status == http.StatusUnauthorized {
		e.Err = fmt.Errorf("HTTP 401: %w", ErrUnauthorized)
	}
	return e
}

// MSALError classifies an error of MSAL for Go: its CallErr carries the
// token endpoint's reply.
func MSALError(op string, err error) error {
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil && ce.Resp.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(ce.Resp.Body, MaxReply))
		return ReplyError(op, ce.Resp.StatusCode, body)
	}
	return &Error{Op: op, Err: err}
}

// Clip cuts s to n bytes, marking the cut.
func Clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// HTTPClient is the client both packages use when the caller gives none:
// TLS 1.2 or later verified against roots (nil: the system's), through
// HTTPS_PROXY when the environment sets one, and no redirects followed
// (Entra's and Azure Storage's endpoints answer directly; a redirect is
// an error rather than a request sent with secrets to another place).
func HTTPClient(roots *x509.CertPool) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 15 * time.Second,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// DefaultAuthority is Microsoft Entra ID's login service.
const DefaultAuthority = "https://login.microsoftonline.com"

// CheckTenant says what is wrong with a configured tenant: none given, or
// not a directory ID or domain.
func CheckTenant(tenant string) error {
	if tenant == "" {
		return errors.New("Config.Tenant is required (the directory ID or a verified domain of the tenant)")
	}
	if strings.ContainsAny(tenant, "/?#@ ") {
		return fmt.Errorf("Config.Tenant %q is not a tenant ID or domain", tenant)
	}
	return nil
}

// CheckHTTPS says what is wrong with u, the Config field named field,
// when it is set and not an https:// URL.
func CheckHTTPS(field, u string) error {
	if u == "" {
		return nil
	}
	if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
		//lint:ignore ST1005 it starts with the Go name of the setting
		return fmt.Errorf("Config.%s %q must be an https:// URL", field, u)
	}
	return nil
}

// Authority is the login service's base URL: authority without a
// trailing slash, or DefaultAuthority when it is "".
func Authority(authority string) string {
	if authority == "" {
		return DefaultAuthority
	}
	return strings.TrimRight(authority, "/")
}

// TenantAuthority is the tenant's authority as MSAL takes it.
func TenantAuthority(authority, tenant string) string {
	return Authority(authority) + "/" + url.PathEscape(tenant)
}
