package kkdcp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKDC is a TCP listener that reads one length-framed request per
// connection and answers as answer says. It checks framing only.
type fakeKDC struct {
	addr     string
	requests atomic.Int32
	last     atomic.Pointer[[]byte]
}

// echoAnswer replies with the request, its first byte turned from a
// KDC-REQ tag into the matching KDC-REP tag (0x6a -> 0x6b, 0x6c -> 0x6d).
func echoAnswer(req []byte) []byte {
	rep := bytes.Clone(req)
	rep[0]++
	return frame(rep)
}

// hangAnswer never answers.
func hangAnswer([]byte) []byte { return nil }

// frame adds the RFC 4120 section 7.2.2 length prefix.
func frame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// startKDC starts a fake KDC that stops at the end of the test. answer
// returns the raw bytes to write (prefix included); nil means hold the
// connection open without answering until the test ends.
func startKDC(t *testing.T, answer func(req []byte) []byte) *fakeKDC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &fakeKDC{addr: ln.Addr().String()}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				var hdr [4]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				n := binary.BigEndian.Uint32(hdr[:])
				if n == 0 || n > 1<<20 {
					return
				}
				req := make([]byte, n)
				if _, err := io.ReadFull(c, req); err != nil {
					return
				}
				k.requests.Add(1)
				k.last.Store(&req)
				out := answer(req)
				if out == nil {
					<-done
					return
				}
				c.Write(out)
			})
		}
	})
	return k
}

// downAddr returns a loopback address where nothing listens.
func downAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestExchangeTCP(t *testing.T) {
	k := startKDC(t, echoAnswer)
	req := []byte{0x6a, 1, 2, 3}
	rep, err := ExchangeTCP(context.Background(), nil, k.addr, req, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x6b, 1, 2, 3}; !bytes.Equal(rep, want) {
		t.Errorf("reply = %x, want %x", rep, want)
	}
	if got := *k.last.Load(); !bytes.Equal(got, req) {
		t.Errorf("KDC got %x, want %x", got, req)
	}
}

func TestExchangeTCPBadReplies(t *testing.T) {
	for name, tc := range map[string]struct {
		raw      []byte
		maxReply int
		want     string
	}{
		"high bit":       {raw: []byte{0x80, 0, 0, 1, 0x6b}, want: "reserved high bit"},
		"empty":          {raw: []byte{0, 0, 0, 0}, want: "empty reply"},
		"too large":      {raw: []byte{0, 0, 0, 11}, maxReply: 10, want: "larger than the 10 allowed"},
		"default limit":  {raw: []byte{0, 0x10, 0, 1}, want: "larger than the 1048576 allowed"},
		"partial":        {raw: []byte{0, 0, 0, 5, 0x6b}, want: "partial reply"},
		"partial prefix": {raw: []byte{0, 0}, want: "read reply length"},
		"closed":         {raw: []byte{}, want: "closed before any reply"},
	} {
		t.Run(name, func(t *testing.T) {
			k := startKDC(t, func([]byte) []byte { return tc.raw })
			_, err := ExchangeTCP(context.Background(), nil, k.addr, []byte{0x6a}, tc.maxReply)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "kkdcp: KDC "+k.addr+": ") {
				t.Errorf("err = %q, want it to start with kkdcp: KDC %s", err, k.addr)
			}
		})
	}
}

func TestExchangeTCPHangingKDC(t *testing.T) {
	k := startKDC(t, hangAnswer)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ExchangeTCP(ctx, nil, k.addr, []byte{0x6a}, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("returned after %v", d)
	}
}

func TestExchangeTCPCancel(t *testing.T) {
	k := startKDC(t, hangAnswer)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := ExchangeTCP(ctx, nil, k.addr, []byte{0x6a}, 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one wrapping context.Canceled", err)
	}
}

func TestExchangeTCPDown(t *testing.T) {
	addr := downAddr(t)
	_, err := ExchangeTCP(context.Background(), nil, addr, []byte{0x6a}, 0)
	if err == nil || !strings.Contains(err.Error(), "kkdcp: KDC "+addr+": connect: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestExchangeTCPDial(t *testing.T) {
	k := startKDC(t, echoAnswer)
	var dialed string
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = network + " " + addr
		return new(net.Dialer).DialContext(ctx, network, k.addr)
	}
	if _, err := ExchangeTCP(context.Background(), dial, "kdc.example.com:88", []byte{0x6c, 0}, 0); err != nil {
		t.Fatal(err)
	}
	if dialed != "tcp kdc.example.com:88" {
		t.Errorf("dialed %q", dialed)
	}
}

func TestExchangeTCPEmptyRequest(t *testing.T) {
	if _, err := ExchangeTCP(context.Background(), nil, "127.0.0.1:1", nil, 0); err == nil {
		t.Fatal("empty request accepted")
	}
}
