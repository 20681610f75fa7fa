package entratest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/internal/msjose"
	"github.com/smbkrb/smbkrb/internal/kerbmsg"
	"github.com/smbkrb/smbkrb/krb5"
)

// prtLifetime is how long Entra's PRTs last (extended on every use).
const prtLifetime = 14 * 24 * time.Hour

// topLevelNames is what Entra sends as kerberos_top_level_names.
const topLevelNames = ".windows.net,.windows.net:1433,.windows.net:3342,.azure.net,.azure.net:1433,.azure.net:3342"

// prtRecord is an issued PRT.
type prtRecord struct {
	upn, deviceID string
	sessionKey    []byte
	expires       time.Time
}

// tokenV1 is the v1 token endpoint: nonces, PRT requests, PRT refreshes.
func (s *Server) tokenV1(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "srv_challenge":
		s.count("srv_challenge")
		nonce := randomString(48)
		s.mu.Lock()
		life := s.nonceLife
		if life == 0 {
			life = s.opts.NonceLifetime
		}
		s.nonces[nonce] = time.Now().Add(s.offset).Add(life)
		s.mu.Unlock()
		writeJSON(w, 200, map[string]string{"Nonce": nonce})
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		switch v := r.PostForm.Get("windows_api_version"); v {
		case "2.0":
			s.count("prt")
			s.prtRequest(w, r)
		case "2.2":
			s.count("prt-refresh")
			s.prtRefresh(w, r)
		default:
			oauthFail(w, 400, "invalid_request", 90014, fmt.Sprintf("windows_api_version %q is not supported.", v))
		}
	default:
		oauthFail(w, 400, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt))
	}
}

// useNonce consumes a nonce: it is valid once, until it expires.
func (s *Server) useNonce(n string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.nonces[n]
	delete(s.nonces, n)
	return ok && time.Now().Add(s.offset).Before(exp)
}

// SetNonceLifetime changes how long nonces handed out from now on stay
// valid; 0 restores Options.NonceLifetime, a negative value makes them
// expire at once.
func (s *Server) SetNonceLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nonceLife = d
}

// ExpireNonces makes every nonce handed out so far invalid, as if it had
// timed out.
func (s *Server) ExpireNonces() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.nonces {
		s.nonces[n] = time.Time{}
	}
}

const nonceError = "The request nonce is not valid: it has expired or was already used. Get a new nonce (grant_type=srv_challenge)."

// prtClaims are the claims of PRT requests and refreshes.
type prtClaims struct {
	ClientID     string `json:"client_id"`
	Nonce        string `json:"request_nonce"`
	Scope        string `json:"scope"`
	GrantType    string `json:"grant_type"`
	Username     string `json:"username"`
	Password     string `json:"password"`
	RefreshToken string `json:"refresh_token"`
	Issuer       string `json:"iss"`
	Audience     string `json:"aud"`
}

// checkDevice finds the device of a PRT request and checks that it may
// sign in.
func (s *Server) checkDevice(w http.ResponseWriter, id string, cert *x509.Certificate) (*device, bool) {
	s.mu.Lock()
	d, ok := s.devices[strings.ToLower(id)]
	s.mu.Unlock()
	switch {
	case !ok:
		oauthFail(w, 400, "invalid_grant", 700003, "Device object was not found in the tenant '"+s.Tenant+"' directory.")
		return nil, false
	case cert != nil && !d.cert.Equal(cert):
		oauthFail(w, 400, "invalid_grant", 50155, "Device authentication failed: the certificate is not the device's.")
		return nil, false
	case d.disabled:
		oauthFail(w, 400, "invalid_grant", 135011, "Device used during the authentication is disabled.")
		return nil, false
	}
	return d, true
}

func (s *Server) prtRequest(w http.ResponseWriter, r *http.Request) {
	pool := x509.NewCertPool()
	pool.AddCert(s.deviceCA.Cert)
	payload, leaf, err := msjose.VerifyRS256(r.PostForm.Get("request"), x509.VerifyOptions{
		Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: s.now(),
	})
	if err != nil {
		oauthFail(w, 400, "invalid_grant", 50155, "Device authentication failed: the request is not signed by a registered device.")
		return
	}
	d, ok := s.checkDevice(w, leaf.Subject.CommonName, leaf)
	if !ok {
		return
	}
	var c prtClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		oauthFail(w, 400, "invalid_request", 90014, "The request's claims are not JSON.")
		return
	}
	if !s.useNonce(c.Nonce) {
		oauthFail(w, 400, "invalid_grant", 0, nonceError)
		return
	}
	var upn string
	switch c.GrantType {
	case "password":
		if c.ClientID != entra.PRTClientID {
			oauthFail(w, 400, "unauthorized_client", 700016, "Application with identifier '"+c.ClientID+"' was not found in the directory.")
			return
		}
		u, ok := s.lookupUser(c.Username)
		if !ok {
			oauthFail(w, 400, "invalid_grant", 50034, "The user account does not exist in the directory.")
			return
		}
		if subtle.ConstantTimeCompare([]byte(c.Password), []byte(u.Password)) != 1 {
			oauthFail(w, 400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
			return
		}
		if u.MFA {
			oauthFail(w, 400, "interaction_required", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the storage account.")
			return
		}
		upn = u.UPN
	case "refresh_token":
		if c.ClientID != entra.BrokerClientID {
			oauthFail(w, 400, "unauthorized_client", 700016, "Application with identifier '"+c.ClientID+"' was not found in the directory.")
			return
		}
		s.mu.Lock()
		upn = s.refresh[c.RefreshToken]
		s.mu.Unlock()
		if upn == "" {
			oauthFail(w, 400, "invalid_grant", 700082, "The refresh token has expired due to inactivity.")
			return
		}
	default:
		oauthFail(w, 400, "unsupported_grant_type", 70003, "The PRT request's grant_type must be password or refresh_token.")
		return
	}
	u, _ := s.lookupUser(upn)
	if u.NotAssigned {
		oauthFail(w, 400, "invalid_grant", 50105, "Your administrator has configured the application to block users unless they are specifically granted ('assigned') access to the application.")
		return
	}
	skey := make([]byte, 32)
	rand.Read(skey)
	jwe, err := msjose.EncryptSessionKeyJWE(skey, d.transport, nil)
	if err != nil {
		oauthFail(w, 500, "server_error", 0, err.Error())
		return
	}
	reply, status := s.prtReply(r.Context(), u, d, skey, r.PostForm.Get("tgt") == "true")
	if status != 0 {
		clear(skey)
		oauthFail(w, status, "server_error", 0, reply["error"].(string))
		return
	}
	reply["session_key_jwe"] = jwe
	writeJSON(w, 200, reply)
}

func (s *Server) prtRefresh(w http.ResponseWriter, r *http.Request) {
	req := r.PostForm.Get("request")
	// The PRT in the (not yet verified) claims names the session key the
	// request must be signed with.
	parts := strings.Split(req, ".")
	var unverified prtClaims
	if len(parts) != 3 {
		oauthFail(w, 400, "invalid_request", 90014, "The request is not a JWT.")
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, &unverified) != nil {
		oauthFail(w, 400, "invalid_request", 90014, "The request is not a JWT.")
		return
	}
	s.mu.Lock()
	rec, ok := s.prts[unverified.RefreshToken]
	s.mu.Unlock()
	if !ok || s.now().After(rec.expires) {
		oauthFail(w, 400, "invalid_grant", 700082, "The refresh token (PRT) has expired or was revoked.")
		return
	}
	payload, _, err := msjose.VerifyHS256(req, rec.sessionKey)
	if err != nil {
		oauthFail(w, 400, "invalid_grant", 50155, "Device authentication failed: the request is not signed with the session key.")
		return
	}
	var c prtClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.RefreshToken != unverified.RefreshToken {
		oauthFail(w, 400, "invalid_request", 90014, "The request's claims are not valid.")
		return
	}
	if c.GrantType != "refresh_token" || c.ClientID != entra.PRTClientID {
		oauthFail(w, 400, "invalid_request", 90014, "A PRT refresh has grant_type refresh_token and the PRT client.")
		return
	}
	if !s.useNonce(c.Nonce) {
		oauthFail(w, 400, "invalid_grant", 0, nonceError)
		return
	}
	d, ok := s.checkDevice(w, rec.deviceID, nil)
	if !ok {
		return
	}
	u, _ := s.lookupUser(rec.upn)
	if u.NotAssigned {
		oauthFail(w, 400, "invalid_grant", 50105, "Your administrator has configured the application to block users unless they are specifically granted ('assigned') access to the application.")
		return
	}
	reply, status := s.prtReply(r.Context(), u, d, rec.sessionKey, r.PostForm.Get("tgt") == "true")
	if status != 0 {
		oauthFail(w, status, "server_error", 0, reply["error"].(string))
		return
	}
	plain, err := json.Marshal(reply)
	if err != nil {
		oauthFail(w, 500, "server_error", 0, err.Error())
		return
	}
	s.mu.Lock()
	format := s.clientKey
	s.mu.Unlock()
	cipher := msjose.AES256GCM
	if format == ClientKeyJWECBC {
		cipher = msjose.AES256CBC
	}
	body, err := msjose.EncryptJWE(plain, rec.sessionKey, &msjose.EncryptOptions{Cipher: cipher})
	clear(plain)
	if err != nil {
		oauthFail(w, 500, "server_error", 0, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/jose")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(200)
	w.Write([]byte(body))
}

// prtReply makes the fields of a PRT response for u on d: a new PRT bound
// to skey, the ID token, and the cloud TGT when withTGT. A non-zero status
// means it failed; the map's "error" says why.
func (s *Server) prtReply(ctx context.Context, u *User, d *device, skey []byte, withTGT bool) (map[string]any, int) {
	now := s.now()
	prt := randomString(96)
	s.mu.Lock()
	s.prts[prt] = &prtRecord{upn: u.UPN, deviceID: d.id, sessionKey: append([]byte(nil), skey...), expires: now.Add(prtLifetime)}
	s.mu.Unlock()
	idt, err := s.idToken(u.UPN, entra.PRTClientID, now)
	if err != nil {
		return map[string]any{"error": err.Error()}, 500
	}
	reply := map[string]any{
		"token_type":               "Bearer",
		"expires_in":               fmt.Sprint(int(prtLifetime.Seconds())),
		"ext_expires_in":           "0",
		"expires_on":               fmt.Sprint(now.Add(prtLifetime).Unix()),
		"refresh_token":            prt,
		"refresh_token_expires_in": int(prtLifetime.Seconds()),
		"id_token":                 idt,
		"client_info":              s.clientInfo(u.UPN),
		"tgt_ad":                   "",
		"kerberos_top_level_names": topLevelNames,
	}
	if withTGT {
		tgt, err := s.cloudTGT(ctx, u, skey)
		if err != nil {
			return map[string]any{"error": "cloud TGT: " + err.Error()}, 500
		}
		reply["tgt_cloud"] = tgt
		if ad := s.opts.ADRealm; ad != nil && u.ADPrincipal != "" {
			tgt, err := s.tgtField(ctx, u, ad.Realm, skey)
			if err != nil {
				return map[string]any{"error": "on-premises TGT: " + err.Error()}, 500
			}
			reply["tgt_ad"] = tgt
		}
	}
	return reply, 0
}

// cloudTGT is tgt_cloud for u: a real TGT from the KDC, handed over the
// way Entra does, in an AS-REP whose enc-part is under a fresh clientKey
// that travels encrypted under the PRT session key.
func (s *Server) cloudTGT(ctx context.Context, u *User, skey []byte) (string, error) {
	return s.tgtField(ctx, u, entra.KerberosRealm, skey)
}

// tgtField is tgt_cloud (realm entra.KerberosRealm) or tgt_ad (the
// on-premises realm of Options.ADRealm) for u.
func (s *Server) tgtField(ctx context.Context, u *User, realm string, skey []byte) (string, error) {
	out := map[string]any{
		"clientKey": "", "keyType": 0, "messageBuffer": "", "error": "",
		"realm": realm, "sn": "krbtgt/" + realm, "cn": "", "sessionKeyType": 0, "accountType": 0,
	}
	if u.NoCloudTGT && realm == entra.KerberosRealm {
		out["error"] = "No cloud Kerberos ticket for this account."
		b, err := json.Marshal(out)
		return string(b), err
	}
	cred, err := s.kdcLogin(ctx, u, realm)
	if err != nil {
		return "", err
	}
	defer cred.Zero()
	ckey := make([]byte, 32)
	rand.Read(ckey)
	defer clear(ckey)

	// The client's name type is the KDC's (inside the ticket); a UPN
	// login comes back as a plain principal on Samba, an enterprise name
	// on Entra: both read the same in MIT's string form.
	ctype := kerbmsg.NameTypePrincipal
	if strings.Contains(strings.TrimSuffix(cred.Client, "@"+realm), `\@`) {
		ctype = kerbmsg.NameTypeEnterprise
	}
	cname, crealm, err := kerbmsg.ParsePrincipal(cred.Client, ctype)
	if err != nil {
		return "", err
	}
	sname, srealm, err := kerbmsg.ParsePrincipal(cred.Server, kerbmsg.NameTypeSrvInst)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, 4)
	rand.Read(nonce)
	enc := &kerbmsg.EncASRepPart{
		Key:       kerbmsg.EncryptionKey{KeyType: int32(cred.Enctype), KeyValue: cred.SessionKey},
		LastReq:   []kerbmsg.LastReq{{Type: 0, Value: cred.AuthTime}},
		Nonce:     (uint32(nonce[0])<<24 | uint32(nonce[1])<<16 | uint32(nonce[2])<<8 | uint32(nonce[3])) & 0x7fffffff,
		Flags:     uint32(cred.Flags),
		AuthTime:  cred.AuthTime,
		StartTime: cred.StartTime,
		EndTime:   cred.EndTime,
		RenewTill: cred.RenewTill,
		SRealm:    srealm,
		SName:     sname,
	}
	encDER, err := enc.Marshal()
	if err != nil {
		return "", err
	}
	defer clear(encDER)
	cipher, err := krb5.Encrypt(krb5.AES256SHA1, ckey, krb5.KeyUsageASRepEncPart, encDER)
	if err != nil {
		return "", err
	}
	rep := &kerbmsg.ASRep{
		CRealm: crealm, CName: cname, Ticket: cred.Ticket,
		EncPart: kerbmsg.EncryptedData{EType: int32(krb5.AES256SHA1), Cipher: cipher},
	}
	repDER, err := rep.Marshal()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	format := s.clientKey
	s.mu.Unlock()
	var clientKey string
	switch format {
	case ClientKeyPlain:
		clientKey = base64.StdEncoding.EncodeToString(ckey)
	case ClientKeyJWECBC:
		clientKey, err = msjose.EncryptJWE(ckey, skey, &msjose.EncryptOptions{Cipher: msjose.AES256CBC})
	default:
		clientKey, err = msjose.EncryptJWE(ckey, skey, nil)
	}
	if err != nil {
		return "", err
	}
	out["clientKey"] = clientKey
	out["keyType"] = int(krb5.AES256SHA1)
	out["messageBuffer"] = base64.StdEncoding.EncodeToString(repDER)
	out["cn"] = cname.String()
	out["sessionKeyType"] = int(cred.Enctype)
	out["accountType"] = 1
	b, err := json.Marshal(out)
	return string(b), err
}

// kdcLogin gets u's TGT from the real KDC (with u's password: the
// emulated directory holds it, as Entra holds a synced hash) and returns
// it with its session key.
func (s *Server) kdcLogin(ctx context.Context, u *User, realm string) (*krb5.Credential, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cc, err := s.kerberos.NewMemoryCCache()
	if err != nil {
		return nil, err
	}
	defer cc.Destroy()
	opts := &krb5.InitCredsOptions{Lifetime: s.opts.TGTLifetime}
	name := u.Principal
	if realm != entra.KerberosRealm {
		name = u.ADPrincipal
	} else if name == "" {
		name = u.UPN
		opts.Enterprise, opts.Realm = true, entra.KerberosRealm
	}
	if _, err := s.kerberos.GetInitCredsPassword(ctx, cc, name, []byte(u.Password), opts); err != nil {
		return nil, err
	}
	return cc.RetrieveCredential("krbtgt/" + realm + "@" + realm)
}
