package smb2

import (
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/smbkrb/smbkrb/smb/internal/smb3crypto"
	"github.com/smbkrb/smbkrb/smb/internal/spnego"
	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// Authenticator is one Kerberos security context, as MIT's GSS-API
// initiator gives it (package smb adapts krb5.SecContext). A new one is
// used for every session setup and every re-authentication.
type Authenticator interface {
	// Start returns the first token (the AP-REQ, GSS-framed).
	Start() ([]byte, error)
	// Finish consumes the server's token (the AP-REP); the context must
	// then be complete with mutual authentication.
	Finish(token []byte) error
	// GetMIC and VerifyMIC are gss_get_mic and gss_verify_mic.
	GetMIC(msg []byte) ([]byte, error)
	VerifyMIC(msg, mic []byte) error
	// SessionKey is the context's session key (the acceptor subkey): 32
	// bytes for AES-256 Kerberos keys. The engine zeroes its copy.
	SessionKey() ([]byte, error)
}

// Session is an authenticated SMB session on a Conn.
type Session struct {
	c  *Conn
	id atomic.Uint64

	// Flags of the final SESSION_SETUP response.
	Flags uint16
	// EncryptAll: the whole session is encrypted (the server asked with
	// SessionFlagEncryptData, or the configuration requires encryption).
	EncryptAll bool

	keys  smb3crypto.Keys
	sign  smb3crypto.Signer
	seal  smb3crypto.Sealer
	open  smb3crypto.Opener
	mu    sync.Mutex // one session setup at a time
	valid atomic.Bool
}

// mechs is what smbkrb proposes: Kerberos only.
var mechs = []asn1.ObjectIdentifier{spnego.OIDKerberos}

// ID is the server's SessionId.
func (s *Session) ID() uint64 { return s.id.Load() }

// Conn is the session's connection.
func (s *Session) Conn() *Conn { return s.c }

func (s *Session) signer() smb3crypto.Signer { return s.sign }
func (s *Session) sealer() smb3crypto.Sealer { return s.seal }
func (s *Session) opener() smb3crypto.Opener { return s.open }

// SessionSetup authenticates a new session with auth (MS-SMB2 3.2.4.2.3,
// 3.2.5.3): SPNEGO around Kerberos, mutual authentication, the server's
// mechListMIC verified, the keys derived and the final response's
// signature verified with them. Guest and anonymous sessions are refused.
func (c *Conn) SessionSetup(ctx context.Context, auth Authenticator) (*Session, error) {
	s := &Session{c: c}
	if err := s.setup(ctx, auth, false); err != nil {
		s.zero()
		return nil, err
	}
	return s, nil
}

// Reauthenticate authenticates the session again with a new Kerberos
// context (a fresh ticket) on the same SessionId and connection (MS-SMB2
// 3.2.4.2.3.1); open files and trees stay. The keys do not change.
func (s *Session) Reauthenticate(ctx context.Context, auth Authenticator) error {
	return s.setup(ctx, auth, true)
}

// setup runs the SESSION_SETUP exchange.
func (s *Session) setup(ctx context.Context, auth Authenticator, reauth bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	tok, err := auth.Start()
	if err != nil {
		return err
	}
	blob, mechList, err := spnego.InitToken(mechs, tok)
	if err != nil {
		return err
	}
	preauth := c.preauth // the connection's hash after NEGOTIATE
	hash := c.Dialect == wire.Dialect311 && !reauth
	opts := sendOpts{}
	if reauth {
		// Re-authentication runs on the established session: signed (or
		// sealed) with its keys, and so are the answers.
		opts = sendOpts{sess: s, sign: !s.EncryptAll, seal: s.EncryptAll}
	} else {
		opts.sess = s
	}
	if hash {
		opts.preauth = func(m []byte) { preauth.Update(m) }
	}
	var final *wire.SessionSetupResponse
	var finalMsg []byte
	for leg := 0; ; leg++ {
		if leg > 4 {
			return errors.New("session setup: the server asked for too many rounds")
		}
		req := &wire.SessionSetupRequest{
			SecurityMode:   wire.NegotiateSigningEnabled | wire.NegotiateSigningRequired,
			SecurityBuffer: blob,
		}
		calls, err := c.roundTrip(ctx, opts, outMsg{cmd: wire.CmdSessionSetup, body: req.Append, size: len(blob) + 64})
		if err != nil {
			return err
		}
		cl := calls[0]
		if !reauth && s.id.Load() == 0 {
			s.id.Store(cl.hdr.SessionID)
		}
		if cl.hdr.SessionID != s.id.Load() {
			cl.release()
			return policyError("the server changed the SessionId during session setup")
		}
		switch cl.status {
		case StatusSuccess:
			r, err := wire.ParseSessionSetupResponse(cl.resp)
			if err != nil {
				cl.release()
				return fmt.Errorf("%w: session setup response: %v", ErrPolicy, err)
			}
			final = r
			finalMsg = append([]byte(nil), cl.resp...)
			cl.release()
		case StatusMoreProcessingRequired:
			if hash {
				preauth.Update(cl.resp)
			}
			r, err := wire.ParseSessionSetupResponse(cl.resp)
			if err != nil {
				cl.release()
				return fmt.Errorf("%w: session setup response: %v", ErrPolicy, err)
			}
			resp, err := spnego.ParseResp(r.SecurityBuffer)
			cl.release()
			if err != nil {
				return fmt.Errorf("session setup: the server's SPNEGO answer: %w", err)
			}
			// A second leg: the server needs our mechListMIC (RFC 4178
			// 5), or the mechanism wants another token (Kerberos does
			// not: it completes with the AP-REP).
			if len(resp.ResponseToken) > 0 {
				if err := auth.Finish(resp.ResponseToken); err != nil {
					return err
				}
			}
			if resp.State != spnego.RequestMIC && resp.State != spnego.AcceptIncomplete {
				return fmt.Errorf("session setup: the server's SPNEGO answer has state %d with STATUS_MORE_PROCESSING_REQUIRED", resp.State)
			}
			mic, err := auth.GetMIC(mechList)
			if err != nil {
				return err
			}
			if len(resp.MechListMIC) > 0 {
				if err := auth.VerifyMIC(mechList, resp.MechListMIC); err != nil {
					return fmt.Errorf("%w: the server's mechListMIC does not verify: %v", ErrPolicy, err)
				}
			}
			blob = spnego.RespToken(&spnego.Resp{State: spnego.AcceptIncomplete, MechListMIC: mic})
			continue
		default:
			st := cl.status
			cl.release()
			return &ResponseError{Status: st, Command: wire.CmdSessionSetup}
		}
		break
	}

	// The final answer: SPNEGO accept-completed with the AP-REP.
	resp, err := spnego.ParseResp(final.SecurityBuffer)
	if err != nil {
		return fmt.Errorf("session setup: the server's SPNEGO answer: %w", err)
	}
	hasMIC, err := spnego.CheckFinal(resp, mechs)
	if err != nil {
		return fmt.Errorf("%w: session setup: %v", ErrPolicy, err)
	}
	if len(resp.ResponseToken) > 0 {
		if err := auth.Finish(resp.ResponseToken); err != nil {
			return err
		}
	} else {
		// Without an AP-REP the server was never authenticated.
		if err := auth.Finish(nil); err != nil {
			return err
		}
	}
	if hasMIC {
		if err := auth.VerifyMIC(mechList, resp.MechListMIC); err != nil {
			return fmt.Errorf("%w: the server's mechListMIC does not verify: %v", ErrPolicy, err)
		}
	}
	if final.SessionFlags&(wire.SessionFlagIsGuest|wire.SessionFlagIsNull) != 0 {
		return policyError("the server made a guest or anonymous session")
	}
	if !reauth {
		key, err := auth.SessionKey()
		if err != nil {
			return err
		}
		err = s.deriveKeys(key, preauth[:])
		clear(key)
		if err != nil {
			return err
		}
		s.Flags = final.SessionFlags
		s.EncryptAll = final.SessionFlags&wire.SessionFlagEncryptData != 0 || c.cfg.RequireEncryption
		if s.EncryptAll && s.seal == nil {
			return policyError("the server requires encryption for the session, but no cipher was negotiated")
		}
	}
	// MS-SMB2 3.2.5.3.1: the final response is signed with the session's
	// signing key (unless it came encrypted on a re-authentication).
	if !(reauth && s.EncryptAll) {
		if err := s.verifyFinal(finalMsg); err != nil {
			return err
		}
	}
	if !reauth {
		c.mu.Lock()
		c.sessions[s.id.Load()] = s
		c.mu.Unlock()
		s.valid.Store(true)
	}
	return nil
}

// verifyFinal checks the signature of the final SESSION_SETUP response.
func (s *Session) verifyFinal(msg []byte) error {
	h, err := wire.ParseHeader(msg)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	if h.Flags&wire.FlagSigned == 0 {
		return policyError("the final SESSION_SETUP response is not signed")
	}
	if !s.sign.Verify(msg) {
		return policyError("the final SESSION_SETUP response's signature does not verify with the session's keys")
	}
	return nil
}

// deriveKeys derives the signing and encryption keys (MS-SMB2 3.2.5.3.1).
func (s *Session) deriveKeys(key, preauth []byte) error {
	c := s.c
	keys, err := smb3crypto.DeriveKeys(c.Dialect, key, preauth, c.Cipher)
	if err != nil {
		return err
	}
	s.keys = keys
	if s.sign, err = smb3crypto.NewSigner(c.SigningAlg, keys.Signing); err != nil {
		return err
	}
	if c.Cipher != 0 {
		if s.seal, err = smb3crypto.NewSealer(c.Cipher, keys.Encryption); err != nil {
			return err
		}
		if s.open, err = smb3crypto.NewOpener(c.Cipher, keys.Decryption); err != nil {
			return err
		}
	}
	return nil
}

// zero clears the session's keys.
func (s *Session) zero() {
	s.keys.Zero()
	if s.sign != nil {
		s.sign.Zero()
	}
	if s.seal != nil {
		s.seal.Zero()
	}
	if s.open != nil {
		s.open.Zero()
	}
}

// opts are the send options of a request on the session (and tree t).
func (s *Session) opts(t *Tree) sendOpts {
	seal := s.EncryptAll || (t != nil && t.Encrypt)
	return sendOpts{sess: s, seal: seal, sign: !seal}
}

// one sends one request on the session (and tree t, if not nil) and
// returns its call (to release) after checking that it succeeded.
func (s *Session) one(ctx context.Context, t *Tree, m outMsg) (*call, error) {
	if t != nil {
		m.treeID = t.ID
	}
	calls, err := s.c.roundTrip(ctx, s.opts(t), m)
	if err != nil {
		return nil, err
	}
	cl := calls[0]
	if cl.status != StatusSuccess {
		cl.release()
		return nil, &ResponseError{Status: cl.status, Command: m.cmd}
	}
	return cl, nil
}

// do is one for a request whose response carries nothing needed.
func (s *Session) do(ctx context.Context, t *Tree, m outMsg) error {
	cl, err := s.one(ctx, t, m)
	if err != nil {
		return err
	}
	cl.release()
	return nil
}

// Logoff ends the session (MS-SMB2 3.2.4.6) and zeroes its keys.
func (s *Session) Logoff(ctx context.Context) error {
	defer func() {
		s.c.mu.Lock()
		delete(s.c.sessions, s.id.Load())
		s.c.mu.Unlock()
		s.valid.Store(false)
	}()
	return s.do(ctx, nil, outMsg{cmd: wire.CmdLogoff, body: wire.AppendLogoffRequest})
}

// Echo sends ECHO (a keep-alive that proves the connection and session
// are up).
func (s *Session) Echo(ctx context.Context) error {
	return s.do(ctx, nil, outMsg{cmd: wire.CmdEcho, body: wire.AppendEchoRequest})
}
