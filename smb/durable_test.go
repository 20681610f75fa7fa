package smb

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/tamper"
	"github.com/smbkrb/smbkrb/smb/internal/smb2"
	"github.com/smbkrb/smbkrb/smb/internal/wire"
)

// TestDurableHandle cuts the TCP connection under an open file, once
// while reading it and once while writing it: the session dials again and
// the opens carry on by their durable handles (the server's FileId is the
// one from before, Resumed counts them), the data byte-exact. Another
// client's open of the file breaks the lease that makes the handle
// durable, and the break is acknowledged.
func TestDurableHandle(t *testing.T) {
	labtest.Need(t)
	p, err := tamper.Start("127.0.0.1:0", net.JoinHostPort(lab.dc.Addr, "445"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d := labDialer(t)
	d.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, p.Addr())
	}
	var acks atomic.Int64
	p.RecordClientFrames(func(frame []byte) {
		if cmd, ok := tamper.Command(frame); ok && cmd == 0x0012 { // OPLOCK_BREAK: a lease break ack
			acks.Add(1)
		}
	})
	s := dial(t, d, labServer())
	sh := mount(t, s, samba.ShareSigned)
	data := randomBytes(8 << 20)
	if err := sh.WriteFile(t.Context(), "durable.bin", data); err != nil {
		t.Fatal(err)
	}

	t.Run("read", func(t *testing.T) {
		f, err := sh.Open(t.Context(), "durable.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.mu.Lock()
		dur, before := f.dur, f.fid
		f.mu.Unlock()
		if !dur.durable || dur.leaseKey == ([16]byte{}) {
			t.Fatalf("the server granted no durable handle: %+v", dur)
		}
		head := make([]byte, 1<<20)
		if _, err := io.ReadFull(f, head); err != nil {
			t.Fatal(err)
		}
		reconnects, resumed := s.Info().Reconnects, s.Info().Resumed
		p.Cut()
		rest, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(append(head, rest...), data) {
			t.Fatal("the data read across the cut differs")
		}
		info := s.Info()
		_, fid, _ := f.handle()
		if info.Reconnects != reconnects+1 || info.Resumed != resumed+1 || fid.Persistent != before.Persistent {
			t.Errorf("reconnects %d, resumed %d, FileId %x (was %x): the open was not resumed", info.Reconnects-reconnects, info.Resumed-resumed, fid, before)
		}
	})

	t.Run("write", func(t *testing.T) {
		var cut atomic.Bool
		out := randomBytes(8 << 20)
		resumed := s.Info().Resumed
		_, err := sh.Put(t.Context(), "durable-put.bin", bytes.NewReader(out), &PutOptions{TransferOptions: TransferOptions{
			Progress: func(done, _ int64) {
				if done >= 2<<20 && !cut.Swap(true) {
					p.Cut()
				}
			},
		}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := sh.ReadFile(t.Context(), "durable-put.bin")
		if err != nil || !bytes.Equal(got, out) {
			t.Fatalf("after the cut the server has %d bytes (%v), not the data", len(got), err)
		}
		if s.Info().Resumed <= resumed {
			t.Errorf("the upload's open was not resumed (resumed %d)", s.Info().Resumed)
		}
	})

	t.Run("lease break", func(t *testing.T) {
		f, err := sh.Open(t.Context(), "durable.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		before := acks.Load()
		// Another client asks for the file with no sharing: the server
		// breaks the handle caching of f's lease (would f close?), waits
		// for the acknowledgment, and since f stays open, refuses.
		other := mount(t, dial(t, labDialer(t), labServer()), samba.ShareSigned)
		err = other.do(t.Context(), func(tr *smb2.Tree) error {
			req := createRequest("durable.bin", wire.FileReadData, wire.FileOpen, 0)
			req.ShareAccess = 0
			r, err := tr.Create(t.Context(), req)
			if err == nil {
				closeQuietly(tr, r.FileID)
			}
			return err
		})
		if err == nil {
			t.Error("an exclusive open succeeded while f is open")
		}
		if acks.Load() == before {
			t.Error("no lease break acknowledgment was sent")
		}
		if _, err := f.ReadAt(make([]byte, 4096), 0); err != nil {
			t.Errorf("read after the break: %v", err)
		}
	})
}
