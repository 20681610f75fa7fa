// Package spnego encodes and decodes the SPNEGO tokens (RFC 4178,
// MS-SPNG) that carry Kerberos in SMB2 SESSION_SETUP: the client's
// NegTokenInit, the server's NegTokenResp, and the server's hint in the
// NEGOTIATE response. Every decoder takes untrusted bytes and fails with
// an error that says which field was wrong.
package spnego

import (
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/smbkrb/smbkrb/internal/der"
)

// Mechanism OIDs.
var (
	OIDSPNEGO     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	OIDKerberos   = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	OIDMSKerberos = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2} // Microsoft's variant, the same mechanism
	OIDNTLM       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
)

// negState values of a NegTokenResp (RFC 4178 4.2.2).
const (
	AcceptCompleted  = 0
	AcceptIncomplete = 1
	Reject           = 2
	RequestMIC       = 3
	// NegStateAbsent is Resp.State when the token has no negState.
	NegStateAbsent = -1
)

// maxLenBytes bounds DER long-form lengths: SPNEGO tokens in SMB fit in
// a 64 KiB security buffer, so three bytes are already generous.
const maxLenBytes = 3

// InitToken builds the client's first token: the GSS-API framed
// NegTokenInit proposing mechs with the first one's optimistic token tok
// as mechToken. It also returns the DER MechTypeList, which the
// mechListMIC covers.
func InitToken(mechs []asn1.ObjectIdentifier, tok []byte) (token, mechList []byte, err error) {
	if len(mechs) == 0 {
		return nil, nil, errors.New("spnego: no mechanisms to propose")
	}
	var oids []byte
	for _, m := range mechs {
		b, err := asn1.Marshal(m)
		if err != nil {
			return nil, nil, fmt.Errorf("spnego: mechanism %v: %w", m, err)
		}
		oids = append(oids, b...)
	}
	mechList = der.Append(nil, 0x30, oids)
	spnegoOID, _ := asn1.Marshal(OIDSPNEGO)
	init := der.Append(nil, 0x30,
		der.Append(nil, 0xa0, mechList),
		der.Append(nil, 0xa2, der.Append(nil, 0x04, tok)))
	token = der.Append(nil, 0x60, spnegoOID, der.Append(nil, 0xa0, init))
	return token, mechList, nil
}

// Resp is a NegTokenResp. Absent fields are zero (State NegStateAbsent).
type Resp struct {
	State         int
	SupportedMech asn1.ObjectIdentifier
	ResponseToken []byte
	MechListMIC   []byte
}

// RespToken encodes r as a NegTokenResp (the client's second-leg token
// carries only the state and its mechListMIC).
func RespToken(r *Resp) []byte {
	var fields [][]byte
	if r.State != NegStateAbsent {
		fields = append(fields, der.Append(nil, 0xa0, der.Append(nil, 0x0a, []byte{byte(r.State)})))
	}
	if len(r.SupportedMech) > 0 {
		b, err := asn1.Marshal(r.SupportedMech)
		if err == nil {
			fields = append(fields, der.Append(nil, 0xa1, b))
		}
	}
	if r.ResponseToken != nil {
		fields = append(fields, der.Append(nil, 0xa2, der.Append(nil, 0x04, r.ResponseToken)))
	}
	if r.MechListMIC != nil {
		fields = append(fields, der.Append(nil, 0xa3, der.Append(nil, 0x04, r.MechListMIC)))
	}
	return der.Append(nil, 0xa1, der.Append(nil, 0x30, fields...))
}

// ParseResp decodes the server's NegTokenResp. The fields must come in
// order, each at most once, with nothing after them.
func ParseResp(b []byte) (*Resp, error) {
	_, outer, rest, err := der.Read(b, 0xa1, maxLenBytes, "spnego: NegTokenResp")
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("spnego: %d bytes after the NegTokenResp", len(rest))
	}
	_, seq, rest, err := der.Read(outer, 0x30, maxLenBytes, "spnego: NegTokenResp sequence")
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("spnego: %d bytes after the NegTokenResp sequence", len(rest))
	}
	r := &Resp{State: NegStateAbsent}
	last := -1
	for len(seq) > 0 {
		tag := seq[0]
		n := int(tag) - 0xa0
		if n < 0 || n > 3 {
			return nil, fmt.Errorf("spnego: NegTokenResp has an unknown field with tag %#02x", tag)
		}
		if n <= last {
			return nil, fmt.Errorf("spnego: NegTokenResp field [%d] out of order or repeated", n)
		}
		last = n
		var field []byte
		_, field, seq, err = der.Read(seq, tag, maxLenBytes, fmt.Sprintf("spnego: NegTokenResp field [%d]", n))
		if err != nil {
			return nil, err
		}
		switch n {
		case 0:
			_, v, extra, err := der.Read(field, 0x0a, 1, "spnego: negState")
			if err != nil {
				return nil, err
			}
			if len(v) != 1 || len(extra) != 0 || v[0] > RequestMIC {
				return nil, fmt.Errorf("spnego: negState % x is not one of RFC 4178's four", v)
			}
			r.State = int(v[0])
		case 1:
			whole, _, extra, err := der.Read(field, 0x06, 1, "spnego: supportedMech")
			if err != nil {
				return nil, err
			}
			if len(extra) != 0 {
				return nil, errors.New("spnego: bytes after supportedMech")
			}
			if _, err := asn1.Unmarshal(whole, &r.SupportedMech); err != nil {
				return nil, fmt.Errorf("spnego: supportedMech: %v", err)
			}
		case 2, 3:
			what := map[int]string{2: "responseToken", 3: "mechListMIC"}[n]
			_, v, extra, err := der.Read(field, 0x04, maxLenBytes, "spnego: "+what)
			if err != nil {
				return nil, err
			}
			if len(extra) != 0 {
				return nil, fmt.Errorf("spnego: bytes after %s", what)
			}
			if n == 2 {
				r.ResponseToken = v
			} else {
				r.MechListMIC = v
			}
		}
	}
	return r, nil
}

// ParseInitHint decodes the server's NegTokenInit in the NEGOTIATE
// response and returns the mechanisms it offers. An empty buffer (the
// server leaves the choice to the client) gives nil and no error.
// Fields after mechTypes (Samba's negHints, for one) are skipped.
func ParseInitHint(b []byte) ([]asn1.ObjectIdentifier, error) {
	if len(b) == 0 {
		return nil, nil
	}
	_, app, _, err := der.Read(b, 0x60, maxLenBytes, "spnego: server's initial token")
	if err != nil {
		return nil, err
	}
	oidElem, _, rest, err := der.Read(app, 0x06, 1, "spnego: token OID")
	if err != nil {
		return nil, err
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(oidElem, &oid); err != nil || !oid.Equal(OIDSPNEGO) {
		return nil, fmt.Errorf("spnego: the server's initial token is not SPNEGO (%v)", oid)
	}
	_, ctx, _, err := der.Read(rest, 0xa0, maxLenBytes, "spnego: NegTokenInit")
	if err != nil {
		return nil, err
	}
	_, seq, _, err := der.Read(ctx, 0x30, maxLenBytes, "spnego: NegTokenInit sequence")
	if err != nil {
		return nil, err
	}
	_, field, _, err := der.Read(seq, 0xa0, maxLenBytes, "spnego: mechTypes")
	if err != nil {
		return nil, err
	}
	_, list, _, err := der.Read(field, 0x30, maxLenBytes, "spnego: mechTypes sequence")
	if err != nil {
		return nil, err
	}
	var mechs []asn1.ObjectIdentifier
	for len(list) > 0 {
		var whole []byte
		whole, _, list, err = der.Read(list, 0x06, 1, "spnego: mechanism OID")
		if err != nil {
			return nil, err
		}
		var m asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(whole, &m); err != nil {
			return nil, fmt.Errorf("spnego: mechanism OID: %v", err)
		}
		mechs = append(mechs, m)
		if len(mechs) > 32 {
			return nil, errors.New("spnego: the server offers more than 32 mechanisms")
		}
	}
	return mechs, nil
}

// sameMech reports whether a and b name the same mechanism, counting
// Microsoft's Kerberos OID as Kerberos.
func sameMech(a, b asn1.ObjectIdentifier) bool {
	norm := func(o asn1.ObjectIdentifier) asn1.ObjectIdentifier {
		if o.Equal(OIDMSKerberos) {
			return OIDKerberos
		}
		return o
	}
	return norm(a).Equal(norm(b))
}

// CheckFinal checks the server's last NegTokenResp of a successful
// SESSION_SETUP against the mechanisms the client proposed: the state
// must be accept-completed, and a supportedMech must be one of them. It
// reports whether the token carries a mechListMIC, which the caller must
// then verify. (The server may omit its MIC when it chose the client's
// first mechanism, RFC 4178 5.)
func CheckFinal(r *Resp, proposed []asn1.ObjectIdentifier) (hasMIC bool, err error) {
	if r.State != AcceptCompleted {
		if r.State == NegStateAbsent {
			return false, errors.New("the server's final SPNEGO token has no negState")
		}
		return false, fmt.Errorf("the server's final SPNEGO token has negState %d, not accept-completed", r.State)
	}
	if len(r.SupportedMech) > 0 {
		ok := false
		for _, m := range proposed {
			if sameMech(m, r.SupportedMech) {
				ok = true
				break
			}
		}
		if !ok {
			return false, fmt.Errorf("the server chose mechanism %v, which was not proposed", r.SupportedMech)
		}
	}
	return len(r.MechListMIC) > 0, nil
}
