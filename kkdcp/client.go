package kkdcp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	// contentType is the media type of KDC-PROXY-MESSAGE bodies (MS-KKDCP
	// section 2.2.1).
	contentType = "application/kerberos"
	// defaultExchangeTimeout bounds Client.Exchange when ctx has no
	// deadline. A proxy may try several KDCs in turn, so it is longer
	// than one KDC exchange.
	defaultExchangeTimeout = 30 * time.Second
	// maxErrorSnippet bounds the part of an error body quoted in errors.
	maxErrorSnippet = 200
)

// Client posts Kerberos messages to one KDC proxy URL.
//
// The zero value of every field but URL is the safe choice: TLS certificates
// are verified against the system's roots, and replies are bounded. A Client
// is safe for concurrent use. It must not be copied, and its fields must not
// be changed, after its first use.
type Client struct {
	// URL is the proxy's address, https://host[:port]/path, for example
	// https://kdc.example.com/KdcProxy or
	// https://login.microsoftonline.com/<tenant-id>/kerberos.
	// Only https URLs are accepted: MS-KKDCP runs over HTTPS, and TLS keeps
	// principal names and preauthentication data, which can be attacked
	// offline, away from the network path.
	URL string

	// HTTPClient sends the requests. nil means a client of this package's
	// own whose TLS configuration verifies the server's certificate against
	// RootCAs, or the system's roots when RootCAs is nil, which honours
	// HTTPS_PROXY as net/http does, and which follows no redirects. A caller's client is used with its transport and
	// redirect policy, except that a redirect to anything but https is
	// refused.
	HTTPClient *http.Client

	// RootCAs, if not nil, are the roots the proxy's certificate must chain
	// to, instead of the system's. Used only when HTTPClient is nil.
	RootCAs *x509.CertPool

	// MaxReplySize bounds the HTTP reply body in bytes. 0 means 1 MiB.
	// Values above 16 MiB act as 16 MiB, the largest message Unmarshal
	// accepts.
	MaxReplySize int64

	// UserAgent, if not "", is sent as the User-Agent header.
	UserAgent string

	once   sync.Once
	client *http.Client // HTTPClient, or the default built on first use
}

// Exchange sends req, one Kerberos message (for example an AS-REQ or a
// TGS-REQ) as DER without a length prefix, to the proxy for realm, and
// returns the Kerberos reply without its length prefix.
//
// The request ends when ctx is done, or after 30 seconds if ctx has no
// deadline; the error then wraps ctx's error, so
// errors.Is(err, context.DeadlineExceeded) reports a timeout. A reply with a
// status other than 200 OK is an error that names the URL and the status.
func (c *Client) Exchange(ctx context.Context, realm string, req []byte) ([]byte, error) {
	u, err := c.parseURL()
	if err != nil {
		return nil, err
	}
	where := "kkdcp: POST " + u.Redacted()
	if realm == "" {
		return nil, fmt.Errorf("%s: no realm given", where)
	}
	body, err := (&Message{KerbMessage: req, TargetDomain: realm}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultExchangeTimeout)
		defer cancel()
	}
	reply, err := c.post(ctx, u, body)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%v)", cerr, err)
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return reply, nil
}

func (c *Client) post(ctx context.Context, u *url.URL, body []byte) ([]byte, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", contentType)
	hreq.Header.Set("Cache-Control", "no-cache")
	if c.UserAgent != "" {
		hreq.Header.Set("User-Agent", c.UserAgent)
	}

	resp, err := c.httpClient().Do(hreq)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is already in the message
		}
		return nil, err
	}
	defer resp.Body.Close()

	if resp.Request != nil && resp.Request.URL != nil && resp.Request.URL.Scheme != "https" {
		return nil, fmt.Errorf("refusing a reply from %s: not https", resp.Request.URL.Redacted())
	}
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorSnippet))
		msg := fmt.Sprintf("server answered %s", sanitize([]byte(resp.Status)))
		if s := sanitize(snippet); s != "" {
			msg += fmt.Sprintf(": %q", s)
		}
		return nil, errors.New(msg)
	}

	limit := c.MaxReplySize
	if limit <= 0 {
		limit = defaultMaxReply
	}
	if limit > maxEncodedLen {
		limit = maxEncodedLen
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reply is larger than the %d bytes allowed", limit)
	}
	m, err := Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("reply: %w", err)
	}
	return m.KerbMessage, nil
}

// parseURL checks c.URL: https, with a host.
func (c *Client) parseURL() (*url.URL, error) {
	if c.URL == "" {
		return nil, errors.New("kkdcp: no proxy URL configured")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("kkdcp: proxy URL: %w", err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("kkdcp: proxy URL %s: scheme must be https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("kkdcp: proxy URL %s: no host", u.Redacted())
	}
	return u, nil
}

func (c *Client) httpClient() *http.Client {
	c.once.Do(func() {
		if c.HTTPClient != nil {
			// A shallow copy shares the caller's transport and adds a
			// redirect check, so the request itself never leaves https.
			hc := *c.HTTPClient
			next := hc.CheckRedirect
			hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
				if req.URL.Scheme != "https" {
					return fmt.Errorf("refusing a redirect to %s: not https", req.URL.Redacted())
				}
				if next != nil {
					return next(req, via)
				}
				if len(via) >= 10 {
					return errors.New("stopped after 10 redirects")
				}
				return nil
			}
			c.client = &hc
			return
		}
		dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		c.client = &http.Client{
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				DialContext:         dialer.DialContext,
				TLSClientConfig:     &tls.Config{RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12},
				ForceAttemptHTTP2:   true,
				TLSHandshakeTimeout: 10 * time.Second,
				MaxIdleConns:        4,
				IdleConnTimeout:     30 * time.Second,
			},
			// A KDC proxy has no reason to redirect, and following one
			// could leave https.
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	})
	return c.client
}

// sanitize keeps the printable ASCII of b, with runs of white space and
// other bytes turned into one space, so that a server's text can be quoted
// in an error without carrying control characters.
func sanitize(b []byte) string {
	var sb strings.Builder
	space := false
	for _, c := range b {
		if c > 0x20 && c < 0x7f {
			if space && sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			space = false
			sb.WriteByte(c)
			continue
		}
		space = true
	}
	return sb.String()
}
