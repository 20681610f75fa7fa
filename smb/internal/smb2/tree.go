package smb2

import (
	"context"
	"fmt"

	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// Tree is a connected share (a TREE_CONNECT on a session).
type Tree struct {
	s *Session
	// ID is the server's TreeId.
	ID uint32
	// Path is `\\server\share`.
	Path string
	// ShareFlags and Capabilities are the server's (MS-SMB2 2.2.10).
	ShareFlags, Capabilities uint32
	// MaximalAccess is the user's access mask on the share.
	MaximalAccess uint32
	// Encrypt: every message on the tree is encrypted (the share asks for
	// it, or the whole session is encrypted).
	Encrypt bool
}

// TreeConnect connects to share (MS-SMB2 3.2.4.2.4) named `\\server\share`
// and, on SMB 3.0.x, validates the negotiation on it. The request is
// encrypted when the session is; a share the server marks for encryption
// is encrypted from then on.
func (s *Session) TreeConnect(ctx context.Context, path string) (*Tree, error) {
	req := &wire.TreeConnectRequest{Path: path}
	cl, err := s.one(ctx, nil, outMsg{cmd: wire.CmdTreeConnect, body: req.Append, size: 2*len(path) + 16})
	if err != nil {
		return nil, err
	}
	defer cl.release()
	r, err := wire.ParseTreeConnectResponse(cl.resp)
	if err != nil {
		return nil, fmt.Errorf("%w: tree connect response: %v", ErrPolicy, err)
	}
	t := &Tree{
		s: s, ID: cl.hdr.TreeID, Path: path, ShareFlags: r.ShareFlags,
		Capabilities: r.Capabilities, MaximalAccess: r.MaximalAccess,
		Encrypt: s.EncryptAll || r.ShareFlags&wire.ShareFlagEncryptData != 0,
	}
	if t.Encrypt && s.seal == nil {
		t.Disconnect(ctx)
		return nil, policyError("the share requires encryption, but no cipher was negotiated")
	}
	if r.ShareType != wire.ShareTypeDisk {
		t.Disconnect(ctx)
		return nil, fmt.Errorf("%s is not a disk share (type %d)", path, r.ShareType)
	}
	if err := s.c.validateNegotiate(ctx, t); err != nil {
		t.Disconnect(ctx)
		return nil, err
	}
	return t, nil
}

// Session is the tree's session.
func (t *Tree) Session() *Session { return t.s }

// Disconnect ends the tree connect (MS-SMB2 3.2.4.3).
func (t *Tree) Disconnect(ctx context.Context) error {
	return t.do(ctx, outMsg{cmd: wire.CmdTreeDisconnect, body: wire.AppendTreeDisconnectRequest})
}

// ioctl sends an FSCTL and returns its output (a copy).
func (t *Tree) ioctl(ctx context.Context, code uint32, fid wire.FileID, input []byte, maxOut uint32) ([]byte, error) {
	req := &wire.IoctlRequest{CtlCode: code, FileID: fid, Input: input, MaxOutputResponse: maxOut, Flags: wire.IoctlIsFsctl}
	cl, err := t.one(ctx, outMsg{cmd: wire.CmdIoctl, body: req.Append, size: len(input) + 64})
	if err != nil {
		return nil, err
	}
	defer cl.release()
	r, err := wire.ParseIoctlResponse(cl.resp)
	if err != nil {
		return nil, fmt.Errorf("%w: ioctl response: %v", ErrPolicy, err)
	}
	return append([]byte(nil), r.Output...), nil
}
