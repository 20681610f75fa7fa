package entra

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smbkrb/smbkrb/entra/internal/msjose"
	"github.com/smbkrb/smbkrb/internal/aad"
	"github.com/smbkrb/smbkrb/krb5"
)

// SignIn is a device's sign-in of one user: the Primary Refresh Token
// (PRT) with its session key, and the cloud TGT Entra issued with it. It
// is a secret: Save writes it with mode 0600, Close zeroes the keys. Its
// methods may be called from several goroutines.
type SignIn struct {
	// Device is the device the PRT is bound to.
	Device *Device
	// User is the user's principal name (alice@contoso.com).
	User string

	mu            sync.Mutex
	prt           string
	sessionKey    []byte
	prtExpires    time.Time
	tgt           *krb5.Credential // the cloud TGT; nil if Entra gave none
	adTGT         *krb5.Credential // the partial TGT of the on-premises realm, if any
	topLevelNames []string
}

// Info describes a session without its secrets.
type Info struct {
	User, DeviceID string
	// PRTExpires is when the PRT expires (Entra extends it on refresh).
	PRTExpires time.Time
	// Client is the Kerberos principal of the cloud TGT
	// ("alice\@contoso.com@KERBEROS.MICROSOFTONLINE.COM"), TGTStart and
	// TGTEnd its validity; all zero without a TGT.
	Client           string
	TGTStart, TGTEnd time.Time
	// ADRealm is the realm of the partial on-premises TGT, if Entra sent
	// one (cloud Kerberos trust).
	ADRealm string
	// TopLevelNames are the DNS suffixes Entra says its Kerberos realm
	// serves.
	TopLevelNames []string
}

// Info describes the session.
func (s *SignIn) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := Info{User: s.User, PRTExpires: s.prtExpires, TopLevelNames: append([]string(nil), s.topLevelNames...)}
	if s.Device != nil {
		in.DeviceID = s.Device.ID
	}
	if s.tgt != nil {
		in.Client, in.TGTStart, in.TGTEnd = s.tgt.Client, s.tgt.StartTime, s.tgt.EndTime
		if in.TGTStart.IsZero() {
			in.TGTStart = s.tgt.AuthTime
		}
	}
	if s.adTGT != nil {
		in.ADRealm = realmOf(s.adTGT.Server)
	}
	return in
}

// Close zeroes the session's keys; the session cannot be used after it.
func (s *SignIn) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessionKey)
	s.sessionKey = nil
	s.prt = ""
	if s.tgt != nil {
		s.tgt.Zero()
	}
	if s.adTGT != nil {
		s.adTGT.Zero()
	}
}

// StoreTGT initializes cc with the cloud TGT's client and stores the TGT
// in it, replacing what cc held. It fails with ErrNoTGT if Entra sent no
// TGT.
func (s *SignIn) StoreTGT(cc *krb5.CCache) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tgt == nil {
		return &Error{Op: "store TGT", Err: ErrNoTGT}
	}
	if err := cc.Initialize(s.tgt.Client); err != nil {
		return err
	}
	return cc.Store(s.tgt)
}

// PartialADTGT returns the partial TGT of the on-premises realm that Entra
// sends under cloud Kerberos trust, or nil. It is not a usable TGT by
// itself: an on-premises domain controller exchanges it for a full one.
// Zero the returned credential when done.
func (s *SignIn) PartialADTGT() *krb5.Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adTGT == nil {
		return nil
	}
	c := *s.adTGT
	c.SessionKey = append([]byte(nil), c.SessionKey...)
	return &c
}

// tokenReply is the JSON of a PRT response (initial or refreshed).
type tokenReply struct {
	TokenType             string      `json:"token_type"`
	RefreshToken          string      `json:"refresh_token"`
	RefreshTokenExpiresIn flexibleInt `json:"refresh_token_expires_in"`
	ExpiresIn             flexibleInt `json:"expires_in"`
	SessionKeyJWE         string      `json:"session_key_jwe"`
	IDToken               string      `json:"id_token"`
	ClientInfo            string      `json:"client_info"`
	TGTCloud              string      `json:"tgt_cloud"`
	TGTAD                 string      `json:"tgt_ad"`
	TopLevelNames         string      `json:"kerberos_top_level_names"`
}

// flexibleInt is a JSON number that Entra's v1 endpoint sometimes writes
// as a string.
type flexibleInt int64

func (f *flexibleInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// A short value is shown to help whoever reads the error; a
		// long one is not (it is no number, and could be anything).
		if len(s) > 20 {
			return fmt.Errorf("not a number: a %d-character string", len(s))
		}
		return fmt.Errorf("not a number: %q", s)
	}
	*f = flexibleInt(n)
	return nil
}

// nonce asks the token endpoint for a fresh request nonce.
func (c *Client) nonce(ctx context.Context) (string, error) {
	var r struct {
		Nonce string `json:"Nonce"`
	}
	if err := c.postForm(ctx, "nonce", c.cfg.tokenURL(), url.Values{"grant_type": {"srv_challenge"}}, &r); err != nil {
		return "", err
	}
	if r.Nonce == "" {
		return "", aad.DecodeError("nonce", "the reply has no Nonce", nil)
	}
	return r.Nonce, nil
}

// winVer is the Windows version PRT requests claim; Entra checks that it
// is a version that supports Kerberos (Windows 10 2004 or later).
const winVer = "10.0.19041.868"

// SignInPassword signs user (alice@contoso.com) in on the device with a
// password and returns the sign-in, with the cloud TGT decoded (MIT
// decrypts it; no krb5.Context is needed). A password sign-in cannot do multi-factor
// authentication: a policy that demands it fails with ErrMFARequired; use
// a refresh token from DeviceCodeSignIn instead. The caller should zero
// password afterwards.
func (c *Client) SignInPassword(ctx context.Context, d *Device, user string, password []byte) (*SignIn, error) {
	if user == "" || !strings.Contains(user, "@") {
		return nil, &Error{Op: "sign in", Err: fmt.Errorf("%q is not a user principal name such as alice@contoso.com", user)}
	}
	claims := map[string]any{
		"client_id":  PRTClientID,
		"scope":      "openid aza ugs",
		"win_ver":    winVer,
		"grant_type": "password",
		"username":   user,
		"password":   string(password),
	}
	return c.signIn(ctx, d, user, claims)
}

// SignInRefreshToken signs in on the device with a refresh token of the
// Microsoft Authentication Broker (BrokerClientID), such as
// DeviceCodeSignIn returns; that path can satisfy multi-factor
// authentication.
func (c *Client) SignInRefreshToken(ctx context.Context, d *Device, refreshToken string) (*SignIn, error) {
	if refreshToken == "" {
		return nil, &Error{Op: "sign in", Err: errors.New("no refresh token")}
	}
	claims := map[string]any{
		"client_id":     BrokerClientID,
		"scope":         "openid aza ugs",
		"win_ver":       winVer,
		"grant_type":    "refresh_token",
		"refresh_token": refreshToken,
	}
	return c.signIn(ctx, d, "", claims)
}

func (c *Client) signIn(ctx context.Context, d *Device, user string, claims map[string]any) (*SignIn, error) {
	const op = "sign in"
	if d == nil || d.key == nil || d.transportKey == nil || d.Certificate == nil {
		return nil, &Error{Op: op, Err: errors.New("the device identity is incomplete: register the device first")}
	}
	var reply tokenReply
	// An expired or replayed nonce is retried once with a new one.
	for attempt := 0; ; attempt++ {
		nonce, err := c.nonce(ctx)
		if err != nil {
			return nil, err
		}
		claims["request_nonce"] = nonce
		payload, err := json.Marshal(claims)
		if err != nil {
			return nil, &Error{Op: op, Err: err}
		}
		jws, err := msjose.SignRS256(payload, d.key, d.Certificate.Raw)
		clear(payload)
		if err != nil {
			return nil, &Error{Op: op, Err: err}
		}
		form := url.Values{
			"windows_api_version": {"2.0"},
			"grant_type":          {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"request":             {jws},
			"client_info":         {"1"},
			"tgt":                 {"true"},
		}
		err = c.postForm(ctx, op, c.cfg.tokenURL(), form, &reply)
		if err == nil {
			break
		}
		if attempt == 0 && errors.Is(err, ErrNonce) {
			continue
		}
		return nil, err
	}
	delete(claims, "password")

	skey, err := msjose.DecryptSessionKeyJWE(reply.SessionKeyJWE, d.transportKey)
	if err != nil {
		return nil, aad.DecodeError(op, "session_key_jwe", err)
	}
	s := &SignIn{Device: d, User: user, sessionKey: skey}
	if err := s.apply(op, &reply); err != nil {
		s.Close()
		return nil, err
	}
	if s.User == "" {
		s.User = userFromIDToken(reply.IDToken)
	}
	return s, nil
}

// apply takes a PRT reply into s: the PRT, its expiry, the TGTs.
func (s *SignIn) apply(op string, r *tokenReply) error {
	if r.RefreshToken == "" {
		return aad.DecodeError(op, "the reply has no refresh_token (PRT)", nil)
	}
	tgt, err := decodeTGT(r.TGTCloud, s.sessionKey)
	if err != nil {
		return &Error{Op: op, Err: fmt.Errorf("tgt_cloud: %w", err)}
	}
	var ad *krb5.Credential
	if r.TGTAD != "" {
		ad, err = decodeTGT(r.TGTAD, s.sessionKey)
		if errors.Is(err, ErrNoTGT) {
			ad, err = nil, nil
		}
		if err != nil {
			tgt.Zero()
			return &Error{Op: op, Err: fmt.Errorf("tgt_ad: %w", err)}
		}
	}
	if s.tgt != nil {
		s.tgt.Zero()
	}
	if s.adTGT != nil {
		s.adTGT.Zero()
	}
	s.prt, s.tgt, s.adTGT = r.RefreshToken, tgt, ad
	if r.RefreshTokenExpiresIn > 0 {
		s.prtExpires = time.Now().Add(time.Duration(r.RefreshTokenExpiresIn) * time.Second)
	} else {
		// Entra's PRTs last 14 days and are extended on use.
		s.prtExpires = time.Now().Add(14 * 24 * time.Hour)
	}
	s.topLevelNames = nil
	for _, n := range strings.Split(r.TopLevelNames, ",") {
		if n = strings.TrimSpace(n); n != "" {
			s.topLevelNames = append(s.topLevelNames, n)
		}
	}
	return nil
}

// Refresh renews the PRT and gets a new cloud TGT (Entra does not renew
// TGTs): a request signed with the session key, whose reply is encrypted
// under it.
func (c *Client) Refresh(ctx context.Context, s *SignIn) error {
	const op = "refresh"
	s.mu.Lock()
	prt, skey := s.prt, append([]byte(nil), s.sessionKey...)
	s.mu.Unlock()
	defer clear(skey)
	if prt == "" || len(skey) == 0 {
		return &Error{Op: op, Err: errors.New("the session is closed or was never signed in")}
	}
	var body []byte
	for attempt := 0; ; attempt++ {
		nonce, err := c.nonce(ctx)
		if err != nil {
			return err
		}
		payload, err := json.Marshal(map[string]any{
			"client_id":     PRTClientID,
			"scope":         "openid ugs aza",
			"iss":           "aad:brokerplugin",
			"grant_type":    "refresh_token",
			"refresh_token": prt,
			"aud":           "login.microsoftonline.com",
			"request_nonce": nonce,
			"win_ver":       winVer,
			"iat":           time.Now().Unix(),
		})
		if err != nil {
			return &Error{Op: op, Err: err}
		}
		kdf := c.cfg.RefreshKDF
		if kdf == 0 {
			kdf = 2
		}
		jwt, err := msjose.SignHS256(payload, skey, kdf, nil)
		clear(payload)
		if err != nil {
			return &Error{Op: op, Err: err}
		}
		form := url.Values{
			"windows_api_version": {"2.2"},
			"grant_type":          {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"request":             {jwt},
			"client_info":         {"1"},
			"tgt":                 {"true"},
		}
		body, err = c.postRaw(ctx, op, c.cfg.tokenURL(), form)
		if err == nil {
			break
		}
		if attempt == 0 && errors.Is(err, ErrNonce) {
			continue
		}
		return err
	}
	// The reply is a compact JWE under a key derived from the session key
	// (or, leniently, plain JSON).
	plain := body
	if trimmed := strings.TrimSpace(string(body)); !strings.HasPrefix(trimmed, "{") {
		var err error
		plain, _, err = msjose.DecryptJWE(trimmed, skey)
		if err != nil {
			return aad.DecodeError(op, "the encrypted reply", err)
		}
		defer clear(plain)
	}
	var reply tokenReply
	if err := json.Unmarshal(plain, &reply); err != nil {
		return aad.DecodeError(op, "the reply", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessionKey == nil {
		return &Error{Op: op, Err: errors.New("the session was closed")}
	}
	return s.apply(op, &reply)
}

// postRaw posts form and returns a 200 reply's body as it is.
func (c *Client) postRaw(ctx context.Context, op, u string, form url.Values) ([]byte, error) {
	req, err := newFormRequest(u, form)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	status, body, err := c.do(ctx, op, req)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, aad.ReplyError(op, status, body)
	}
	return body, nil
}

// userFromIDToken reads the user's name from an id_token's claims (upn,
// then unique_name, then preferred_username). The token's signature is not
// checked: it came over TLS from the token endpoint, and the name is only
// shown, never trusted.
func userFromIDToken(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) < 2 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		UPN               string `json:"upn"`
		UniqueName        string `json:"unique_name"`
		PreferredUsername string `json:"preferred_username"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	for _, n := range []string{claims.UPN, claims.UniqueName, claims.PreferredUsername} {
		if n != "" {
			return n
		}
	}
	return ""
}
