package entratest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/smbkrb/smbkrb/entra"
)

// drsAudiences are the audiences a DRS access token may carry.
var drsAudiences = []string{entra.DRSResource, "urn:ms-drs:enterpriseregistration.windows.net"}

// deviceCode is a pending device-code sign-in.
type deviceCode struct {
	userCode, clientID, scope string
	expires                   time.Time
	approved                  string // the UPN that signed in, once approved
	declined                  bool
}

// randomString is n random bytes in base64url.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// objectID is a stable object ID for a name.
func objectID(name string) string {
	h := sha256.Sum256([]byte(strings.ToLower(name)))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func (s *Server) deviceCodeEndpoint(w http.ResponseWriter, r *http.Request) {
	s.count("devicecode")
	if !readForm(w, r) {
		return
	}
	clientID := r.PostForm.Get("client_id")
	if clientID == "" {
		oauthFail(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	code := randomString(32)
	b := make([]byte, 8)
	rand.Read(b)
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	user := string(b)
	expires := s.now().Add(15 * time.Minute)
	s.mu.Lock()
	s.deviceCodes[code] = &deviceCode{userCode: user, clientID: clientID, scope: r.PostForm.Get("scope"), expires: expires}
	s.mu.Unlock()
	verify := s.URL + "/devicelogin"
	writeJSON(w, 200, map[string]any{
		"user_code":        user,
		"device_code":      code,
		"verification_uri": verify,
		"expires_in":       900,
		"interval":         1,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, user),
	})
}

// ApproveDeviceCode completes a pending device-code sign-in as the user
// with that UPN, as the user does in a browser (with MFA, if asked).
func (s *Server) ApproveDeviceCode(userCode, upn string) error {
	if _, ok := s.lookupUser(upn); !ok {
		return fmt.Errorf("entratest: no user %s", upn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, dc := range s.deviceCodes {
		if dc.userCode == userCode {
			dc.approved = upn
			return nil
		}
	}
	return fmt.Errorf("entratest: no pending device code %s", userCode)
}

// DeclineDeviceCode declines a pending device-code sign-in.
func (s *Server) DeclineDeviceCode(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, dc := range s.deviceCodes {
		if dc.userCode == userCode {
			dc.declined = true
			return nil
		}
	}
	return fmt.Errorf("entratest: no pending device code %s", userCode)
}

// tokenV2 is the v2 token endpoint MSAL uses.
func (s *Server) tokenV2(w http.ResponseWriter, r *http.Request) {
	s.count("token")
	if !readForm(w, r) {
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "device_code", "urn:ietf:params:oauth:grant-type:device_code":
		s.deviceCodeGrant(w, r)
	case "refresh_token":
		s.refreshGrant(w, r)
	case "client_credentials":
		s.clientCredentialsGrant(w, r)
	default:
		oauthFail(w, 400, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt))
	}
}

func (s *Server) deviceCodeGrant(w http.ResponseWriter, r *http.Request) {
	code := r.PostForm.Get("device_code")
	now := s.now()
	s.mu.Lock()
	var dc deviceCode
	p, ok := s.deviceCodes[code]
	if ok {
		dc = *p // a copy: ApproveDeviceCode changes the original
		if dc.approved != "" || dc.declined || now.After(dc.expires) {
			delete(s.deviceCodes, code)
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		oauthFail(w, 400, "invalid_grant", 70000, "The provided value for the 'device_code' is not valid.")
	case dc.declined:
		oauthFail(w, 400, "authorization_declined", 70000, "The user declined the sign-in.")
	case now.After(dc.expires):
		oauthFail(w, 400, "expired_token", 70020, "The provided authorization code or refresh token has expired.")
	case dc.approved == "":
		oauthFail(w, 400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	default:
		s.issueTokens(w, dc.approved, dc.clientID, dc.scope)
	}
}

func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request) {
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	upn, ok := s.refresh[rt]
	s.mu.Unlock()
	if !ok {
		oauthFail(w, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity.")
		return
	}
	s.issueTokens(w, upn, r.PostForm.Get("client_id"), r.PostForm.Get("scope"))
}

// audienceOf is the resource a v2 scope list asks for: the first scope's
// resource part ("01cb2876-.../.default" → "01cb2876-...").
func audienceOf(scope string) string {
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		if i := strings.LastIndex(sc, "/"); i > 0 {
			return sc[:i]
		}
		return sc
	}
	return "00000003-0000-0000-c000-000000000000"
}

// issueTokens answers a successful sign-in of upn for clientID.
func (s *Server) issueTokens(w http.ResponseWriter, upn, clientID, scope string) {
	now := s.now()
	at, err := s.accessToken(upn, clientID, audienceOf(scope), now, time.Hour)
	if err != nil {
		oauthFail(w, 500, "server_error", 0, err.Error())
		return
	}
	idt, err := s.idToken(upn, clientID, now)
	if err != nil {
		oauthFail(w, 500, "server_error", 0, err.Error())
		return
	}
	rt := randomString(48)
	s.mu.Lock()
	s.refresh[rt] = upn
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{
		"token_type":     "Bearer",
		"scope":          scope,
		"expires_in":     3599,
		"ext_expires_in": 3599,
		"access_token":   at,
		"refresh_token":  rt,
		"id_token":       idt,
		"client_info":    s.clientInfo(upn),
	})
}

func (s *Server) clientInfo(upn string) string {
	ci, _ := json.Marshal(map[string]string{"uid": objectID(upn), "utid": s.Tenant})
	return base64.RawURLEncoding.EncodeToString(ci)
}

func (s *Server) signer() (jose.Signer, error) {
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.signKey},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "entratest"))
}

// tokenClaims are the claims of the emulator's access tokens.
type tokenClaims struct {
	jwt.Claims
	TenantID   string `json:"tid"`
	ObjectID   string `json:"oid"`
	UPN        string `json:"upn,omitempty"`
	UniqueName string `json:"unique_name,omitempty"`
	AppID      string `json:"appid"`
	Scope      string `json:"scp,omitempty"`
	Version    string `json:"ver"`
}

func (s *Server) accessToken(upn, clientID, audience string, now time.Time, life time.Duration) (string, error) {
	sig, err := s.signer()
	if err != nil {
		return "", err
	}
	c := tokenClaims{
		Claims: jwt.Claims{
			Issuer: "https://sts.windows.net/" + s.Tenant + "/", Audience: jwt.Audience{audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
			Expiry: jwt.NewNumericDate(now.Add(life)), Subject: objectID(upn + "/sub"), ID: randomString(12),
		},
		TenantID: s.Tenant, ObjectID: objectID(upn), UPN: upn, UniqueName: upn, AppID: clientID,
		Scope: "user_impersonation", Version: "1.0",
	}
	if upn == "" {
		// An application's or managed identity's token.
		c.ObjectID, c.Scope, c.Claims.Subject = objectID("app:"+clientID), "", objectID("app:"+clientID)
	}
	return jwt.Signed(sig).Claims(c).Serialize()
}

func (s *Server) idToken(upn, clientID string, now time.Time) (string, error) {
	sig, err := s.signer()
	if err != nil {
		return "", err
	}
	c := map[string]any{
		"aud": clientID, "iss": s.URL + "/" + s.Tenant + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "oid": objectID(upn), "tid": s.Tenant, "sub": objectID(upn + "/sub"),
		"preferred_username": upn, "upn": upn, "unique_name": upn, "name": strings.SplitN(upn, "@", 2)[0], "ver": "2.0",
	}
	return jwt.Signed(sig).Claims(c).Serialize()
}

// verifyAccessToken checks a bearer token the emulator issued: signature,
// audience (one of audiences), times. It returns the claims.
func (s *Server) verifyAccessToken(r *http.Request, audiences ...string) (*tokenClaims, string) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return nil, "no bearer token"
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, "the token is not a signed JWT"
	}
	var c tokenClaims
	if err := parsed.Claims(&s.signKey.PublicKey, &c); err != nil {
		return nil, "the token's signature is not valid"
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Time: s.now(), AnyAudience: jwt.Audience(audiences)}, 0); err != nil {
		return nil, "the token is not valid: " + err.Error()
	}
	return &c, ""
}
