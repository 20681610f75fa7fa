package kerbmsg

import (
	"errors"
	"fmt"
	"time"
)

// tagUTF8String: some KDCs put e-text in a UTF8String rather than the
// GeneralString RFC 4120 names; both are read.
const tagUTF8String = 0x0c

// ErrNotKRBError means the message is not a KRB-ERROR (it is a reply of
// another type).
var ErrNotKRBError = errors.New("kerbmsg: not a KRB-ERROR")

// ErrorText returns the e-text of a KRB-ERROR (RFC 4120 5.9.1), "" when it
// has none, as the KDC sent it (the caller cleans it for display). A
// message of another type gives ErrNotKRBError; a malformed KRB-ERROR an
// error naming the field.
//
//	KRB-ERROR ::= [APPLICATION 30] SEQUENCE {
//	    pvno [0], msg-type [1], ctime [2] OPTIONAL, cusec [3] OPTIONAL,
//	    stime [4], susec [5], error-code [6], crealm [7] OPTIONAL,
//	    cname [8] OPTIONAL, realm [9], sname [10],
//	    e-text [11] KerberosString OPTIONAL, e-data [12] OPTIONAL }
func ErrorText(b []byte) (string, error) {
	e, err := ParseError(b)
	if err != nil {
		return "", err
	}
	return e.EText, nil
}

// KRBError is what smbkrb reads of a KRB-ERROR: the KDC's time, the
// error code and its text.
type KRBError struct {
	// STime is the KDC's clock when it answered (stime, with susec);
	// zero if the KDC left it out.
	STime time.Time
	// ErrorCode is the Kerberos error code (RFC 4120 section 7.5.9).
	ErrorCode int32
	// EText is the e-text, "" when absent.
	EText string
}

// ParseError decodes a KRB-ERROR, strictly; it fails with ErrNotKRBError
// when b is not one at all.
func ParseError(b []byte) (*KRBError, error) {
	if len(b) == 0 || b[0] != app(msgTypeKRBErr) {
		return nil, ErrNotKRBError
	}
	e, err := parseError(b)
	if err != nil {
		return nil, fmt.Errorf("kerbmsg: KRB-ERROR: %w", err)
	}
	return e, nil
}

func parseError(b []byte) (*KRBError, error) {
	if len(b) > maxMessageLen {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(b), maxMessageLen)
	}
	d := decoder{b}
	c, err := d.next(app(msgTypeKRBErr), "KRB-ERROR [APPLICATION 30]")
	if err != nil {
		return nil, err
	}
	if err := d.end("after the KRB-ERROR"); err != nil {
		return nil, err
	}
	seq := decoder{c}
	body, err := seq.next(tagSequence, "KRB-ERROR SEQUENCE")
	if err != nil {
		return nil, err
	}
	if err := seq.end("after the KRB-ERROR SEQUENCE"); err != nil {
		return nil, err
	}
	// The fields in order, each present or absent; stime, susec,
	// error-code and e-text are read.
	fd := decoder{body}
	e := &KRBError{}
	var usec int32
	for n := byte(0); n <= 12; n++ {
		if !fd.peek(ctx(n)) {
			continue
		}
		switch n {
		case 4:
			if e.STime, err = fd.readTime(4, "stime [4]"); err != nil {
				return nil, err
			}
		case 5:
			if usec, err = fd.readInt32(5, "susec [5]"); err != nil {
				return nil, err
			}
			if usec < 0 || usec > 999999 {
				return nil, fmt.Errorf("susec [5]: %d is not 0 to 999999", usec)
			}
		case 6:
			if e.ErrorCode, err = fd.readInt32(6, "error-code [6]"); err != nil {
				return nil, err
			}
		case 11:
			field, err := fd.next(ctx(11), "field [11]")
			if err != nil {
				return nil, err
			}
			inner := decoder{field}
			tag := tagGeneralString
			if inner.peek(tagUTF8String) {
				tag = tagUTF8String
			}
			s, err := inner.next(byte(tag), "e-text [11]")
			if err != nil {
				return nil, err
			}
			if err := inner.end("after e-text [11]"); err != nil {
				return nil, err
			}
			if len(s) > maxStringLen {
				return nil, fmt.Errorf("e-text [11]: %d bytes, more than the %d allowed", len(s), maxStringLen)
			}
			e.EText = string(s)
		default:
			if _, err := fd.next(ctx(n), fmt.Sprintf("field [%d]", n)); err != nil {
				return nil, err
			}
		}
	}
	if err := fd.end("after the KRB-ERROR's fields"); err != nil {
		return nil, err
	}
	// stime and error-code are required by RFC 4120, but a KRB-ERROR
	// without them still has a text worth showing: STime stays zero.
	if !e.STime.IsZero() {
		e.STime = e.STime.Add(time.Duration(usec) * time.Microsecond)
	}
	return e, nil
}
