package kerbmsg

import (
	"errors"
	"fmt"
	"strings"
)

// Name types (RFC 4120 section 6.2, RFC 6806 section 5).
const (
	NameTypeUnknown    int32 = 0  // NT-UNKNOWN
	NameTypePrincipal  int32 = 1  // NT-PRINCIPAL: users
	NameTypeSrvInst    int32 = 2  // NT-SRV-INST: krbtgt/REALM
	NameTypeSrvHst     int32 = 3  // NT-SRV-HST: cifs/host
	NameTypeEnterprise int32 = 10 // NT-ENTERPRISE: one component, user@domain
)

// PrincipalName is RFC 4120's PrincipalName: a name type and the name's
// components.
//
//	PrincipalName ::= SEQUENCE {
//	    name-type   [0] Int32,
//	    name-string [1] SEQUENCE OF KerberosString
//	}
type PrincipalName struct {
	NameType   int32
	NameString []string
}

// Equal reports whether p and q have the same components. The name type is
// not compared, as MIT's krb5_principal_compare does not: a KDC may answer
// an NT-SRV-INST request with NT-PRINCIPAL.
func (p PrincipalName) Equal(q PrincipalName) bool {
	if len(p.NameString) != len(q.NameString) {
		return false
	}
	for i := range p.NameString {
		if p.NameString[i] != q.NameString[i] {
			return false
		}
	}
	return true
}

// String returns the name in MIT's string form without a realm: the
// components joined by '/', each with '/', '@' and '\' escaped by a
// backslash, and NUL, tab, newline and backspace written \0, \t, \n, \b
// (as krb5_unparse_name does).
func (p PrincipalName) String() string {
	var b strings.Builder
	for i, c := range p.NameString {
		if i > 0 {
			b.WriteByte('/')
		}
		quote(&b, c)
	}
	return b.String()
}

// FormatPrincipal returns MIT's string form of name@realm, as klist prints
// it and credential caches name it: the NT-ENTERPRISE name
// "user@contoso.com" in realm KERBEROS.MICROSOFTONLINE.COM is
// "user\@contoso.com@KERBEROS.MICROSOFTONLINE.COM".
func FormatPrincipal(name PrincipalName, realm string) string {
	var b strings.Builder
	b.WriteString(name.String())
	b.WriteByte('@')
	quote(&b, realm)
	return b.String()
}

func quote(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/', '@', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\b':
			b.WriteString(`\b`)
		default:
			b.WriteByte(c)
		}
	}
}

// ParsePrincipal parses MIT's string form: components separated by
// unescaped '/', then, after the first unescaped '@', the realm ("" if
// there is none). A backslash escapes the next character; \0, \t, \n and
// \b stand for NUL, tab, newline and backspace. The name type is the
// caller's to say, as the string form does not carry it: for an
// enterprise name, ParsePrincipal(`user\@contoso.com@REALM`,
// NameTypeEnterprise) gives the single component "user@contoso.com".
//
// Empty components, a trailing backslash and a second unescaped '@' are
// errors.
func ParsePrincipal(s string, nameType int32) (PrincipalName, string, error) {
	name, realm, err := parsePrincipal(s)
	if err != nil {
		return PrincipalName{}, "", fmt.Errorf("kerbmsg: principal name: %w", err)
	}
	name.NameType = nameType
	return name, realm, nil
}

func parsePrincipal(s string) (PrincipalName, string, error) {
	if len(s) > maxComponents*maxStringLen {
		return PrincipalName{}, "", errors.New("too long")
	}
	var (
		comps   []string
		cur     strings.Builder
		inRealm bool
		realm   string
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i == len(s) {
				return PrincipalName{}, "", errors.New("ends in a lone backslash")
			}
			switch e := s[i]; e {
			case '0':
				cur.WriteByte(0)
			case 't':
				cur.WriteByte('\t')
			case 'n':
				cur.WriteByte('\n')
			case 'b':
				cur.WriteByte('\b')
			default:
				cur.WriteByte(e)
			}
		case c == '/' && !inRealm:
			if cur.Len() == 0 {
				return PrincipalName{}, "", fmt.Errorf("empty component at offset %d", i)
			}
			comps = append(comps, cur.String())
			cur.Reset()
			if len(comps) >= maxComponents {
				return PrincipalName{}, "", fmt.Errorf("more than %d components", maxComponents)
			}
		case c == '@':
			if inRealm {
				return PrincipalName{}, "", fmt.Errorf("unescaped '@' in the realm at offset %d", i)
			}
			if cur.Len() == 0 {
				return PrincipalName{}, "", fmt.Errorf("empty component at offset %d", i)
			}
			comps = append(comps, cur.String())
			cur.Reset()
			inRealm = true
		default:
			cur.WriteByte(c)
		}
	}
	if inRealm {
		realm = cur.String()
		if realm == "" {
			return PrincipalName{}, "", errors.New("empty realm after '@'")
		}
	} else {
		if cur.Len() == 0 {
			return PrincipalName{}, "", errors.New("empty name or empty last component")
		}
		comps = append(comps, cur.String())
	}
	for _, c := range comps {
		if len(c) > maxStringLen {
			return PrincipalName{}, "", fmt.Errorf("component of %d bytes, more than the %d allowed", len(c), maxStringLen)
		}
	}
	if len(realm) > maxStringLen {
		return PrincipalName{}, "", fmt.Errorf("realm of %d bytes, more than the %d allowed", len(realm), maxStringLen)
	}
	return PrincipalName{NameString: comps}, realm, nil
}

// decodePrincipalName reads PrincipalName content (the SEQUENCE's inside).
func decodePrincipalName(content []byte, what string) (PrincipalName, error) {
	d := decoder{content}
	var p PrincipalName
	var err error
	if p.NameType, err = d.readInt32(0, what+": name-type [0]"); err != nil {
		return p, err
	}
	seq, err := d.explicit(1, tagSequence, what+": name-string [1]")
	if err != nil {
		return p, err
	}
	if err := d.end(what); err != nil {
		return p, err
	}
	sd := decoder{seq}
	for !sd.empty() {
		if len(p.NameString) == maxComponents {
			return p, fmt.Errorf("%s: more than %d components", what, maxComponents)
		}
		c, err := sd.next(tagGeneralString, what+": name-string component")
		if err != nil {
			return p, err
		}
		if len(c) > maxStringLen {
			return p, fmt.Errorf("%s: component of %d bytes, more than the %d allowed", what, len(c), maxStringLen)
		}
		p.NameString = append(p.NameString, string(c))
	}
	if len(p.NameString) == 0 {
		return p, fmt.Errorf("%s: no components", what)
	}
	return p, nil
}

// readPrincipalName reads an EXPLICIT [n] PrincipalName.
func (d *decoder) readPrincipalName(n byte, what string) (PrincipalName, error) {
	c, err := d.explicit(n, tagSequence, what)
	if err != nil {
		return PrincipalName{}, err
	}
	return decodePrincipalName(c, what)
}

func (p PrincipalName) check(what string) error {
	if len(p.NameString) == 0 {
		return fmt.Errorf("%s: no components", what)
	}
	if len(p.NameString) > maxComponents {
		return fmt.Errorf("%s: more than %d components", what, maxComponents)
	}
	for _, c := range p.NameString {
		if err := checkString(c, what); err != nil {
			return err
		}
	}
	return nil
}

func (p PrincipalName) element() []byte {
	comps := make([][]byte, len(p.NameString))
	for i, c := range p.NameString {
		comps[i] = stringElement(c)
	}
	return tlv(tagSequence,
		explicitField(0, intElement(int64(p.NameType))),
		explicitField(1, tlv(tagSequence, comps...)),
	)
}
