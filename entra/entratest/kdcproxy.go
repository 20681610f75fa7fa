package entratest

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/kkdcp"
)

// kdcProxy is the tenant's MS-KKDCP endpoint: a strict proxy to the real
// KDC (kkdcp.Handler), except that a service ticket for a cifs/ name
// without an application in the tenant is refused the way Entra refuses
// it: KDC_ERR_S_PRINCIPAL_UNKNOWN with AADSTS700016 in e-text (Entra
// matches SPNs case-sensitively, so CIFS/ never has one).
func (s *Server) kdcProxy(w http.ResponseWriter, r *http.Request) {
	s.count("kdcproxy")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	if m, err := kkdcp.Unmarshal(body); err == nil && len(m.KerbMessage) > 0 && m.KerbMessage[0] == 0x6c {
		if spn, ok := tgsServer(m.KerbMessage); ok && s.unknownSPN(spn) {
			reply, err := krbError(spn, "AADSTS700016: UnauthorizedClient_DoesNotMatchRequest: Application with identifier '"+spn+"' was not found in the directory '"+s.Tenant+"'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.")
			if err == nil {
				out, err := (&kkdcp.Message{KerbMessage: reply}).Marshal()
				if err == nil {
					w.Header().Set("Content-Type", "application/kerberos")
					w.Header().Set("Content-Length", strconv.Itoa(len(out)))
					w.WriteHeader(200)
					w.Write(out)
					return
				}
			}
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	s.proxy.ServeHTTP(w, r)
}

// unknownSPN reports whether spn (a name without realm) has no
// application in the tenant.
func (s *Server) unknownSPN(spn string) bool {
	if strings.HasPrefix(spn, "CIFS/") {
		return true
	}
	if !strings.HasPrefix(spn, "cifs/") || len(s.opts.SPNs) == 0 {
		return false
	}
	return !slices.Contains(s.opts.SPNs, spn)
}

// principalName is RFC 4120's PrincipalName.
type principalName struct {
	Type  int32           `asn1:"explicit,tag:0"`
	Parts []asn1.RawValue `asn1:"explicit,tag:1"`
}

// tgsServer reads the server name of a TGS-REQ ([APPLICATION 12]).
func tgsServer(der []byte) (string, bool) {
	var app asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &app); err != nil || len(rest) > 0 || app.Class != asn1.ClassApplication || app.Tag != 12 {
		return "", false
	}
	var req struct {
		PVNO    int           `asn1:"explicit,tag:1"`
		MsgType int           `asn1:"explicit,tag:2"`
		PAData  asn1.RawValue `asn1:"optional,explicit,tag:3"`
		Body    asn1.RawValue `asn1:"explicit,tag:4"`
	}
	if _, err := asn1.Unmarshal(app.Bytes, &req); err != nil {
		return "", false
	}
	// A RawValue keeps its explicit tag: req.Body is [4] around the
	// KDC-REQ-BODY sequence, of which only sname is needed.
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(req.Body.Bytes, &seq); err != nil || seq.Tag != asn1.TagSequence {
		return "", false
	}
	return snameOf(seq.Bytes)
}

// snameOf finds [3] sname in the contents of a KDC-REQ-BODY.
func snameOf(b []byte) (string, bool) {
	for len(b) > 0 {
		var f asn1.RawValue
		rest, err := asn1.Unmarshal(b, &f)
		if err != nil {
			return "", false
		}
		if f.Class == asn1.ClassContextSpecific && f.Tag == 3 {
			var pn principalName
			if _, err := asn1.Unmarshal(f.Bytes, &pn); err != nil {
				return "", false
			}
			return joinName(pn)
		}
		b = rest
	}
	return "", false
}

func joinName(pn principalName) (string, bool) {
	if len(pn.Parts) == 0 {
		return "", false
	}
	parts := make([]string, len(pn.Parts))
	for i, p := range pn.Parts {
		parts[i] = string(p.Bytes)
	}
	return strings.Join(parts, "/"), true
}

// generalString is a KerberosString (GeneralString, tag 27).
func generalString(s string) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagGeneralString, Bytes: []byte(s)}
}

// field is v under the context tag [tag], as Kerberos's explicit tags
// are (encoding/asn1 ignores a struct tag's explicit option on a
// RawValue, so the wrapping is done here).
func field(tag int, v any) (asn1.RawValue, error) {
	inner, err := asn1.Marshal(v)
	if err != nil {
		return asn1.RawValue{}, err
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: inner}, nil
}

// krbError builds a KRB-ERROR ([APPLICATION 30]) of the KDC of
// entra.KerberosRealm: KDC_ERR_S_PRINCIPAL_UNKNOWN for the service spn,
// with text as e-text.
func krbError(spn, text string) ([]byte, error) {
	const principalUnknown = 7 // KDC_ERR_S_PRINCIPAL_UNKNOWN
	if spn == "" {
		return nil, errors.New("no service name")
	}
	now := time.Now().UTC()
	var parts []asn1.RawValue
	for _, p := range strings.Split(spn, "/") {
		parts = append(parts, generalString(p))
	}
	type principal struct {
		Type  int32           `asn1:"explicit,tag:0"`
		Parts []asn1.RawValue `asn1:"explicit,tag:1"`
	}
	var seq []byte
	for _, f := range []struct {
		tag int
		v   any
	}{
		{0, 5}, {1, 30},
		{4, asn1.RawValue{Tag: asn1.TagGeneralizedTime, Bytes: []byte(now.Format("20060102150405Z"))}},
		{5, now.Nanosecond() / 1000},
		{6, principalUnknown},
		{9, generalString(entra.KerberosRealm)},
		{10, principal{Type: 2, Parts: parts}},
		{11, generalString(text)},
	} {
		rv, err := field(f.tag, f.v)
		if err != nil {
			return nil, err
		}
		b, err := asn1.Marshal(rv)
		if err != nil {
			return nil, err
		}
		seq = append(seq, b...)
	}
	inner, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: seq})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: 30, IsCompound: true, Bytes: inner})
}
