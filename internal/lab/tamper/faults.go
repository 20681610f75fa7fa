package tamper

import "time"

// flip is one pending one-shot bit flip.
type flip struct {
	pred   func(frame []byte) bool
	offset int
	done   chan struct{}
}

// FlipServerFrame arms a one-shot fault: the next server-to-client frame
// for which pred returns true, and which is longer than offset, gets the
// byte at offset (counted from the start of the frame, after the 4-byte
// prefix) XORed with 0x01. A nil pred matches every frame. The returned
// channel is closed once the flip has been made. Several flips may be
// armed at once; each frame takes at most one, the earliest armed that
// matches. pred runs on the forwarding goroutine for every frame while the
// flip is pending: it must be quick and must not keep frame.
func (p *Proxy) FlipServerFrame(pred func(frame []byte) bool, offset int) <-chan struct{} {
	return p.arm(toClient, pred, offset)
}

// FlipClientFrame is FlipServerFrame for client-to-server frames: the
// server sees the damaged frame.
func (p *Proxy) FlipClientFrame(pred func(frame []byte) bool, offset int) <-chan struct{} {
	return p.arm(toServer, pred, offset)
}

func (p *Proxy) arm(dir direction, pred func([]byte) bool, offset int) <-chan struct{} {
	if offset < 0 {
		panic("tamper: negative flip offset")
	}
	f := &flip{pred: pred, offset: offset, done: make(chan struct{})}
	p.mu.Lock()
	p.flips[dir] = append(p.flips[dir], f)
	p.pending[dir].Store(int32(len(p.flips[dir])))
	p.mu.Unlock()
	return f.done
}

// flipOne applies the first pending flip of dir that matches frame. The
// predicates run without p.mu held, so that they may call the proxy's
// methods (Bytes, for one); a flip is then claimed under p.mu, so that two
// connections never both take it.
func (p *Proxy) flipOne(dir direction, frame []byte) {
	p.mu.Lock()
	list := append([]*flip(nil), p.flips[dir]...)
	p.mu.Unlock()
	for _, f := range list {
		if f.offset >= len(frame) || (f.pred != nil && !f.pred(frame)) {
			continue
		}
		if !p.claim(dir, f) {
			continue
		}
		frame[f.offset] ^= 0x01
		close(f.done)
		return
	}
}

// claim removes f from the pending flips of dir; it reports false if
// another connection took it first.
func (p *Proxy) claim(dir direction, f *flip) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, g := range p.flips[dir] {
		if g == f {
			p.flips[dir] = append(p.flips[dir][:i:i], p.flips[dir][i+1:]...)
			p.pending[dir].Store(int32(len(p.flips[dir])))
			return true
		}
	}
	return false
}

// After returns a predicate that is true for a frame when at least n
// bytes (both directions, all connections, prefixes included) have been
// forwarded since After was called, and pred (nil: any frame) is true for
// it: with FlipServerFrame, a flip that lands in the middle of a
// transfer.
func (p *Proxy) After(n int64, pred func(frame []byte) bool) func(frame []byte) bool {
	start := p.total()
	return func(frame []byte) bool {
		return p.total()-start >= n && (pred == nil || pred(frame))
	}
}

func (p *Proxy) total() int64 {
	return p.bytes[toServer].Load() + p.bytes[toClient].Load()
}

// RecordClientFrames calls fn with a copy of every client-to-server frame
// from now on (fn may keep it), as forwarded (after any flip), in order per
// connection; nil stops recording. fn runs on the forwarding goroutine:
// the frame waits for it, so a slow fn slows the transfer (a check of
// transform nonces over a gigabyte costs one copy per frame, nothing
// more). With several connections, fn is called from several goroutines.
func (p *Proxy) RecordClientFrames(fn func(frame []byte)) {
	p.setRecorder(toServer, fn)
}

// RecordServerFrames is RecordClientFrames for server-to-client frames.
func (p *Proxy) RecordServerFrames(fn func(frame []byte)) {
	p.setRecorder(toClient, fn)
}

func (p *Proxy) setRecorder(dir direction, fn func([]byte)) {
	if fn == nil {
		p.record[dir].Store(nil)
		return
	}
	p.record[dir].Store(&fn)
}

// Cut tears down every current connection abruptly: both of its sockets
// are closed with SO_LINGER 0, so the client and the server each get a
// TCP RST, as when a network path breaks and a middlebox resets. The
// proxy keeps listening: a client that reconnects gets a new connection
// to the target.
func (p *Proxy) Cut() {
	p.mu.Lock()
	pairs := p.takePairs()
	p.mu.Unlock()
	for _, c := range pairs {
		c.kill(true)
	}
}

// Hold stops forwarding, in both directions and on every connection, for
// d from now: frames already read wait, and as the socket buffers fill the
// peers' sends stall, as over a path that stopped delivering without
// breaking. Connections are still accepted. A later Hold replaces the
// earlier one; Hold(0) resumes at once.
func (p *Proxy) Hold(d time.Duration) {
	p.mu.Lock()
	if d <= 0 {
		p.holdUntil.Store(0)
	} else {
		p.holdUntil.Store(time.Now().Add(d).UnixNano())
	}
	close(p.holdWake)
	p.holdWake = make(chan struct{})
	p.mu.Unlock()
}

// SetLatency delays every client-to-server frame of the connections
// accepted from now on by d, in order but without holding one frame
// behind another's delay: each round trip takes d longer, as over a
// distant link, while requests in flight still overlap. 0 ends it for new
// connections.
func (p *Proxy) SetLatency(d time.Duration) {
	p.latency.Store(int64(d))
}
