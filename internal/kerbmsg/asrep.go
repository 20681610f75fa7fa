package kerbmsg

import (
	"errors"
	"fmt"
)

// Message types (RFC 4120 section 5.10) and application tags.
const (
	msgTypeASRep   = 11
	msgTypeTicket  = 1
	msgTypeEncAS   = 25
	msgTypeEncTGS  = 26
	msgTypeKRBErr  = 30
	pvno           = 5
	tktVNO         = 5
	msgTypeTGSRep  = 13
	msgTypeASReq   = 10
	msgTypeTGSReq  = 12
	msgTypeKRBCred = 22
)

// EncryptedData is RFC 4120's EncryptedData.
//
//	EncryptedData ::= SEQUENCE {
//	    etype  [0] Int32,
//	    kvno   [1] UInt32 OPTIONAL,
//	    cipher [2] OCTET STRING
//	}
type EncryptedData struct {
	// EType is the encryption type: 18 for aes256-cts-hmac-sha1-96.
	EType int32
	// KVNO is the key version number; nil when absent.
	KVNO *uint32
	// Cipher is the ciphertext.
	Cipher []byte
}

func (d *decoder) readEncryptedData(n byte, what string) (EncryptedData, error) {
	c, err := d.explicit(n, tagSequence, what)
	if err != nil {
		return EncryptedData{}, err
	}
	return decodeEncryptedData(c, what)
}

func decodeEncryptedData(content []byte, what string) (EncryptedData, error) {
	d := decoder{content}
	var e EncryptedData
	var err error
	if e.EType, err = d.readInt32(0, what+": etype [0]"); err != nil {
		return e, err
	}
	if d.peek(ctx(1)) {
		v, err := d.readUInt32(1, what+": kvno [1]")
		if err != nil {
			return e, err
		}
		e.KVNO = &v
	}
	if e.Cipher, err = d.readOctets(2, what+": cipher [2]"); err != nil {
		return e, err
	}
	return e, d.end(what)
}

func (e EncryptedData) element() []byte {
	parts := [][]byte{explicitField(0, intElement(int64(e.EType)))}
	if e.KVNO != nil {
		parts = append(parts, explicitField(1, intElement(int64(*e.KVNO))))
	}
	parts = append(parts, explicitField(2, octetsElement(e.Cipher)))
	return tlv(tagSequence, parts...)
}

// Ticket is RFC 4120's Ticket, as far as a client may read it: who it is
// for. The enc-part is the service's, opaque to the client.
//
//	Ticket ::= [APPLICATION 1] SEQUENCE {
//	    tkt-vno  [0] INTEGER (5),
//	    realm    [1] Realm,
//	    sname    [2] PrincipalName,
//	    enc-part [3] EncryptedData
//	}
type Ticket struct {
	// Realm is the server's realm.
	Realm string
	// SName is the server: krbtgt/KERBEROS.MICROSOFTONLINE.COM for Entra's
	// cloud TGT.
	SName PrincipalName
	// EncPart is the part encrypted for the server.
	EncPart EncryptedData
}

// Server returns the server principal in MIT's string form,
// "krbtgt/KERBEROS.MICROSOFTONLINE.COM@KERBEROS.MICROSOFTONLINE.COM".
func (t *Ticket) Server() string { return FormatPrincipal(t.SName, t.Realm) }

// ParseTicket decodes a DER Ticket, which must fill b exactly.
func ParseTicket(b []byte) (*Ticket, error) {
	t, err := parseTicket(b)
	if err != nil {
		return nil, fmt.Errorf("kerbmsg: Ticket: %w", err)
	}
	return t, nil
}

func parseTicket(b []byte) (*Ticket, error) {
	if len(b) > maxMessageLen {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(b), maxMessageLen)
	}
	d := decoder{b}
	c, err := d.next(app(msgTypeTicket), "Ticket [APPLICATION 1]")
	if err != nil {
		return nil, err
	}
	if err := d.end("after the Ticket"); err != nil {
		return nil, err
	}
	seq := decoder{c}
	body, err := seq.next(tagSequence, "Ticket SEQUENCE")
	if err != nil {
		return nil, err
	}
	if err := seq.end("after the Ticket SEQUENCE"); err != nil {
		return nil, err
	}
	fd := decoder{body}
	v, err := fd.readInt32(0, "tkt-vno [0]")
	if err != nil {
		return nil, err
	}
	if v != tktVNO {
		return nil, fmt.Errorf("tkt-vno is %d, want 5", v)
	}
	t := new(Ticket)
	if t.Realm, err = fd.readRealm(1, "realm [1]"); err != nil {
		return nil, err
	}
	if t.SName, err = fd.readPrincipalName(2, "sname [2]"); err != nil {
		return nil, err
	}
	if t.EncPart, err = fd.readEncryptedData(3, "enc-part [3]"); err != nil {
		return nil, err
	}
	if err := fd.end("Ticket"); err != nil {
		return nil, err
	}
	return t, nil
}

// Marshal returns the DER encoding of t.
func (t *Ticket) Marshal() ([]byte, error) {
	if err := checkRealm(t.Realm, "realm"); err != nil {
		return nil, fmt.Errorf("kerbmsg: Ticket: %w", err)
	}
	if err := t.SName.check("sname"); err != nil {
		return nil, fmt.Errorf("kerbmsg: Ticket: %w", err)
	}
	b, err := checkSize(tlv(app(msgTypeTicket), tlv(tagSequence,
		explicitField(0, intElement(tktVNO)),
		explicitField(1, stringElement(t.Realm)),
		explicitField(2, t.SName.element()),
		explicitField(3, t.EncPart.element()),
	)))
	if err != nil {
		return nil, fmt.Errorf("kerbmsg: Ticket: %w", err)
	}
	return b, nil
}

// ASRep is RFC 4120's AS-REP, the reply Entra carries in tgt_cloud's
// messageBuffer.
//
//	AS-REP  ::= [APPLICATION 11] KDC-REP
//	KDC-REP ::= SEQUENCE {
//	    pvno     [0] INTEGER (5),
//	    msg-type [1] INTEGER (11),
//	    padata   [2] SEQUENCE OF PA-DATA OPTIONAL,
//	    crealm   [3] Realm,
//	    cname    [4] PrincipalName,
//	    ticket   [5] Ticket,
//	    enc-part [6] EncryptedData -- EncASRepPart
//	}
type ASRep struct {
	// PAData is the DER of the padata SEQUENCE OF PA-DATA, kept as it
	// came; nil when absent. [ParsePAData] decodes it.
	PAData []byte
	// CRealm is the client's realm.
	CRealm string
	// CName is the client's name, as the KDC canonicalized it.
	CName PrincipalName
	// Ticket is the DER of the Ticket, exactly as the KDC sent it: it goes
	// into the credential cache byte for byte. [ParseTicket] decodes it.
	Ticket []byte
	// EncPart is the EncASRepPart encrypted in the client's key (key usage
	// 3); for Entra, in tgt_cloud's clientKey.
	EncPart EncryptedData
}

// Client returns the client principal in MIT's string form, such as
// "user\@contoso.com@KERBEROS.MICROSOFTONLINE.COM".
func (r *ASRep) Client() string { return FormatPrincipal(r.CName, r.CRealm) }

// ParseASRep decodes a DER AS-REP, which must fill b exactly. Only DER is
// accepted (definite minimal lengths, fields in order, no unknown fields),
// so [ASRep.Marshal] of the result gives b back. The Ticket and padata are
// checked to be well formed too. A KRB-ERROR is reported as such.
func ParseASRep(b []byte) (*ASRep, error) {
	r, err := parseASRep(b)
	if err != nil {
		return nil, fmt.Errorf("kerbmsg: AS-REP: %w", err)
	}
	return r, nil
}

func parseASRep(b []byte) (*ASRep, error) {
	if len(b) > maxMessageLen {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(b), maxMessageLen)
	}
	if len(b) > 0 && b[0] != app(msgTypeASRep) {
		if name, ok := messageNames[b[0]]; ok {
			return nil, fmt.Errorf("the message is a %s, not an AS-REP", name)
		}
	}
	d := decoder{b}
	c, err := d.next(app(msgTypeASRep), "AS-REP [APPLICATION 11]")
	if err != nil {
		return nil, err
	}
	if err := d.end("after the AS-REP"); err != nil {
		return nil, err
	}
	seq := decoder{c}
	body, err := seq.next(tagSequence, "KDC-REP SEQUENCE")
	if err != nil {
		return nil, err
	}
	if err := seq.end("after the KDC-REP SEQUENCE"); err != nil {
		return nil, err
	}
	fd := decoder{body}
	v, err := fd.readInt32(0, "pvno [0]")
	if err != nil {
		return nil, err
	}
	if v != pvno {
		return nil, fmt.Errorf("pvno is %d, want 5", v)
	}
	mt, err := fd.readInt32(1, "msg-type [1]")
	if err != nil {
		return nil, err
	}
	if mt != msgTypeASRep {
		return nil, fmt.Errorf("msg-type is %d, want 11 (AS-REP)", mt)
	}
	r := new(ASRep)
	if fd.peek(ctx(2)) {
		whole, _, err := fd.explicitRaw(2, tagSequence, "padata [2]")
		if err != nil {
			return nil, err
		}
		if _, err := parsePAData(whole); err != nil {
			return nil, fmt.Errorf("padata [2]: %w", err)
		}
		r.PAData = append([]byte{}, whole...)
	}
	if r.CRealm, err = fd.readRealm(3, "crealm [3]"); err != nil {
		return nil, err
	}
	if r.CName, err = fd.readPrincipalName(4, "cname [4]"); err != nil {
		return nil, err
	}
	tkt, _, err := fd.explicitRaw(5, app(msgTypeTicket), "ticket [5]")
	if err != nil {
		return nil, err
	}
	if _, err := parseTicket(tkt); err != nil {
		return nil, fmt.Errorf("ticket [5]: %w", err)
	}
	r.Ticket = append([]byte{}, tkt...)
	if r.EncPart, err = fd.readEncryptedData(6, "enc-part [6]"); err != nil {
		return nil, err
	}
	if err := fd.end("KDC-REP"); err != nil {
		return nil, err
	}
	return r, nil
}

// Marshal returns the DER encoding of r. The Ticket and PAData are written
// as they are, after a check that they are well formed.
func (r *ASRep) Marshal() ([]byte, error) {
	b, err := r.marshal()
	if err != nil {
		return nil, fmt.Errorf("kerbmsg: marshal AS-REP: %w", err)
	}
	return b, nil
}

func (r *ASRep) marshal() ([]byte, error) {
	if err := checkRealm(r.CRealm, "crealm"); err != nil {
		return nil, err
	}
	if err := r.CName.check("cname"); err != nil {
		return nil, err
	}
	if len(r.Ticket) == 0 {
		return nil, errors.New("no ticket")
	}
	if _, err := parseTicket(r.Ticket); err != nil {
		return nil, fmt.Errorf("ticket: %w", err)
	}
	parts := [][]byte{
		explicitField(0, intElement(pvno)),
		explicitField(1, intElement(msgTypeASRep)),
	}
	if r.PAData != nil {
		if _, err := parsePAData(r.PAData); err != nil {
			return nil, fmt.Errorf("padata: %w", err)
		}
		parts = append(parts, explicitField(2, r.PAData))
	}
	parts = append(parts,
		explicitField(3, stringElement(r.CRealm)),
		explicitField(4, r.CName.element()),
		explicitField(5, r.Ticket),
		explicitField(6, r.EncPart.element()),
	)
	return checkSize(tlv(app(msgTypeASRep), tlv(tagSequence, parts...)))
}

// messageNames names the Kerberos messages a caller may hand ParseASRep by
// mistake.
var messageNames = map[byte]string{
	app(msgTypeASReq):   "AS-REQ",
	app(msgTypeTGSReq):  "TGS-REQ",
	app(msgTypeTGSRep):  "TGS-REP",
	app(msgTypeKRBErr):  "KRB-ERROR",
	app(msgTypeKRBCred): "KRB-CRED",
	app(msgTypeTicket):  "Ticket",
	app(msgTypeEncAS):   "EncASRepPart (already decrypted?)",
}

// PAData is one RFC 4120 PA-DATA.
//
//	PA-DATA ::= SEQUENCE {
//	    padata-type  [1] Int32,
//	    padata-value [2] OCTET STRING
//	}
type PAData struct {
	Type  int32
	Value []byte
}

// ParsePAData decodes the DER of a SEQUENCE OF PA-DATA, as [ASRep.PAData]
// and [EncASRepPart.EncryptedPAData] hold it.
func ParsePAData(b []byte) ([]PAData, error) {
	p, err := parsePAData(b)
	if err != nil {
		return nil, fmt.Errorf("kerbmsg: PA-DATA: %w", err)
	}
	return p, nil
}

func parsePAData(b []byte) ([]PAData, error) {
	if len(b) > maxMessageLen {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(b), maxMessageLen)
	}
	d := decoder{b}
	c, err := d.next(tagSequence, "SEQUENCE OF PA-DATA")
	if err != nil {
		return nil, err
	}
	if err := d.end("after the SEQUENCE OF PA-DATA"); err != nil {
		return nil, err
	}
	sd := decoder{c}
	list := []PAData{}
	for !sd.empty() {
		if len(list) == maxSeqItems {
			return nil, fmt.Errorf("more than %d PA-DATA", maxSeqItems)
		}
		item, err := sd.next(tagSequence, "PA-DATA")
		if err != nil {
			return nil, err
		}
		id := decoder{item}
		var p PAData
		if p.Type, err = id.readInt32(1, "padata-type [1]"); err != nil {
			return nil, err
		}
		if p.Value, err = id.readOctets(2, "padata-value [2]"); err != nil {
			return nil, err
		}
		if err := id.end("PA-DATA"); err != nil {
			return nil, err
		}
		list = append(list, p)
	}
	return list, nil
}

// MarshalPAData returns the DER of a SEQUENCE OF PA-DATA. Callers that
// need the size bounded get it checked by ASRep.Marshal.
func MarshalPAData(list []PAData) []byte {
	items := make([][]byte, len(list))
	for i, p := range list {
		items[i] = tlv(tagSequence,
			explicitField(1, intElement(int64(p.Type))),
			explicitField(2, octetsElement(p.Value)),
		)
	}
	return tlv(tagSequence, items...)
}
