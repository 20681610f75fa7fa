package entratest

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/entra/internal/msjose"
)

// device is a registered device.
type device struct {
	id        string
	cert      *x509.Certificate
	transport *rsa.PublicKey
	owner     string
	disabled  bool
}

func (s *Server) drsDiscover(w http.ResponseWriter, r *http.Request) {
	s.count("drs-discover")
	if !strings.EqualFold(r.PathValue("domain"), s.Domain) {
		writeJSON(w, 404, map[string]any{"ErrorType": "DomainNotFound", "Message": "The domain is not a verified domain of any tenant."})
		return
	}
	ep := s.URL + "/drs/EnrollmentServer/device/"
	writeJSON(w, 200, map[string]any{
		"DeviceRegistrationService": map[string]any{
			"RegistrationEndpoint":   ep,
			"RegistrationResourceId": "urn:ms-drs:enterpriseregistration.windows.net",
			"ServiceVersion":         "1.0",
		},
		"AuthenticationService": map[string]any{
			"OAuth2Authority":  s.URL + "/" + s.Tenant + "/",
			"OAuth2ClientId":   "dd762716-544d-4aeb-a526-687b73838a22",
			"OAuth2ResourceId": "urn:ms-drs:enterpriseregistration.windows.net",
		},
		"IdentityProviderService": map[string]any{"Federated": false},
		"DeviceJoinService": map[string]any{
			"JoinEndpoint":   ep,
			"JoinResourceId": "urn:ms-drs:enterpriseregistration.windows.net",
			"ServiceVersion": "2.0",
		},
	})
}

// drsFail answers as DRS does: a JSON body with a code and a message.
func drsFail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg, "error": code, "error_description": msg})
}

func (s *Server) drsJoin(w http.ResponseWriter, r *http.Request) {
	s.count("drs-join")
	if r.URL.Query().Get("api-version") == "" {
		drsFail(w, 400, "invalid_request", "api-version is required")
		return
	}
	claims, why := s.verifyAccessToken(r, drsAudiences...)
	if claims == nil {
		drsFail(w, 401, "invalid_token", "the access token was refused: "+why)
		return
	}
	var req struct {
		CertificateRequest struct{ Type, Data string }
		TransportKey       string
		TargetDomain       string
		DeviceType         string
		OSVersion          string
		DeviceDisplayName  string
		JoinType           int
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		drsFail(w, 400, "invalid_request", "the body is not the join JSON")
		return
	}
	if req.CertificateRequest.Type != "pkcs10" {
		drsFail(w, 400, "invalid_request", "CertificateRequest.Type must be pkcs10")
		return
	}
	der, err := base64.StdEncoding.DecodeString(req.CertificateRequest.Data)
	if err != nil {
		drsFail(w, 400, "invalid_request", "CertificateRequest.Data is not base64")
		return
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil || csr.CheckSignature() != nil {
		drsFail(w, 400, "invalid_request", "the certificate request is not a signed PKCS#10 request")
		return
	}
	pub, ok := csr.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 2048 {
		drsFail(w, 400, "invalid_request", "the device key must be RSA of 2048 bits or more")
		return
	}
	blob, err := base64.StdEncoding.DecodeString(req.TransportKey)
	if err != nil {
		drsFail(w, 400, "invalid_request", "TransportKey is not base64")
		return
	}
	tpub, err := msjose.ParseRSAPublicBlob(blob)
	if err != nil {
		drsFail(w, 400, "invalid_request", "TransportKey is not a BCRYPT_RSAKEY_BLOB: "+err.Error())
		return
	}
	if !strings.EqualFold(req.TargetDomain, s.Domain) {
		drsFail(w, 400, "invalid_request", "TargetDomain is not a domain of this tenant")
		return
	}
	if req.JoinType != 0 && req.JoinType != 4 && req.JoinType != 6 {
		drsFail(w, 400, "invalid_request", "JoinType must be 0, 4 or 6")
		return
	}
	id := objectID(randomString(16))
	cert, err := s.deviceCA.IssueClient(pub, id, 10*365*24*time.Hour)
	if err != nil {
		drsFail(w, 500, "server_error", err.Error())
		return
	}
	s.mu.Lock()
	s.devices[id] = &device{id: id, cert: cert, transport: tpub, owner: claims.UPN}
	s.mu.Unlock()
	thumb := sha1.Sum(cert.Raw)
	writeJSON(w, 200, map[string]any{
		"Certificate": map[string]any{
			"Thumbprint": strings.ToUpper(hex.EncodeToString(thumb[:])),
			"RawBody":    base64.StdEncoding.EncodeToString(cert.Raw),
		},
		"User":              map[string]any{"Upn": claims.UPN},
		"MembershipChanges": []any{map[string]any{"LocalSID": "S-1-5-32-544", "AddSIDs": []string{}}},
	})
}

func (s *Server) drsDelete(w http.ResponseWriter, r *http.Request) {
	s.count("drs-delete")
	id := strings.ToLower(r.PathValue("id"))
	cert := s.clientCertificate(r)
	if cert == nil || !strings.EqualFold(cert.Subject.CommonName, id) {
		drsFail(w, 401, "unauthorized", "the device certificate must authenticate the request (TLS client certificate)")
		return
	}
	s.mu.Lock()
	d, ok := s.devices[id]
	if ok && d.cert.Equal(cert) {
		delete(s.devices, id)
	}
	s.mu.Unlock()
	if !ok {
		drsFail(w, 404, "device_not_found", "the directory has no such device")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// clientCertificate is the request's TLS client certificate if it chains
// to the device CA.
func (s *Server) clientCertificate(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	c := r.TLS.PeerCertificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(s.deviceCA.Cert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil
	}
	return c
}
