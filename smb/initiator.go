package smb

import (
	"encoding/asn1"
	"errors"
	"sync"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/smbkrb/smbkrb/krb5"
)

// gssInitiator is the SMB engine's session-setup initiator over an MIT
// GSS-API context on the raw Kerberos mechanism (the engine wraps SPNEGO).
//
// MS-SMB2 3.2.5.3: the SMB session key is the first 16 bytes of the GSS
// session key (the acceptor subkey), zero-padded when shorter. The full
// key is kept for AES-256 ciphers.
type gssInitiator struct {
	sc *krb5.SecContext

	mu      sync.Mutex
	fullKey krb5.SessionKey
	err     error // first failure the engine's interface cannot return
}

func newGSSInitiator(sc *krb5.SecContext) *gssInitiator { return &gssInitiator{sc: sc} }

// OID is the Kerberos V5 mechanism, 1.2.840.113554.1.2.2.
func (g *gssInitiator) OID() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier(krb5.MechKerberos)
}

// InitSecContext returns the AP-REQ.
func (g *gssInitiator) InitSecContext() ([]byte, error) {
	out, err := g.sc.Step(nil)
	return out, g.record(err)
}

// AcceptSecContext consumes the server's AP-REP, which must complete the
// context with mutual authentication and leave no token to send.
func (g *gssInitiator) AcceptSecContext(token []byte) ([]byte, error) {
	if len(token) == 0 {
		return nil, g.record(errors.New("the server sent no AP-REP: mutual authentication is required"))
	}
	out, err := g.sc.Step(token)
	if err != nil {
		return nil, g.record(err)
	}
	if !g.sc.Established() {
		return nil, g.record(errors.New("the server's AP-REP did not complete mutual authentication"))
	}
	key, err := g.sc.SessionKey()
	if err != nil {
		return nil, g.record(err)
	}
	g.mu.Lock()
	g.fullKey.Zero()
	g.fullKey = key
	g.mu.Unlock()
	return out, nil
}

// Sum is gss_get_mic (the SPNEGO mechListMIC). The engine's interface has
// no error: a failure is kept for failure() and yields an empty MIC, which
// the server rejects.
func (g *gssInitiator) Sum(b []byte) []byte {
	mic, err := g.sc.GetMIC(b)
	if err != nil {
		g.record(err)
		return nil
	}
	return mic
}

// record keeps the first error for failure(): the engine passes errors on
// as text only.
func (g *gssInitiator) record(err error) error {
	if err != nil {
		g.mu.Lock()
		if g.err == nil {
			g.err = err
		}
		g.mu.Unlock()
	}
	return err
}

// SessionKey is the 16-byte SMB session key.
func (g *gssInitiator) SessionKey() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return smbSessionKey(g.fullKey.Key)
}

// failure is the first error of the GSS exchange.
func (g *gssInitiator) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// close zeroes the keys and deletes the GSS context.
func (g *gssInitiator) close() error {
	g.mu.Lock()
	g.fullKey.Zero()
	g.mu.Unlock()
	return g.sc.Close()
}

// smbSessionKey is the first 16 bytes of key, zero-padded (MS-SMB2 3.2.5.3).
func smbSessionKey(key []byte) []byte {
	k := make([]byte, 16)
	copy(k, key)
	return k
}

// The engine's session setup takes it as its initiator.
var _ smb2.Initiator = (*gssInitiator)(nil)
