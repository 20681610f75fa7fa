package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/smbkrb/smbkrb/internal/aad"
)

// DeviceCodeResult is what a device-code sign-in gives: an access token
// for the Device Registration Service (for Register) and the refresh
// token SignInRefreshToken takes. Both are secrets.
type DeviceCodeResult struct {
	// User is the signed-in user's name.
	User string
	// AccessToken is for DRSResource; it expires at ExpiresOn.
	AccessToken string
	ExpiresOn   time.Time
	// RefreshToken is the Microsoft Authentication Broker's refresh token.
	RefreshToken string
}

// DeviceCodeSignIn signs a user in with the OAuth device code flow (MSAL
// for Go, as the Microsoft Authentication Broker): prompt gets the text to
// show the user, who opens the address it names on any other device,
// enters the code and signs in there, with multi-factor authentication if
// a policy asks for it. It returns when they are done, or when ctx ends.
func (c *Client) DeviceCodeSignIn(ctx context.Context, prompt func(message string)) (*DeviceCodeResult, error) {
	const op = "device-code sign-in"
	capture := &refreshTokenCapture{}
	app, err := public.New(BrokerClientID,
		public.WithAuthority(c.cfg.authorityURL()),
		public.WithHTTPClient(c.http),
		// The authority is taken as configured: no instance discovery
		// call to the public cloud (an emulator or a sovereign cloud).
		public.WithInstanceDiscovery(false),
		public.WithCache(capture),
	)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	dc, err := app.AcquireTokenByDeviceCode(ctx, []string{DRSResource + "/.default"})
	if err != nil {
		return nil, aad.MSALError(op, err)
	}
	if prompt != nil {
		prompt(dc.Result.Message)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Error{Op: op, Err: ctx.Err()}
		}
		return nil, aad.MSALError(op, err)
	}
	rt := capture.token()
	if rt == "" {
		return nil, aad.DecodeError(op, "the token reply carried no refresh token", nil)
	}
	out := &DeviceCodeResult{AccessToken: res.AccessToken, ExpiresOn: res.ExpiresOn, RefreshToken: rt}
	out.User = res.Account.PreferredUsername
	if out.User == "" {
		out.User = res.IDToken.PreferredUsername
	}
	return out, nil
}

// refreshTokenCapture is an MSAL cache that keeps nothing but lets the
// refresh token be read: MSAL does not return refresh tokens, but writes
// them to its cache in the documented unified cache format.
type refreshTokenCapture struct {
	mu sync.Mutex
	rt string
}

func (r *refreshTokenCapture) Replace(ctx context.Context, u cache.Unmarshaler, h cache.ReplaceHints) error {
	return nil
}

func (r *refreshTokenCapture) Export(ctx context.Context, m cache.Marshaler, h cache.ExportHints) error {
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	defer clear(data)
	var doc struct {
		RefreshToken map[string]struct {
			Secret string `json:"secret"`
		} `json:"RefreshToken"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("reading MSAL's cache: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range doc.RefreshToken {
		if t.Secret != "" {
			r.rt = t.Secret
		}
	}
	return nil
}

func (r *refreshTokenCapture) token() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rt
}

var _ cache.ExportReplace = (*refreshTokenCapture)(nil)
