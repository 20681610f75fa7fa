package kkdcp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

const (
	// defaultKDCTimeout bounds one KDC exchange when nothing else does.
	defaultKDCTimeout = 10 * time.Second
	// defaultMaxReply bounds a Kerberos reply read from a KDC or a proxy.
	defaultMaxReply = 1 << 20
)

// ExchangeTCP sends req, one Kerberos message as DER without a length prefix,
// to the KDC at addr ("host:port") over TCP, and returns the KDC's reply
// without its length prefix. Both directions use the 4-byte big-endian length
// framing of RFC 4120 section 7.2.2.
//
// dial opens the connection; nil means a zero [net.Dialer]. The exchange ends
// when ctx is done, or after 10 seconds if ctx has no deadline: a KDC that
// accepts and never answers makes ExchangeTCP return an error that wraps
// ctx's error, so errors.Is(err, context.DeadlineExceeded) reports a timeout.
//
// maxReply bounds the reply; 0 or less means 1 MiB. A longer reply, an empty
// one, or one with the reserved high bit of the length set is an error.
func ExchangeTCP(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string, req []byte, maxReply int) ([]byte, error) {
	if len(req) == 0 {
		return nil, fmt.Errorf("kkdcp: KDC %s: empty request", addr)
	}
	if len(req) > maxEncodedLen {
		return nil, fmt.Errorf("kkdcp: KDC %s: request of %d bytes is larger than the %d allowed", addr, len(req), maxEncodedLen)
	}
	if maxReply <= 0 {
		maxReply = defaultMaxReply
	}
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultKDCTimeout)
		defer cancel()
	}

	reply, err := exchangeTCP(ctx, dial, addr, req, maxReply)
	if err != nil {
		// When ctx ended the exchange, say so in a way errors.Is sees.
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%v)", cerr, err)
		}
		return nil, fmt.Errorf("kkdcp: KDC %s: %w", addr, err)
	}
	return reply, nil
}

func exchangeTCP(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string, req []byte, maxReply int) ([]byte, error) {
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()

	// Reads and writes block without regard to ctx; when ctx is done, a
	// deadline in the past wakes them up.
	stop := context.AfterFunc(ctx, func() {
		conn.SetDeadline(time.Unix(1, 0))
	})
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d.Add(time.Second)) // backstop; ctx normally ends first
	}

	msg := make([]byte, prefixLen, prefixLen+len(req))
	binary.BigEndian.PutUint32(msg, uint32(len(req)))
	msg = append(msg, req...)
	if _, err := conn.Write(msg); err != nil {
		return nil, fmt.Errorf("send request: %w", err)
	}

	var hdr [prefixLen]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("read reply: connection closed before any reply")
		}
		return nil, fmt.Errorf("read reply length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	switch {
	case n&0x80000000 != 0:
		return nil, errors.New("read reply: length has the reserved high bit set")
	case n == 0:
		return nil, errors.New("read reply: empty reply")
	case uint64(n) > uint64(maxReply):
		return nil, fmt.Errorf("read reply: reply of %d bytes is larger than the %d allowed", n, maxReply)
	}
	reply := make([]byte, n)
	if _, err := io.ReadFull(conn, reply); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read reply: connection closed after a partial reply (%d bytes expected)", n)
		}
		return nil, fmt.Errorf("read reply: %w", err)
	}
	return reply, nil
}
