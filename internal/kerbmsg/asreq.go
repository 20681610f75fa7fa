package kerbmsg

import (
	"errors"
	"math"
	"time"
)

// MarshalProbeASReq encodes an AS-REQ (RFC 4120 5.4.1) for a TGT of
// client@realm without pre-authentication, valid until till, with nonce
// and etypes in order of preference. A KDC answers it with a KRB-ERROR
// (KDC_ERR_PREAUTH_REQUIRED, or KDC_ERR_C_PRINCIPAL_UNKNOWN for a name it
// does not know) whose stime is its clock: smbkrb doctor sends it to learn
// how far this machine's clock is from the KDC's, through whatever path
// (TCP or a KDC proxy) the KDC is reached by. It proves nothing and
// carries no secret. nonce must be below 2^31: RFC 4120 calls it UInt32,
// but KDCs (Heimdal in Samba, MIT) decode it as a signed 32-bit integer
// and drop a request whose nonce is larger.
func MarshalProbeASReq(client PrincipalName, realm string, nonce uint32, till time.Time, etypes []int32) ([]byte, error) {
	if err := client.check("cname"); err != nil {
		return nil, err
	}
	if err := checkRealm(realm, "realm"); err != nil {
		return nil, err
	}
	if err := checkTime(till, "till"); err != nil {
		return nil, err
	}
	if nonce > math.MaxInt32 {
		return nil, errors.New("kerbmsg: AS-REQ: the nonce must be below 2^31")
	}
	if len(etypes) == 0 {
		return nil, errors.New("kerbmsg: AS-REQ: no etype")
	}
	et := make([][]byte, len(etypes))
	for i, e := range etypes {
		et[i] = intElement(int64(e))
	}
	tgs := PrincipalName{NameType: NameTypeSrvInst, NameString: []string{"krbtgt", realm}}
	body := tlv(tagSequence,
		explicitField(0, flagsElement(0)),
		explicitField(1, client.element()),
		explicitField(2, stringElement(realm)),
		explicitField(3, tgs.element()),
		explicitField(5, timeElement(till)),
		explicitField(7, intElement(int64(nonce))),
		explicitField(8, tlv(tagSequence, et...)),
	)
	return checkSize(tlv(app(msgTypeASReq), tlv(tagSequence,
		explicitField(1, intElement(5)),
		explicitField(2, intElement(msgTypeASReq)),
		explicitField(4, body),
	)))
}
