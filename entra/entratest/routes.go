package entratest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// routes is the emulator's URL space, the real service's paths under one
// host: /<tenant>/... is login.microsoftonline.com, /drs/... is
// enterpriseregistration.windows.net.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	t := "/" + s.Tenant
	mux.HandleFunc("GET "+t+"/v2.0/.well-known/openid-configuration", s.openIDConfiguration)
	mux.HandleFunc("POST "+t+"/oauth2/v2.0/devicecode", s.deviceCodeEndpoint)
	mux.HandleFunc("POST "+t+"/oauth2/v2.0/token", s.tokenV2)
	mux.HandleFunc("POST "+t+"/oauth2/token", s.tokenV1)
	mux.HandleFunc("POST "+t+"/kerberos", s.kdcProxy)
	mux.HandleFunc("GET /drs/{domain}/Discover", s.drsDiscover)
	mux.HandleFunc("POST /drs/EnrollmentServer/device/", s.drsJoin)
	mux.HandleFunc("DELETE /drs/EnrollmentServer/device/{id}", s.drsDelete)
	// A storage account's file endpoint, https://{account}/ in Azure.
	mux.HandleFunc("POST /files/{account}/", s.kerbTicket)
	var h http.Handler = mux
	if s.opts.Log != nil {
		h = logRequests(s.opts.Log, mux)
	}
	return h
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func logRequests(w io.Writer, h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: rw, status: 200}
		h.ServeHTTP(rec, r)
		fmt.Fprintf(w, "entratest: %s %s %d\n", r.Method, r.URL.Path, rec.status)
	})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// oauthFail answers with an OAuth error in Entra's shape: error,
// error_description starting "AADSTSnnnn: ", error_codes.
func oauthFail(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	d := desc
	if aadsts != 0 {
		d = fmt.Sprintf("AADSTS%d: %s", aadsts, desc)
	}
	body := map[string]any{
		"error":             code,
		"error_description": d + "\r\nTrace ID: 00000000-0000-0000-0000-000000000000\r\nCorrelation ID: 00000000-0000-0000-0000-000000000000",
		"timestamp":         "",
	}
	if aadsts != 0 {
		body["error_codes"] = []int{aadsts}
	}
	writeJSON(w, status, body)
}

// readForm parses a bounded form body.
func readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		oauthFail(w, 400, "invalid_request", 900144, "The request body must contain a form: "+err.Error())
		return false
	}
	return true
}

func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	s.count("openid-configuration")
	base := s.URL + "/" + s.Tenant
	writeJSON(w, 200, map[string]any{
		"issuer":                                base + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"kerberos_endpoint":                     base + "/kerberos",
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
	})
}

// lookupUser finds a user by UPN.
func (s *Server) lookupUser(upn string) (*User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[strings.ToLower(upn)]
	return u, ok
}
