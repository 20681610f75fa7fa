package entratest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smboauth"
)

// App is an application (service principal) of the emulated tenant, for
// the client-credentials flow.
type App struct {
	// ClientID is the application ID.
	ClientID string
	// Secret is its client secret; "" means none.
	Secret string
	// Certificate is its registered certificate; nil means none.
	Certificate *x509.Certificate
	// NoSMBRole means the identity has no SMB data role on the storage
	// accounts: the ticket exchange answers 403.
	NoSMBRole bool
}

// NewApp is an application with a fresh self-signed certificate (RSA
// 2048, valid a day), as a test registers one, and the PEM of that
// certificate and its private key, as the application keeps them.
func NewApp(clientID, name string) (App, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return App{}, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return App{}, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return App{}, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return App{}, nil, err
	}
	defer clear(kder)
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
	return App{ClientID: clientID, Certificate: cert}, pemData, nil
}

// Identity is a managed identity of the emulated Azure host.
type Identity struct {
	// ClientID is a user-assigned identity's client ID; "" is the
	// system-assigned identity.
	ClientID string
	// NoSMBRole as for App.
	NoSMBRole bool
}

// Account is a storage account that serves SMB OAuth.
type Account struct {
	// Name is the file endpoint's host, acct.file.core.windows.net; the
	// KDC of smboauth.FilesRealm must know cifs/<Name>.
	Name string
	// OAuthDisabled means SMB OAuth is off on the account: 403.
	OAuthDisabled bool
}

// SMBOAuth configures the file endpoints' ticket exchange.
type SMBOAuth struct {
	// KDCs are the TCP addresses of the real KDC of smboauth.FilesRealm (a
	// lab Samba DC of that realm, holding the accounts' cifs/ SPNs on its
	// own machine account and a user AzureFileClient).
	KDCs []string
	// ClientPassword is AzureFileClient's password there.
	ClientPassword string
	// Accounts are the storage accounts.
	Accounts []Account
	// TicketLifetime is the lifetime of the tickets handed out; 0 means
	// the KDC's default.
	TicketLifetime time.Duration
}

// filesKerberos is the emulator's context for smboauth.FilesRealm.
func (s *Server) filesKerberos() (*krb5.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fileK != nil {
		return s.fileK, nil
	}
	o := s.opts.SMBOAuth
	if o == nil || len(o.KDCs) == 0 {
		return nil, fmt.Errorf("the emulator has no KDC of %s (Options.SMBOAuth)", smboauth.FilesRealm)
	}
	k, err := krb5.NewContext(&krb5.Config{Realms: []krb5.Realm{{Name: smboauth.FilesRealm, KDCs: o.KDCs}}, DefaultRealm: smboauth.FilesRealm})
	if err != nil {
		return nil, err
	}
	s.fileK = k
	return k, nil
}

// SetTicketLifetime changes the lifetime of the service tickets the
// exchange hands out from now on; 0 restores SMBOAuth.TicketLifetime.
func (s *Server) SetTicketLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ticketLife = d
}

// FileEndpoint is smboauth.Exchange.Endpoint for this emulator.
func (s *Server) FileEndpoint() string { return s.URL + "/files/{account}" }

// storageFail answers as Azure Storage does: x-ms-error-code and an XML
// body.
func storageFail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}{Code: code, Message: msg + "\nRequestId:00000000-0000-0000-0000-000000000000\nTime:" + time.Now().UTC().Format(time.RFC3339)})
	w.Write([]byte(xml.Header))
	w.Write(body)
}

// kerbTicket is a file endpoint's SMB OAuth exchange.
func (s *Server) kerbTicket(w http.ResponseWriter, r *http.Request) {
	s.count("kerbticket")
	account := strings.ToLower(r.PathValue("account"))
	q := r.URL.Query()
	if q.Get("restype") != "service" || q.Get("comp") != "kerbticket" {
		storageFail(w, 400, "InvalidQueryParameterValue", "The request must have restype=service&comp=kerbticket.")
		return
	}
	if r.Header.Get("x-ms-version") == "" {
		storageFail(w, 400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-version.")
		return
	}
	claims, why := s.verifyAccessToken(r, smboauth.StorageResource, smboauth.StorageResource+"/")
	if claims == nil {
		storageFail(w, 401, "InvalidAuthenticationInfo", "Server failed to authenticate the request: "+why)
		return
	}
	o := s.opts.SMBOAuth
	var acct *Account
	if o != nil {
		for i := range o.Accounts {
			if strings.EqualFold(o.Accounts[i].Name, account) {
				acct = &o.Accounts[i]
			}
		}
	}
	if acct == nil {
		storageFail(w, 404, "ResourceNotFound", "The specified resource does not exist.")
		return
	}
	if acct.OAuthDisabled {
		storageFail(w, 403, "AuthorizationFailure", "This request is not authorized to perform this operation: SMB OAuth is not enabled on the storage account.")
		return
	}
	if !s.hasSMBRole(claims.AppID) {
		storageFail(w, 403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
		return
	}
	krbcred, key, end, err := s.serviceTicket(r.Context(), account)
	if err != nil {
		storageFail(w, 500, "InternalError", "Getting the service ticket failed: "+err.Error())
		return
	}
	defer clear(krbcred)
	defer clear(key)
	writeJSON(w, 200, map[string]string{
		"kerberosServiceTicket": base64.StdEncoding.EncodeToString(krbcred),
		"sessionKey":            base64.StdEncoding.EncodeToString(key),
		"expirationTime":        end.UTC().Format(time.RFC3339),
	})
}

// hasSMBRole reports whether the application or managed identity appID
// has an SMB data role.
func (s *Server) hasSMBRole(appID string) bool {
	for _, a := range s.opts.Apps {
		if a.ClientID == appID {
			return !a.NoSMBRole
		}
	}
	for _, m := range s.opts.ManagedIdentities {
		if miClientID(m) == appID {
			return !m.NoSMBRole
		}
	}
	return false
}

// serviceTicket gets a real ticket for cifs/<account> from the KDC of
// smboauth.FilesRealm as AzureFileClient and returns it as a KRB-CRED, with
// its session key and end.
func (s *Server) serviceTicket(ctx context.Context, account string) ([]byte, []byte, time.Time, error) {
	k, err := s.filesKerberos()
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cc, err := k.NewMemoryCCache()
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	defer cc.Destroy()
	o := s.opts.SMBOAuth
	s.mu.Lock()
	life := s.ticketLife
	s.mu.Unlock()
	if life == 0 {
		life = o.TicketLifetime
	}
	if _, err := k.GetInitCredsPassword(ctx, cc, smboauth.FilesClient, []byte(o.ClientPassword), &krb5.InitCredsOptions{Lifetime: life}); err != nil {
		return nil, nil, time.Time{}, err
	}
	server := "cifs/" + account + "@" + smboauth.FilesRealm
	info, err := k.GetCredentials(ctx, cc, server)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	cred, err := cc.RetrieveCredential(info.Server)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	key := cred.SessionKey
	krbcred, err := cc.ExportKRBCred(info.Server)
	if err != nil {
		clear(key)
		return nil, nil, time.Time{}, err
	}
	return krbcred, key, info.EndTime, nil
}

// clientCredentialsGrant is the v2 token endpoint's client-credentials
// flow: a client secret or a certificate-signed client assertion.
func (s *Server) clientCredentialsGrant(w http.ResponseWriter, r *http.Request) {
	id := r.PostForm.Get("client_id")
	var app *App
	for i := range s.opts.Apps {
		if s.opts.Apps[i].ClientID == id {
			app = &s.opts.Apps[i]
		}
	}
	if app == nil {
		oauthFail(w, 400, "unauthorized_client", 700016, "Application with identifier '"+id+"' was not found in the directory '"+s.Tenant+"'.")
		return
	}
	switch {
	case r.PostForm.Get("client_secret") != "":
		if app.Secret == "" || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("client_secret")), []byte(app.Secret)) != 1 {
			oauthFail(w, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
			return
		}
	case r.PostForm.Get("client_assertion") != "":
		if why := s.checkAssertion(app, r.PostForm.Get("client_assertion_type"), r.PostForm.Get("client_assertion")); why != "" {
			oauthFail(w, 401, "invalid_client", 700027, "Client assertion failed signature validation: "+why)
			return
		}
	default:
		oauthFail(w, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	scope := r.PostForm.Get("scope")
	resource := ""
	for _, sc := range strings.Fields(scope) {
		if r, ok := strings.CutSuffix(sc, "/.default"); ok {
			resource = r
		}
	}
	if resource == "" {
		oauthFail(w, 400, "invalid_scope", 1002012, "The provided value for scope "+scope+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
		return
	}
	s.issueAppToken(w, app.ClientID, resource)
}

// checkAssertion verifies a client assertion against the app's
// certificate: RS256 or PS256, the x5t or x5t#S256 thumbprint of that
// certificate, audience the token endpoint, issuer and subject the app,
// not expired. It returns why it fails, or "".
func (s *Server) checkAssertion(app *App, typ, assertion string) string {
	if typ != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return "client_assertion_type is not jwt-bearer"
	}
	if app.Certificate == nil {
		return "the application has no certificate"
	}
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.PS256})
	if err != nil {
		return "not a signed JWT"
	}
	h := tok.Headers[0]
	s1 := sha1.Sum(app.Certificate.Raw)
	s256 := sha256.Sum256(app.Certificate.Raw)
	// RFC 7515 says base64url; MSAL writes standard base64. Entra takes
	// either.
	matches := func(header string, sum []byte) bool {
		v, _ := h.ExtraHeaders[jose.HeaderKey(header)].(string)
		v = strings.TrimRight(v, "=")
		return v != "" && (v == base64.RawURLEncoding.EncodeToString(sum) || v == base64.RawStdEncoding.EncodeToString(sum))
	}
	if !matches("x5t", s1[:]) && !matches("x5t#S256", s256[:]) {
		return "the thumbprint is not the registered certificate's"
	}
	var c jwt.Claims
	if err := tok.Claims(app.Certificate.PublicKey, &c); err != nil {
		return "the signature does not verify with the registered certificate"
	}
	want := jwt.Expected{Time: s.now(), Issuer: app.ClientID, Subject: app.ClientID,
		AnyAudience: jwt.Audience{s.URL + "/" + s.Tenant + "/oauth2/v2.0/token"}}
	if err := c.ValidateWithLeeway(want, time.Minute); err != nil {
		return err.Error()
	}
	return ""
}

// issueAppToken answers with an application's access token for audience.
func (s *Server) issueAppToken(w http.ResponseWriter, appID, audience string) {
	at, err := s.accessToken("", appID, audience, s.now(), time.Hour)
	if err != nil {
		oauthFail(w, 500, "server_error", 0, err.Error())
		return
	}
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": at})
}

// miClientID is the client ID the emulator gives a managed identity.
func miClientID(m Identity) string {
	if m.ClientID != "" {
		return m.ClientID
	}
	return objectID("system-assigned managed identity")
}

// managedIdentity is the App Service style managed identity endpoint
// (IDENTITY_ENDPOINT, header X-IDENTITY-HEADER), served over plain HTTP
// on loopback as App Service does.
func (s *Server) managedIdentity(w http.ResponseWriter, r *http.Request) {
	s.count("managed-identity")
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-IDENTITY-HEADER")), []byte(s.IdentityHeader)) != 1 {
		writeJSON(w, 401, map[string]any{"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or wrong"})
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") == "" || q.Get("resource") == "" {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "api-version and resource are required"})
		return
	}
	want := q.Get("client_id")
	var id *Identity
	for i := range s.opts.ManagedIdentities {
		if s.opts.ManagedIdentities[i].ClientID == want {
			id = &s.opts.ManagedIdentities[i]
		}
	}
	if id == nil {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "No managed identity with client ID '" + want + "' is assigned to this resource."})
		return
	}
	now := s.now()
	at, err := s.accessToken("", miClientID(*id), strings.TrimSuffix(q.Get("resource"), "/.default"), now, time.Hour)
	if err != nil {
		writeJSON(w, 500, map[string]any{"statusCode": 500, "message": err.Error()})
		return
	}
	writeJSON(w, 200, map[string]string{
		"access_token": at, "expires_on": strconv.FormatInt(now.Add(time.Hour).Unix(), 10),
		"resource": q.Get("resource"), "token_type": "Bearer", "client_id": miClientID(*id),
	})
}
