package smb

import (
	"errors"
	"sync"

	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb/internal/smb2"
)

// gssInitiator is the engine's Authenticator over an MIT GSS-API context
// on the raw Kerberos mechanism (the engine wraps it in SPNEGO).
type gssInitiator struct {
	sc *krb5.SecContext

	mu  sync.Mutex
	err error // first failure of the GSS exchange, for the dial's error
}

func newGSSInitiator(sc *krb5.SecContext) *gssInitiator { return &gssInitiator{sc: sc} }

// Start returns the AP-REQ.
func (g *gssInitiator) Start() ([]byte, error) {
	out, err := g.sc.Step(nil)
	return out, g.record(err)
}

// Finish consumes the server's AP-REP, which must complete the context
// with mutual authentication and leave no token to send.
func (g *gssInitiator) Finish(token []byte) error {
	if len(token) == 0 {
		return g.record(errors.New("the server sent no AP-REP: mutual authentication is required"))
	}
	out, err := g.sc.Step(token)
	if err != nil {
		return g.record(err)
	}
	if !g.sc.Established() || len(out) > 0 {
		return g.record(errors.New("the server's AP-REP did not complete mutual authentication"))
	}
	return nil
}

// GetMIC is gss_get_mic (the client's mechListMIC).
func (g *gssInitiator) GetMIC(b []byte) ([]byte, error) {
	mic, err := g.sc.GetMIC(b)
	return mic, g.record(err)
}

// VerifyMIC is gss_verify_mic (the server's mechListMIC).
func (g *gssInitiator) VerifyMIC(b, mic []byte) error {
	return g.record(g.sc.VerifyMIC(b, mic))
}

// SessionKey is the GSS session key: the acceptor subkey, 32 bytes for
// AES-256. The engine zeroes it after deriving the SMB keys (MS-SMB2
// 3.2.5.3: the first 16 bytes for signing and AES-128, all 32 for
// AES-256).
func (g *gssInitiator) SessionKey() ([]byte, error) {
	key, err := g.sc.SessionKey()
	if err != nil {
		return nil, g.record(err)
	}
	return key.Key, nil
}

// record keeps the first error for failure().
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

// failure is the first error of the GSS exchange.
func (g *gssInitiator) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// close deletes the GSS context (MIT zeroes its keys).
func (g *gssInitiator) close() error { return g.sc.Close() }

// The engine's session setup takes it as its Authenticator.
var _ smb2.Authenticator = (*gssInitiator)(nil)
