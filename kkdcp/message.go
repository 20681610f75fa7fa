package kkdcp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/smbkrb/smbkrb/internal/der"
)

// MS-KKDCP section 2.2.2:
//
//	KDC-PROXY-MESSAGE ::= SEQUENCE {
//	    kerb-message   [0] OCTET STRING,
//	    target-domain  [1] KERB-REALM OPTIONAL,
//	    dclocator-hint [2] INTEGER OPTIONAL
//	}
//
// kerb-message holds the Kerberos message with the 4-byte big-endian length
// prefix of RFC 4120 section 7.2.2; KERB-REALM is a KerberosString, a
// GeneralString restricted to IA5 characters (RFC 4120 section 5.2.1).
const (
	tagSequence      = 0x30
	tagKerbMessage   = 0xa0 // [0] EXPLICIT, constructed
	tagTargetDomain  = 0xa1 // [1] EXPLICIT, constructed
	tagDCLocatorHint = 0xa2 // [2] EXPLICIT, constructed
	tagOctetString   = 0x04
	tagGeneralString = 0x1b
	tagInteger       = 0x02
)

const (
	// maxEncodedLen bounds an encoded KDC-PROXY-MESSAGE. Kerberos messages
	// are a few KiB (tens with a large PAC); 16 MiB is far above any of them.
	maxEncodedLen = 16 << 20
	// maxRealmLen bounds target-domain. Realms are DNS-like names.
	maxRealmLen = 1024
	// prefixLen is the size of the RFC 4120 section 7.2.2 length prefix.
	prefixLen = 4
)

// Message is one KDC-PROXY-MESSAGE (MS-KKDCP section 2.2.2).
//
// A request from a client carries the realm in TargetDomain; a reply from a
// proxy normally carries only KerbMessage.
type Message struct {
	// KerbMessage is the Kerberos message (for example an AS-REQ, a TGS-REP
	// or a KRB-ERROR) as DER, without the 4-byte length prefix that
	// kerb-message carries on the wire: Marshal adds it, Unmarshal checks
	// and strips it. It must not be empty.
	KerbMessage []byte

	// TargetDomain is the realm the message is for. "" means absent.
	// It must hold IA5 (7-bit) characters only.
	TargetDomain string

	// DCLocatorHint is the optional dclocator-hint: the flags a Windows
	// client passed to DsrGetDcNameEx2 ([MS-NRPC] section 3.5.4.3.1).
	// nil means absent. The flags are a 32-bit unsigned value; int64 holds
	// them however a peer encoded them (0x80000000 as an unsigned value, or
	// the same bits as a negative 32-bit number), so that Unmarshal followed
	// by Marshal gives back the same bytes.
	DCLocatorHint *int64
}

// Marshal returns the DER encoding of m, with the length prefix added inside
// kerb-message.
func (m *Message) Marshal() ([]byte, error) {
	if m == nil {
		return nil, errors.New("kkdcp: marshal KDC-PROXY-MESSAGE: nil message")
	}
	if len(m.KerbMessage) == 0 {
		return nil, errors.New("kkdcp: marshal KDC-PROXY-MESSAGE: empty Kerberos message")
	}
	if len(m.KerbMessage) > maxEncodedLen {
		return nil, fmt.Errorf("kkdcp: marshal KDC-PROXY-MESSAGE: Kerberos message of %d bytes is larger than the %d allowed", len(m.KerbMessage), maxEncodedLen)
	}
	if err := checkRealm(m.TargetDomain); err != nil {
		return nil, fmt.Errorf("kkdcp: marshal KDC-PROXY-MESSAGE: %w", err)
	}

	octets := make([]byte, prefixLen, prefixLen+len(m.KerbMessage))
	binary.BigEndian.PutUint32(octets, uint32(len(m.KerbMessage)))
	octets = append(octets, m.KerbMessage...)

	body := appendTLV(nil, tagKerbMessage, appendTLV(nil, tagOctetString, octets))
	if m.TargetDomain != "" {
		body = appendTLV(body, tagTargetDomain, appendTLV(nil, tagGeneralString, []byte(m.TargetDomain)))
	}
	if m.DCLocatorHint != nil {
		body = appendTLV(body, tagDCLocatorHint, appendTLV(nil, tagInteger, der.AppendInt(nil, *m.DCLocatorHint)))
	}
	out := appendTLV(nil, tagSequence, body)
	if len(out) > maxEncodedLen {
		// Unmarshal would refuse it; refuse it here too.
		return nil, fmt.Errorf("kkdcp: marshal KDC-PROXY-MESSAGE: encoding of %d bytes is larger than the %d allowed", len(out), maxEncodedLen)
	}
	return out, nil
}

// Unmarshal decodes one KDC-PROXY-MESSAGE from b, which must hold exactly one
// DER encoding and nothing after it. It accepts only DER: definite, minimal
// lengths, primitive OCTET STRING and GeneralString, minimal INTEGER, fields
// in order. The length prefix inside kerb-message must equal the number of
// bytes that follow it, and the Kerberos message must not be empty. Inputs of
// more than 16 MiB are refused. The returned message does not share memory
// with b.
//
// Because only DER is accepted, Marshal of a decoded message returns b again.
func Unmarshal(b []byte) (*Message, error) {
	m, err := unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("kkdcp: malformed KDC-PROXY-MESSAGE: %w", err)
	}
	return m, nil
}

func unmarshal(b []byte) (*Message, error) {
	if len(b) > maxEncodedLen {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(b), maxEncodedLen)
	}
	seq, rest, err := readTLV(b, tagSequence, "KDC-PROXY-MESSAGE")
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after the SEQUENCE", len(rest))
	}

	m := new(Message)

	// kerb-message [0] OCTET STRING
	field, seq, err := readTLV(seq, tagKerbMessage, "kerb-message [0]")
	if err != nil {
		return nil, err
	}
	octets, err := readExplicit(field, tagOctetString, "kerb-message OCTET STRING")
	if err != nil {
		return nil, err
	}
	if len(octets) < prefixLen {
		return nil, fmt.Errorf("kerb-message of %d bytes is too short for its 4-byte length prefix", len(octets))
	}
	n := binary.BigEndian.Uint32(octets)
	inner := octets[prefixLen:]
	if uint64(n) != uint64(len(inner)) {
		return nil, fmt.Errorf("kerb-message length prefix says %d bytes, %d follow", n, len(inner))
	}
	if len(inner) == 0 {
		return nil, errors.New("kerb-message is empty")
	}
	m.KerbMessage = append([]byte(nil), inner...)

	// target-domain [1] KerberosString OPTIONAL
	if len(seq) > 0 && seq[0] == tagTargetDomain {
		field, seq, err = readTLV(seq, tagTargetDomain, "target-domain [1]")
		if err != nil {
			return nil, err
		}
		realm, err := readExplicit(field, tagGeneralString, "target-domain GeneralString")
		if err != nil {
			return nil, err
		}
		if len(realm) == 0 {
			return nil, errors.New("target-domain is present but empty")
		}
		if err := checkRealm(string(realm)); err != nil {
			return nil, err
		}
		m.TargetDomain = string(realm)
	}

	// dclocator-hint [2] INTEGER OPTIONAL
	if len(seq) > 0 && seq[0] == tagDCLocatorHint {
		field, seq, err = readTLV(seq, tagDCLocatorHint, "dclocator-hint [2]")
		if err != nil {
			return nil, err
		}
		content, err := readExplicit(field, tagInteger, "dclocator-hint INTEGER")
		if err != nil {
			return nil, err
		}
		v, err := der.ParseInt(content)
		if err != nil {
			return nil, fmt.Errorf("dclocator-hint: %w", err)
		}
		m.DCLocatorHint = &v
	}

	if len(seq) != 0 {
		return nil, fmt.Errorf("unexpected tag 0x%02x or trailing bytes inside the SEQUENCE", seq[0])
	}
	return m, nil
}

// checkRealm accepts "" (absent) and names of IA5 characters up to maxRealmLen.
func checkRealm(realm string) error {
	if len(realm) > maxRealmLen {
		return fmt.Errorf("target-domain of %d bytes is longer than the %d allowed", len(realm), maxRealmLen)
	}
	for i := 0; i < len(realm); i++ {
		if realm[i] >= 0x80 {
			return fmt.Errorf("target-domain has byte 0x%02x at offset %d, not an IA5 character", realm[i], i)
		}
	}
	return nil
}

// readExplicit reads the single element of tag want that fills an explicit
// context-specific field, and nothing else.
func readExplicit(field []byte, want byte, what string) ([]byte, error) {
	content, rest, err := readTLV(field, want, what)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after %s", len(rest), what)
	}
	return content, nil
}

// readTLV reads one DER element of tag want from the front of b and returns
// its content and the bytes after it. Only single-byte identifiers occur in a
// KDC-PROXY-MESSAGE, so any other identifier is a wrong tag.
func readTLV(b []byte, want byte, what string) (content, rest []byte, err error) {
	_, content, rest, err = der.Read(b, want, 4, what)
	return content, rest, err
}

// appendTLV appends a DER element with the given single-byte tag.
func appendTLV(dst []byte, tag byte, content []byte) []byte { return der.Append(dst, tag, content) }
