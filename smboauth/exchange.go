package smboauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/smbkrb/smbkrb/internal/aad"
	"github.com/smbkrb/smbkrb/krb5"
)

// FilesRealm is the realm of the service tickets Azure Files issues for
// SMB OAuth, and FilesClient their client (the cache's principal after an
// exchange).
const (
	FilesRealm  = "FILES.AZURE.STORAGE.MICROSOFT.COM"
	FilesClient = "AzureFileClient@" + FilesRealm
)

// storageVersion is the x-ms-version of the ticket exchange.
const storageVersion = "2024-05-04"

// Exchange trades OAuth access tokens for Azure Storage at a storage
// account's file endpoint for Kerberos service tickets: the path of
// applications and managed identities, which have no TGT. It implements
// smb.Credentials: Acquire puts the ticket for the server into the
// dialer's cache, exchanging again when the one there ends within
// RenewBefore, so a long-running process keeps getting sessions. Name the
// server with Realm FilesRealm (or map its host to FilesRealm), so that
// the service principal is cifs/<account>.file.core.windows.net@FilesRealm.
//
// Each exchange re-initializes the cache as FilesClient's: give an
// Exchange a cache of its own.
type Exchange struct {
	// Tokens gives the access tokens. Required.
	Tokens TokenSource
	// HTTPClient carries the exchange; nil means a client that verifies
	// TLS against the system's roots (Config.Exchange gives the Config's).
	HTTPClient *http.Client
	// Endpoint is the file endpoint's URL with "{account}" for the server
	// name; "" means "https://{account}" (the account's own name). A
	// private endpoint or the emulator sets it.
	Endpoint string
	// RenewBefore is how long before a ticket's end it is replaced; 0
	// means 5 minutes.
	RenewBefore time.Duration
	// Timeout bounds one exchange when the context has no earlier
	// deadline; 0 means 30 seconds.
	Timeout time.Duration
	// OnExchange, if set, is called after each exchange (no secrets).
	OnExchange func(Ticket)

	mu sync.Mutex
}

// Ticket describes a service ticket an exchange gave.
type Ticket struct {
	// Account is the server name the ticket is for.
	Account string
	// Client and Server are the ticket's principals.
	Client, Server string
	// Expires is the ticket's end (the exchange's expirationTime).
	Expires time.Time
}

// exchangeReply is the JSON of the kerbticket exchange.
type exchangeReply struct {
	Ticket     string `json:"kerberosServiceTicket"`
	SessionKey string `json:"sessionKey"`
	Expiration string `json:"expirationTime"`
}

// storageError is Azure Storage's XML error body.
type storageError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// accountOf is the server host of a cifs/ principal name.
func accountOf(spn string) (string, error) {
	name := spn
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	host, ok := strings.CutPrefix(name, "cifs/")
	if !ok || host == "" || strings.ContainsAny(host, "/ ") {
		return "", fmt.Errorf("%q is not a cifs/ service principal", spn)
	}
	return strings.ToLower(host), nil
}

func (x *Exchange) renewBefore() time.Duration {
	if x.RenewBefore <= 0 {
		return 5 * time.Minute
	}
	return x.RenewBefore
}

// Acquire makes cc hold a ticket for spn that lasts RenewBefore more,
// exchanging a token for a new one when it does not.
func (x *Exchange) Acquire(ctx context.Context, k *krb5.Context, cc *krb5.CCache, spn string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if t, err := k.CachedCredentials(cc, spn); err == nil && time.Until(t.EndTime) > x.renewBefore() {
		return nil
	}
	account, err := accountOf(spn)
	if err != nil {
		return &Error{Op: "ticket exchange", Err: err}
	}
	krbcred, ft, err := x.exchange(ctx, account)
	if err != nil {
		return err
	}
	defer clear(krbcred)
	if err := cc.Initialize(FilesClient); err != nil {
		return err
	}
	infos, err := cc.ImportKRBCred(krbcred)
	if err != nil {
		return &Error{Op: "ticket exchange", Err: fmt.Errorf("%w: importing the KRB-CRED: %v", ErrBadResponse, err)}
	}
	if len(infos) > 0 {
		ft.Client, ft.Server = infos[0].Client, infos[0].Server
		if ft.Expires.IsZero() {
			ft.Expires = infos[0].EndTime
		}
	}
	if x.OnExchange != nil {
		x.OnExchange(ft)
	}
	return nil
}

// String describes the source.
func (x *Exchange) String() string { return "SMB OAuth ticket exchange" }

// KRBCred trades an access token for a service ticket for account
// (acct.file.core.windows.net) and returns it as a KRB-CRED (holding the
// session key: clear it when done) with what it says; Acquire does this
// and puts the ticket into a cache, which is what a Dialer needs. KRBCred
// is for a caller that hands the ticket to another Kerberos stack.
func (x *Exchange) KRBCred(ctx context.Context, account string) ([]byte, Ticket, error) {
	return x.exchange(ctx, strings.ToLower(account))
}

func (x *Exchange) exchange(ctx context.Context, account string) ([]byte, Ticket, error) {
	const op = "ticket exchange"
	ft := Ticket{Account: account}
	if x.Tokens == nil {
		return nil, ft, &Error{Op: op, Err: errors.New("Exchange.Tokens is nil: no access tokens")}
	}
	timeout := x.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	tok, err := x.Tokens.Token(tctx)
	if err != nil {
		return nil, ft, err
	}
	ep := x.Endpoint
	if ep == "" {
		ep = "https://{account}"
	}
	u := strings.ReplaceAll(ep, "{account}", account)
	u = strings.TrimRight(u, "/") + "/?restype=service&comp=kerbticket"
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, ft, &Error{Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("x-ms-version", storageVersion)
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Content-Length", "0")
	hc := x.HTTPClient
	if hc == nil {
		hc = (&Config{}).httpClient()
	}
	status, body, err := aad.RoundTrip(tctx, hc, timeout, "", op, req)
	if err != nil {
		return nil, ft, err
	}
	if status != http.StatusOK {
		return nil, ft, exchangeError(status, body)
	}
	der, expires, err := decodeExchange(body)
	if err != nil {
		return nil, ft, err
	}
	ft.Expires = expires
	return der, ft, nil
}

// decodeExchange reads the exchange's JSON: the KRB-CRED (a secret: it
// holds the session key) and the ticket's end, if given.
func decodeExchange(body []byte) ([]byte, time.Time, error) {
	const op = "ticket exchange"
	var r exchangeReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, time.Time{}, aad.DecodeError(op, "the exchange's JSON", err)
	}
	der, err := base64.StdEncoding.DecodeString(r.Ticket)
	if err != nil || len(der) == 0 {
		return nil, time.Time{}, aad.DecodeError(op, "kerberosServiceTicket is not base64", err)
	}
	if der[0] != 0x76 {
		clear(der)
		return nil, time.Time{}, aad.DecodeError(op, "kerberosServiceTicket is not a KRB-CRED", nil)
	}
	var expires time.Time
	if r.Expiration != "" {
		if t, err := time.Parse(time.RFC3339, r.Expiration); err == nil {
			expires = t
		}
	}
	return der, expires, nil
}

// exchangeError explains a refused exchange.
func exchangeError(status int, body []byte) error {
	const op = "ticket exchange"
	var se storageError
	xml.Unmarshal(body, &se)
	e := &Error{Op: op, Status: status, Code: se.Code}
	if se.Message != "" {
		msg := se.Message
		if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
			msg = msg[:i]
		}
		e.Description = aad.Clip(strings.TrimSpace(msg), 300)
		if se.Code != "" {
			e.Description = se.Code + ": " + e.Description
		}
	}
	switch status {
	case http.StatusUnauthorized:
		e.Err = fmt.Errorf("%w (it must be a current token for %s)", ErrUnauthorized, StorageResource)
	case http.StatusForbidden:
		e.Err = ErrForbidden
	case http.StatusNotFound:
		e.Err = ErrNoAccount
	default:
		e.Err = fmt.Errorf("HTTP %d", status)
	}
	return e
}
