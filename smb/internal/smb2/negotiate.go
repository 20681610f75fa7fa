package smb2

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"

	"github.com/smbkrb/smbkrb/smb/internal/smb3crypto"
	"github.com/smbkrb/smbkrb/smb/internal/spnego"
	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// clientCaps are the capabilities smbkrb announces: large MTU (multi-credit
// requests), encryption (3.0.x; 3.1.1 uses the context), and persistent
// handles, so that Azure Files grants them.
const clientCaps = wire.CapLargeMTU | wire.CapEncryption | wire.CapPersistentHandles | wire.CapLeasing

// negotiate runs NEGOTIATE (MS-SMB2 3.2.4.2.2.2) and checks the answer.
func (c *Conn) negotiate(ctx context.Context) error {
	dialects := c.cfg.dialects()
	for _, d := range dialects {
		if d != wire.Dialect300 && d != wire.Dialect302 && d != wire.Dialect311 {
			return fmt.Errorf("%w: dialect %s is not offered by smbkrb (3.0, 3.0.2 and 3.1.1 only)", ErrPolicy, wire.DialectName(d))
		}
	}
	c.clientGUID = c.cfg.ClientGUID
	if c.clientGUID == ([16]byte{}) {
		if _, err := rand.Read(c.clientGUID[:]); err != nil {
			return err
		}
	}
	req := &wire.NegotiateRequest{
		Dialects:     dialects,
		SecurityMode: wire.NegotiateSigningEnabled | wire.NegotiateSigningRequired,
		Capabilities: clientCaps,
		ClientGUID:   c.clientGUID,
	}
	if slices.Contains(dialects, wire.Dialect311) {
		salt := make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			return err
		}
		req.Contexts = []wire.NegotiateContext{
			wire.PreauthContext(salt),
			wire.EncryptionContext(c.cfg.ciphers()),
			wire.SigningContext(c.cfg.signing()),
		}
		if c.serverName != "" {
			req.Contexts = append(req.Contexts, wire.NetnameContext(c.serverName))
		}
	}
	var reqMsg []byte
	calls, err := c.roundTrip(ctx, sendOpts{preauth: func(m []byte) { reqMsg = append([]byte(nil), m...) }},
		outMsg{cmd: wire.CmdNegotiate, body: req.Append, size: 512})
	if err != nil {
		return err
	}
	cl := calls[0]
	defer cl.release()
	if cl.status != StatusSuccess {
		return fmt.Errorf("negotiate: %w", &ResponseError{Status: cl.status, Command: wire.CmdNegotiate})
	}
	resp, err := wire.ParseNegotiateResponse(cl.resp)
	if err != nil {
		return fmt.Errorf("%w: negotiate response: %v", ErrPolicy, err)
	}
	if !slices.Contains(dialects, resp.Dialect) {
		if resp.Dialect < wire.Dialect300 || resp.Dialect == wire.DialectWildcard {
			return fmt.Errorf("%w: the server speaks only SMB %s; smbkrb requires SMB 3.0 or later (for signing with AES and for encryption)", ErrPolicy, wire.DialectName(resp.Dialect))
		}
		return fmt.Errorf("%w: the server chose dialect %s, which was not offered", ErrPolicy, wire.DialectName(resp.Dialect))
	}
	c.Dialect = resp.Dialect
	c.ServerGUID = resp.ServerGUID
	c.ServerCaps = resp.Capabilities
	c.ServerSecMode = resp.SecurityMode
	c.MaxReadSize, c.MaxWriteSize, c.MaxTransactSize = resp.MaxReadSize, resp.MaxWriteSize, resp.MaxTransactSize
	if resp.Capabilities&wire.CapLargeMTU == 0 {
		c.MaxReadSize = min(c.MaxReadSize, 64<<10)
		c.MaxWriteSize = min(c.MaxWriteSize, 64<<10)
		c.MaxTransactSize = min(c.MaxTransactSize, 64<<10)
	}
	if c.MaxReadSize < 4096 || c.MaxWriteSize < 4096 {
		return fmt.Errorf("%w: the server's maximum read/write size (%d/%d) is too small", ErrPolicy, c.MaxReadSize, c.MaxWriteSize)
	}
	// Bounded by what one frame may carry here.
	c.MaxReadSize = min(c.MaxReadSize, 8<<20)
	c.MaxWriteSize = min(c.MaxWriteSize, 8<<20)

	c.SigningAlg = smb3crypto.SigningAESCMAC
	switch c.Dialect {
	case wire.Dialect311:
		if resp.PreauthHashAlg != wire.HashSHA512 {
			return fmt.Errorf("%w: the server chose preauthentication hash %d, not SHA-512", ErrPolicy, resp.PreauthHashAlg)
		}
		if resp.HasEncryptionContext && resp.Cipher != 0 {
			if !slices.Contains(c.cfg.ciphers(), resp.Cipher) {
				return fmt.Errorf("%w: the server chose cipher %#x, which was not offered", ErrPolicy, resp.Cipher)
			}
			c.Cipher = resp.Cipher
		}
		if resp.HasSigningContext {
			if !slices.Contains(c.cfg.signing(), resp.SigningAlg) {
				return fmt.Errorf("%w: the server chose signing algorithm %s, which was not offered", ErrPolicy, smb3crypto.SigningName(resp.SigningAlg))
			}
			c.SigningAlg = resp.SigningAlg
		} else if !slices.Contains(c.cfg.signing(), smb3crypto.SigningAESCMAC) {
			return fmt.Errorf("%w: the server offers no signing algorithm but AES-128-CMAC, which the configuration excludes", ErrPolicy)
		}
		c.preauth.Update(reqMsg)
		c.preauth.Update(cl.resp)
	default:
		// SMB 3.0 and 3.0.2 sign with AES-128-CMAC and encrypt with
		// AES-128-CCM when both sides have CAP_ENCRYPTION.
		if !slices.Contains(c.cfg.signing(), smb3crypto.SigningAESCMAC) {
			return fmt.Errorf("%w: SMB %s signs only with AES-128-CMAC, which the configuration excludes", ErrPolicy, wire.DialectName(c.Dialect))
		}
		if resp.Capabilities&wire.CapEncryption != 0 && slices.Contains(c.cfg.ciphers(), smb3crypto.CipherAES128CCM) {
			c.Cipher = smb3crypto.CipherAES128CCM
		}
		c.negReq = reqMsg
	}
	if c.cfg.RequireEncryption && c.Cipher == 0 {
		return fmt.Errorf("%w: encryption is required, but the server (SMB %s) has no cipher in common with %s", ErrPolicy,
			wire.DialectName(c.Dialect), cipherList(c.cfg.ciphers()))
	}
	if mechs, err := spnego.ParseInitHint(resp.SecurityBuffer); err == nil && len(mechs) > 0 {
		if !slices.ContainsFunc(mechs, func(m asn1.ObjectIdentifier) bool {
			return m.Equal(spnego.OIDKerberos) || m.Equal(spnego.OIDMSKerberos)
		}) {
			return errors.New("the server does not offer Kerberos authentication (its SPNEGO hint lists no Kerberos mechanism)")
		}
	}
	return nil
}

func cipherList(ids []uint16) string {
	var b bytes.Buffer
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(smb3crypto.CipherName(id))
	}
	return b.String()
}

// validateNegotiate runs FSCTL_VALIDATE_NEGOTIATE_INFO on tree t (MS-SMB2
// 3.2.5.5): for SMB 3.0 and 3.0.2, whose NEGOTIATE has no
// preauthentication hash, it proves that nobody tampered with it. Run
// once per connection.
func (c *Conn) validateNegotiate(ctx context.Context, t *Tree) error {
	if c.Dialect == wire.Dialect311 || c.validated.Load() {
		return nil
	}
	vni := wire.ValidateNegotiateInfo{
		Capabilities: clientCaps,
		GUID:         c.clientGUID,
		SecurityMode: wire.NegotiateSigningEnabled | wire.NegotiateSigningRequired,
		Dialects:     c.cfg.dialects(),
	}
	out, err := t.ioctl(ctx, wire.FsctlValidateNegotiateInfo, wire.FileIDAny, vni.Marshal(), 24)
	if err != nil {
		return fmt.Errorf("%w: validate negotiate: %v", ErrPolicy, err)
	}
	caps, guid, mode, dialect, err := wire.ParseValidateNegotiateInfoResponse(out)
	if err != nil {
		return fmt.Errorf("%w: validate negotiate: %v", ErrPolicy, err)
	}
	if caps != c.ServerCaps || guid != c.ServerGUID || mode != c.ServerSecMode || dialect != c.Dialect {
		return fmt.Errorf("%w: the server's VALIDATE_NEGOTIATE_INFO does not match its NEGOTIATE response: the negotiation was tampered with", ErrPolicy)
	}
	c.validated.Store(true)
	return nil
}
