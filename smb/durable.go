package smb

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/smbkrb/smbkrb/smb/internal/smb2"
	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// Durable handles (MS-SMB2 3.2.4.3.5, 3.2.4.4): every File is opened
// with a durable handle request (version 2, with a create GUID), so that
// after a lost connection the open is resumed on the new one, with its
// share mode and position, rather than opened again by name. On a
// continuously available share (Azure Files) the handle is persistent.
// Elsewhere a server grants durability only to an open that holds a
// handle-caching lease, so the File asks for a read and handle lease: it
// caches nothing under it, and acknowledges every break at once. When the
// server cannot resume the open (it restarted, or the lease was broken
// while the client was away) the File is opened again by name, as
// before.

// durableLease is the lease state a File asks for to be durable.
const durableLease = wire.LeaseRead | wire.LeaseHandle

// leaseAckTimeout bounds the acknowledgment of one lease break.
const leaseAckTimeout = 10 * time.Second

// durableState is what a File keeps to resume its open.
type durableState struct {
	durable    bool     // the server granted a durable (or persistent) handle
	persistent bool     // on a continuously available share
	createGUID [16]byte // of the open to resume
	leaseKey   [16]byte // zero when the open holds no lease
}

// create opens f on t: the durable open of a connection that was lost is
// resumed when there is one, else the file is opened by name with a
// durable handle request. f.reopen or the first open serializes it.
func (f *File) create(ctx context.Context, t *smb2.Tree) (*wire.CreateResponse, error) {
	f.mu.Lock()
	d, old := f.dur, f.fid
	f.mu.Unlock()
	if d.durable {
		ctxs := []wire.CreateContext{wire.DurableV2Reconnect(old, d.createGUID, d.persistent)}
		if d.leaseKey != ([16]byte{}) {
			ctxs = append(ctxs, wire.RequestLeaseV2(d.leaseKey, durableLease))
		}
		r, err := openFile(ctx, t, f.name, f.flag, f.access, ctxs)
		if err == nil {
			f.sh.sess.resumed.Add(1)
			return r, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		// Not resumable: open it by name again.
		f.sh.sess.forgetLease(d.leaseKey)
	}
	d = durableState{persistent: t.Capabilities&wire.ShareCapContinuousAvail != 0}
	if _, err := rand.Read(d.createGUID[:]); err != nil {
		return nil, err
	}
	ctxs := []wire.CreateContext{wire.DurableV2Request(0, d.persistent, d.createGUID)}
	if !d.persistent {
		if _, err := rand.Read(d.leaseKey[:]); err != nil {
			return nil, err
		}
		ctxs = append(ctxs, wire.RequestLeaseV2(d.leaseKey, durableLease))
	}
	r, err := openFile(ctx, t, f.name, f.flag, f.access, ctxs)
	if err != nil {
		return nil, err
	}
	if data, ok := r.Context(wire.ContextRequestLease); !ok || r.OplockLevel != wire.OplockLease {
		d.leaseKey = [16]byte{}
	} else if l, err := wire.ParseLeaseResponse(data); err != nil || l.Key != d.leaseKey {
		d.leaseKey = [16]byte{}
	}
	d.durable = r.DurableV2 != nil
	f.mu.Lock()
	f.dur = d
	f.mu.Unlock()
	if d.leaseKey != ([16]byte{}) {
		f.sh.sess.rememberLease(d.leaseKey, f)
	}
	return r, nil
}

// rememberLease records that f holds the lease key, for its breaks.
func (s *Session) rememberLease(key [16]byte, f *File) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.leases == nil {
		s.leases = map[[16]byte]*File{}
	}
	s.leases[key] = f
}

// forgetLease drops a lease key (the open is closed or gone).
func (s *Session) forgetLease(key [16]byte) {
	if key == ([16]byte{}) {
		return
	}
	s.lmu.Lock()
	defer s.lmu.Unlock()
	delete(s.leases, key)
}

// leaseBreak answers a lease break notification: the File holding the
// lease acknowledges the new state on its tree. Nothing is cached under
// the lease, so there is nothing to flush or purge first. A break of a
// lease no open holds any more needs no answer: closing ended it.
func (s *Session) leaseBreak(b *wire.OplockBreak) {
	s.lmu.Lock()
	f := s.leases[b.LeaseKey]
	s.lmu.Unlock()
	if f == nil || b.Flags&wire.LeaseBreakAckRequired == 0 {
		return
	}
	t, _, _ := f.handle()
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaseAckTimeout)
	defer cancel()
	t.LeaseBreakAck(ctx, b.LeaseKey, b.NewLeaseState)
}
