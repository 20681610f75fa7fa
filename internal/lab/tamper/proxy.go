// Package tamper is a TCP proxy for SMB fault-injection tests: it sits
// between a client and a server (such as a lab Samba DC's port 445),
// forwards the traffic both ways frame by frame, and on request flips a
// bit in one frame, records every frame, cuts all connections with a TCP
// reset, or stops forwarding for a while.
//
// It understands only SMB's transport framing (MS-SMB2 2.1, Direct TCP): a
// 4-byte prefix, a zero byte and a 24-bit big-endian length, then that
// many bytes of payload: an SMB2 message (0xFE 'S' 'M' 'B'), a transform
// (0xFD 'S' 'M' 'B', encrypted) or a compressed message (0xFC 'S' 'M' 'B').
// A "frame" in this package's API is the payload without the prefix.
// Prefixes whose first byte is not zero (NetBIOS session messages other
// than session data, such as the 0x85 keep-alive) are forwarded as they
// are and never shown to predicates or recorders.
//
// Every method may be called from any goroutine while traffic flows.
package tamper

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards TCP connections from its listener to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	pairs map[*pair]struct{}
	flips [2][]*flip
	// holdWake is closed (and replaced) whenever Hold changes
	// holdUntil, so that waiting pumps look again.
	holdWake chan struct{}
	closed   bool

	pending   [2]atomic.Int32 // len(flips[dir]), read without mu
	holdUntil atomic.Int64    // UnixNano when forwarding resumes; 0: no hold
	latency   atomic.Int64    // added to client-to-server frames of new connections
	record    [2]atomic.Pointer[func([]byte)]
	bytes     [2]atomic.Int64
	accepted  atomic.Int64

	wg sync.WaitGroup
}

// direction indexes the per-direction state.
type direction int

const (
	toServer direction = iota
	toClient
)

// pair is one proxied connection: the client's and the one to the target.
type pair struct {
	client, server *net.TCPConn
	dead           chan struct{} // closed when the pair is torn down
	once           sync.Once
}

// kill closes both connections; with reset, with SO_LINGER 0 so that the
// peers get a TCP RST instead of a FIN.
func (c *pair) kill(reset bool) {
	c.once.Do(func() {
		if reset {
			_ = c.client.SetLinger(0)
			_ = c.server.SetLinger(0)
		}
		c.client.Close()
		c.server.Close()
		close(c.dead)
	})
}

// Start listens on listen (such as "127.0.0.1:0") and forwards every
// connection it accepts to target (such as "127.0.0.20:445"), which it
// dials when the client connects. The caller must Close the proxy.
func Start(listen, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, pairs: map[*pair]struct{}{}, holdWake: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to, such as "127.0.0.1:40123".
func (p *Proxy) Addr() string {
	return p.ln.Addr().String()
}

// Accepted is the number of client connections accepted so far: a test
// sees from it that a client reconnected after Cut.
func (p *Proxy) Accepted() int64 {
	return p.accepted.Load()
}

// Bytes are the bytes forwarded so far, 4-byte prefixes included, to the
// server and to the client, over all connections.
func (p *Proxy) Bytes() (toServerBytes, toClientBytes int64) {
	return p.bytes[toServer].Load(), p.bytes[toClient].Load()
}

// Close stops listening, closes every connection and waits until all
// forwarding has stopped.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	pairs := p.takePairs()
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range pairs {
		c.kill(false)
	}
	p.wg.Wait()
	return err
}

// takePairs empties the set of live pairs and returns them; p.mu is held.
func (p *Proxy) takePairs() []*pair {
	var list []*pair
	for c := range p.pairs {
		list = append(list, c)
		delete(p.pairs, c)
	}
	return list
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		p.accepted.Add(1)
		p.wg.Add(1)
		go p.serve(conn.(*net.TCPConn))
	}
}

// serve dials the target for one client connection and runs both pumps.
func (p *Proxy) serve(client *net.TCPConn) {
	defer p.wg.Done()
	conn, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		// The client sees its connection close, as if the server were
		// down.
		client.Close()
		return
	}
	c := &pair{client: client, server: conn.(*net.TCPConn), dead: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.kill(false)
		return
	}
	p.pairs[c] = struct{}{}
	p.mu.Unlock()

	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); p.pump(c, c.server, c.client, toServer) }()
	go func() { defer both.Done(); p.pump(c, c.client, c.server, toClient) }()
	both.Wait()
	c.kill(false)
	p.mu.Lock()
	delete(p.pairs, c)
	p.mu.Unlock()
}

// pump forwards frames from src to dst until src ends or fails. A clean
// end of src between frames is passed on as a half close; anything else
// tears the pair down.
func (p *Proxy) pump(c *pair, dst, src *net.TCPConn, dir direction) {
	r := bufio.NewReaderSize(src, 64<<10)
	buf := make([]byte, 64<<10)
	var line chan delayed
	lat := time.Duration(p.latency.Load())
	if dir == toServer && lat > 0 {
		line = make(chan delayed, 1024)
		delivered := make(chan struct{})
		go func() {
			defer close(delivered)
			p.deliver(c, dst, line, dir)
		}()
		defer func() {
			close(line)
			<-delivered
		}()
	}
	for {
		var err error
		buf, err = readFrame(r, buf)
		if err != nil {
			if err == io.EOF {
				if line != nil {
					select {
					case line <- delayed{due: time.Now().Add(lat), eof: true}:
					case <-c.dead:
					}
					return
				}
				_ = dst.CloseWrite()
				return
			}
			c.kill(false)
			return
		}
		if buf[0] == 0 {
			p.tamper(dir, buf[4:])
		}
		if !p.wait(c) {
			return
		}
		if line != nil {
			select {
			case line <- delayed{frame: append([]byte(nil), buf...), due: time.Now().Add(lat)}:
			case <-c.dead:
				return
			}
			continue
		}
		// Counted before the write: the peer's answer to this frame
		// then always finds it counted (After relies on it).
		p.bytes[dir].Add(int64(len(buf)))
		if _, err := dst.Write(buf); err != nil {
			c.kill(false)
			return
		}
	}
}

// delayed is a frame on a delay line (SetLatency); eof passes on the
// half close.
type delayed struct {
	frame []byte
	due   time.Time
	eof   bool
}

// deliver writes the frames of line to dst, each when it is due, in
// order; frames read meanwhile wait on the line, not behind one another.
func (p *Proxy) deliver(c *pair, dst *net.TCPConn, line <-chan delayed, dir direction) {
	for d := range line {
		if wait := time.Until(d.due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.dead:
				t.Stop()
				return
			}
		}
		if d.eof {
			_ = dst.CloseWrite()
			return
		}
		p.bytes[dir].Add(int64(len(d.frame)))
		if _, err := dst.Write(d.frame); err != nil {
			c.kill(false)
			return
		}
	}
}

// readFrame reads one prefixed frame from r into buf (grown if it is too
// small) and returns buf holding the 4-byte prefix and the payload. It
// returns io.EOF only when r ends before a frame begins; a frame cut short
// is io.ErrUnexpectedEOF. The length is 24 bits, so a hostile prefix costs
// at most 16 MiB of buffer.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	if cap(buf) < 4 {
		buf = make([]byte, 4, 64)
	}
	buf = buf[:4]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf, err
	}
	n := int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3])
	if cap(buf) < 4+n {
		grown := make([]byte, 4+n)
		copy(grown, buf)
		buf = grown
	}
	buf = buf[:4+n]
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf, err
	}
	return buf, nil
}

// tamper applies the pending flips and the recorder of dir to one frame.
func (p *Proxy) tamper(dir direction, frame []byte) {
	if p.pending[dir].Load() > 0 {
		p.flipOne(dir, frame)
	}
	if fn := p.record[dir].Load(); fn != nil {
		(*fn)(append([]byte(nil), frame...))
	}
}

// wait blocks while a Hold is in force; it reports false if the pair was
// torn down meanwhile.
func (p *Proxy) wait(c *pair) bool {
	for {
		if p.holdUntil.Load() == 0 {
			return true
		}
		// wake first: Hold stores holdUntil before it closes the
		// channel, so no change is missed.
		p.mu.Lock()
		wake := p.holdWake
		p.mu.Unlock()
		d := time.Until(time.Unix(0, p.holdUntil.Load()))
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-wake:
		case <-c.dead:
			t.Stop()
			return false
		}
		t.Stop()
	}
}
