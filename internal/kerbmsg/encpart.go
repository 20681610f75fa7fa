package kerbmsg

import (
	"errors"
	"fmt"
	"time"
)

// Ticket flags (RFC 4120 section 5.3, RFC 6806 section 11) as masks of
// [EncASRepPart.Flags], whose most significant bit is flag 0. Windows' TGTs
// carry 0x40810000 (forwardable, renewable, and bit 15).
const (
	FlagForwardable            uint32 = 1 << (31 - 1)
	FlagForwarded              uint32 = 1 << (31 - 2)
	FlagProxiable              uint32 = 1 << (31 - 3)
	FlagProxy                  uint32 = 1 << (31 - 4)
	FlagMayPostdate            uint32 = 1 << (31 - 5)
	FlagPostdated              uint32 = 1 << (31 - 6)
	FlagInvalid                uint32 = 1 << (31 - 7)
	FlagRenewable              uint32 = 1 << (31 - 8)
	FlagInitial                uint32 = 1 << (31 - 9)
	FlagPreAuthent             uint32 = 1 << (31 - 10)
	FlagHWAuthent              uint32 = 1 << (31 - 11)
	FlagTransitedPolicyChecked uint32 = 1 << (31 - 12)
	FlagOKAsDelegate           uint32 = 1 << (31 - 13)
	FlagEncPARep               uint32 = 1 << (31 - 15) // also "name-canonicalize" in KDC options
)

// EncryptionKey is RFC 4120's EncryptionKey.
//
//	EncryptionKey ::= SEQUENCE {
//	    keytype  [0] Int32,
//	    keyvalue [1] OCTET STRING
//	}
type EncryptionKey struct {
	KeyType  int32
	KeyValue []byte
}

// LastReq is one entry of RFC 4120's LastReq.
type LastReq struct {
	Type  int32
	Value time.Time
}

// HostAddress is RFC 4120's HostAddress.
type HostAddress struct {
	AddrType int32
	Address  []byte
}

// EncASRepPart is the decrypted enc-part of an AS-REP: the TGT's session
// key, flags and times.
//
//	EncASRepPart  ::= [APPLICATION 25] EncKDCRepPart
//	EncKDCRepPart ::= SEQUENCE {
//	    key               [0] EncryptionKey,
//	    last-req          [1] LastReq,
//	    nonce             [2] UInt32,
//	    key-expiration    [3] KerberosTime OPTIONAL,
//	    flags             [4] TicketFlags,
//	    authtime          [5] KerberosTime,
//	    starttime         [6] KerberosTime OPTIONAL,
//	    endtime           [7] KerberosTime,
//	    renew-till        [8] KerberosTime OPTIONAL,
//	    srealm            [9] Realm,
//	    sname             [10] PrincipalName,
//	    caddr             [11] HostAddresses OPTIONAL,
//	    encrypted-pa-data [12] SEQUENCE OF PA-DATA OPTIONAL -- RFC 6806
//	}
//
// Optional times are the zero time.Time when absent. Times are UTC with
// whole seconds, as KerberosTime holds them.
type EncASRepPart struct {
	Key           EncryptionKey
	LastReq       []LastReq
	Nonce         uint32
	KeyExpiration time.Time
	// Flags are the TicketFlags; see FlagForwardable and the others.
	Flags     uint32
	AuthTime  time.Time
	StartTime time.Time
	EndTime   time.Time
	RenewTill time.Time
	SRealm    string
	SName     PrincipalName
	// CAddr is the client's addresses; nil when absent, non-nil and empty
	// when present but empty.
	CAddr []HostAddress
	// EncryptedPAData is the DER of the encrypted-pa-data SEQUENCE OF
	// PA-DATA, kept as it came; nil when absent.
	EncryptedPAData []byte
}

// ParseEncASRepPart decodes a DER EncASRepPart, which must fill b exactly.
// It accepts the application tag of EncTGSRepPart (26) too, as MIT does,
// because some KDCs (Windows among them) use it in AS replies. Only DER is
// accepted, so [EncASRepPart.Marshal] gives b back for tag 25.
func ParseEncASRepPart(b []byte) (*EncASRepPart, error) {
	p, err := parseEncASRepPart(b)
	if err != nil {
		return nil, fmt.Errorf("kerbmsg: EncASRepPart: %w", err)
	}
	return p, nil
}

func parseEncASRepPart(b []byte) (*EncASRepPart, error) {
	if len(b) > maxMessageLen {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(b), maxMessageLen)
	}
	d := decoder{b}
	tag := app(msgTypeEncAS)
	if d.peek(app(msgTypeEncTGS)) {
		tag = app(msgTypeEncTGS)
	}
	c, err := d.next(tag, "[APPLICATION 25] or [APPLICATION 26]")
	if err != nil {
		return nil, err
	}
	if err := d.end("after the EncASRepPart"); err != nil {
		return nil, err
	}
	seq := decoder{c}
	body, err := seq.next(tagSequence, "EncKDCRepPart SEQUENCE")
	if err != nil {
		return nil, err
	}
	if err := seq.end("after the EncKDCRepPart SEQUENCE"); err != nil {
		return nil, err
	}
	fd := decoder{body}
	p := new(EncASRepPart)

	kc, err := fd.explicit(0, tagSequence, "key [0]")
	if err != nil {
		return nil, err
	}
	kd := decoder{kc}
	if p.Key.KeyType, err = kd.readInt32(0, "key: keytype [0]"); err != nil {
		return nil, err
	}
	if p.Key.KeyValue, err = kd.readOctets(1, "key: keyvalue [1]"); err != nil {
		return nil, err
	}
	if err := kd.end("key"); err != nil {
		return nil, err
	}

	lc, err := fd.explicit(1, tagSequence, "last-req [1]")
	if err != nil {
		return nil, err
	}
	ld := decoder{lc}
	p.LastReq = []LastReq{}
	for !ld.empty() {
		if len(p.LastReq) == maxSeqItems {
			return nil, fmt.Errorf("last-req: more than %d entries", maxSeqItems)
		}
		item, err := ld.next(tagSequence, "last-req entry")
		if err != nil {
			return nil, err
		}
		id := decoder{item}
		var lr LastReq
		if lr.Type, err = id.readInt32(0, "last-req: lr-type [0]"); err != nil {
			return nil, err
		}
		if lr.Value, err = id.readTime(1, "last-req: lr-value [1]"); err != nil {
			return nil, err
		}
		if err := id.end("last-req entry"); err != nil {
			return nil, err
		}
		p.LastReq = append(p.LastReq, lr)
	}

	if p.Nonce, err = fd.readUInt32(2, "nonce [2]"); err != nil {
		return nil, err
	}
	if fd.peek(ctx(3)) {
		if p.KeyExpiration, err = fd.readTime(3, "key-expiration [3]"); err != nil {
			return nil, err
		}
	}
	if p.Flags, err = fd.readFlags(4, "flags [4]"); err != nil {
		return nil, err
	}
	if p.AuthTime, err = fd.readTime(5, "authtime [5]"); err != nil {
		return nil, err
	}
	if fd.peek(ctx(6)) {
		if p.StartTime, err = fd.readTime(6, "starttime [6]"); err != nil {
			return nil, err
		}
	}
	if p.EndTime, err = fd.readTime(7, "endtime [7]"); err != nil {
		return nil, err
	}
	if fd.peek(ctx(8)) {
		if p.RenewTill, err = fd.readTime(8, "renew-till [8]"); err != nil {
			return nil, err
		}
	}
	if p.SRealm, err = fd.readRealm(9, "srealm [9]"); err != nil {
		return nil, err
	}
	if p.SName, err = fd.readPrincipalName(10, "sname [10]"); err != nil {
		return nil, err
	}
	if fd.peek(ctx(11)) {
		ac, err := fd.explicit(11, tagSequence, "caddr [11]")
		if err != nil {
			return nil, err
		}
		ad := decoder{ac}
		p.CAddr = []HostAddress{}
		for !ad.empty() {
			if len(p.CAddr) == maxSeqItems {
				return nil, fmt.Errorf("caddr: more than %d addresses", maxSeqItems)
			}
			item, err := ad.next(tagSequence, "caddr: HostAddress")
			if err != nil {
				return nil, err
			}
			id := decoder{item}
			var a HostAddress
			if a.AddrType, err = id.readInt32(0, "caddr: addr-type [0]"); err != nil {
				return nil, err
			}
			if a.Address, err = id.readOctets(1, "caddr: address [1]"); err != nil {
				return nil, err
			}
			if err := id.end("caddr: HostAddress"); err != nil {
				return nil, err
			}
			p.CAddr = append(p.CAddr, a)
		}
	}
	if fd.peek(ctx(12)) {
		whole, _, err := fd.explicitRaw(12, tagSequence, "encrypted-pa-data [12]")
		if err != nil {
			return nil, err
		}
		if _, err := parsePAData(whole); err != nil {
			return nil, fmt.Errorf("encrypted-pa-data [12]: %w", err)
		}
		p.EncryptedPAData = append([]byte{}, whole...)
	}
	if err := fd.end("EncKDCRepPart"); err != nil {
		return nil, err
	}
	return p, nil
}

// Marshal returns the DER encoding of p with application tag 25
// (EncASRepPart). AuthTime and EndTime are required; other zero times are
// left out.
func (p *EncASRepPart) Marshal() ([]byte, error) {
	b, err := p.marshal()
	if err != nil {
		return nil, fmt.Errorf("kerbmsg: marshal EncASRepPart: %w", err)
	}
	return b, nil
}

func (p *EncASRepPart) marshal() ([]byte, error) {
	if p.AuthTime.IsZero() {
		return nil, errors.New("authtime is required")
	}
	if p.EndTime.IsZero() {
		return nil, errors.New("endtime is required")
	}
	for _, t := range []struct {
		t    time.Time
		what string
	}{{p.KeyExpiration, "key-expiration"}, {p.AuthTime, "authtime"}, {p.StartTime, "starttime"}, {p.EndTime, "endtime"}, {p.RenewTill, "renew-till"}} {
		if err := checkTime(t.t, t.what); err != nil {
			return nil, err
		}
	}
	if err := checkRealm(p.SRealm, "srealm"); err != nil {
		return nil, err
	}
	if err := p.SName.check("sname"); err != nil {
		return nil, err
	}
	if len(p.LastReq) > maxSeqItems || len(p.CAddr) > maxSeqItems {
		return nil, fmt.Errorf("more than %d last-req entries or addresses", maxSeqItems)
	}
	lrs := make([][]byte, len(p.LastReq))
	for i, lr := range p.LastReq {
		if err := checkTime(lr.Value, "last-req"); err != nil {
			return nil, err
		}
		lrs[i] = tlv(tagSequence,
			explicitField(0, intElement(int64(lr.Type))),
			explicitField(1, timeElement(lr.Value)),
		)
	}
	parts := [][]byte{
		explicitField(0, tlv(tagSequence,
			explicitField(0, intElement(int64(p.Key.KeyType))),
			explicitField(1, octetsElement(p.Key.KeyValue)),
		)),
		explicitField(1, tlv(tagSequence, lrs...)),
		explicitField(2, intElement(int64(p.Nonce))),
	}
	if !p.KeyExpiration.IsZero() {
		parts = append(parts, explicitField(3, timeElement(p.KeyExpiration)))
	}
	parts = append(parts,
		explicitField(4, flagsElement(p.Flags)),
		explicitField(5, timeElement(p.AuthTime)),
	)
	if !p.StartTime.IsZero() {
		parts = append(parts, explicitField(6, timeElement(p.StartTime)))
	}
	parts = append(parts, explicitField(7, timeElement(p.EndTime)))
	if !p.RenewTill.IsZero() {
		parts = append(parts, explicitField(8, timeElement(p.RenewTill)))
	}
	parts = append(parts,
		explicitField(9, stringElement(p.SRealm)),
		explicitField(10, p.SName.element()),
	)
	if p.CAddr != nil {
		addrs := make([][]byte, len(p.CAddr))
		for i, a := range p.CAddr {
			addrs[i] = tlv(tagSequence,
				explicitField(0, intElement(int64(a.AddrType))),
				explicitField(1, octetsElement(a.Address)),
			)
		}
		parts = append(parts, explicitField(11, tlv(tagSequence, addrs...)))
	}
	if p.EncryptedPAData != nil {
		if _, err := parsePAData(p.EncryptedPAData); err != nil {
			return nil, fmt.Errorf("encrypted-pa-data: %w", err)
		}
		parts = append(parts, explicitField(12, p.EncryptedPAData))
	}
	return checkSize(tlv(app(msgTypeEncAS), tlv(tagSequence, parts...)))
}
