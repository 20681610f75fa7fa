package smb

import (
	"sync"
	"time"
)

// Pipeline depth. A transfer keeps up to TransferOptions.Parallel
// requests in flight, to hide the round trip behind the data. But a
// server may move bytes faster one request at a time: Samba on glibc
// gives a freed read or write buffer back to the kernel when two or more
// large requests are outstanding, and then faults in fresh pages for
// every later one (perf: smbd in exc_page_fault under copy_page_to_iter,
// its CPU per GiB eight times that of one request at a time). Which is
// faster depends on the server, the link and the local disk, so unless
// TransferOptions.Fixed, a long transfer measures it: its first chunks go
// one at a time, the next ones Parallel at a time, and the rest of the
// transfer keeps the depth that moved bytes faster. One at a time must
// win clearly, because over a link with latency it is the pipeline that
// matters. The Session remembers the choice for a minute, for every
// transfer in that time, and after it for transfers too short to measure.

const (
	probeWarm = 4  // chunks one at a time before the timing (the server warms up)
	probeOne  = 3  // chunks timed one at a time, after those
	probeMany = 4  // chunks timed at full depth, after the first
	probeMin  = 16 // chunks a transfer needs to be measured
	// oneMargin is how much faster one request at a time must have been.
	oneMargin = 1.10
	// depthTTL is how long a session's choice stands without measuring.
	depthTTL = time.Minute
)

// depthChoice is the depth a measured transfer kept, and when.
type depthChoice struct {
	limit int
	at    time.Time
}

// depthOf is the depth of c, 0 for none.
func depthOf(c *depthChoice) int {
	if c == nil {
		return 0
	}
	return c.limit
}

// Directions index Session.depth.
const (
	dirRead = iota
	dirWrite
)

// depthTuner decides a transfer's depth from the times its chunks took.
// It is pure logic; gate drives it.
type depthTuner struct {
	max     int // TransferOptions.Parallel
	limit   int // the requests allowed in flight now
	phase   int // tuneOne, tuneMany or tuneDone
	seen    int // chunks finished in this phase
	start   time.Time
	bytes   int64
	rateOne float64
	decided func(limit int) // called once with the depth chosen
}

const (
	tuneOne = iota
	tuneMany
	tuneDone
)

// newTuner returns the tuner of a transfer of chunks chunks (-1: unknown)
// with at most max requests in flight. hint is the depth an earlier
// transfer chose (0: none), fresh whether it was chosen less than
// depthTTL ago; fixed keeps max.
func newTuner(max int, chunks int64, fixed bool, hint int, fresh bool) depthTuner {
	t := depthTuner{max: max, limit: max, phase: tuneDone}
	short := chunks >= 0 && chunks < probeMin
	switch {
	case max <= 1 || fixed:
	case hint >= 1 && hint <= max && (fresh || short):
		t.limit = hint
	case !short:
		t.limit, t.phase = 1, tuneOne
	}
	return t
}

// observe records that a chunk of n bytes finished at now.
func (t *depthTuner) observe(n int, now time.Time) {
	if t.phase == tuneDone {
		return
	}
	t.seen++
	warm := 1
	if t.phase == tuneOne {
		warm = probeWarm
	}
	if t.seen < warm {
		return
	}
	if t.seen == warm {
		// The first chunk of a phase carries the latency of its start;
		// timing begins when it is done.
		t.start, t.bytes = now, 0
		return
	}
	t.bytes += int64(n)
	switch {
	case t.phase == tuneOne && t.seen == probeWarm+probeOne:
		t.rateOne = rate(t.bytes, now.Sub(t.start))
		t.phase, t.seen, t.limit = tuneMany, 0, t.max
	case t.phase == tuneMany && t.seen == 1+probeMany:
		if t.rateOne > oneMargin*rate(t.bytes, now.Sub(t.start)) {
			t.limit = 1
		}
		t.phase = tuneDone
		if t.decided != nil {
			t.decided(t.limit)
		}
	}
}

// rate is bytes per second, over at least a microsecond.
func rate(n int64, d time.Duration) float64 {
	return float64(n) / max(d, time.Microsecond).Seconds()
}

// gate bounds a transfer's requests: at most limit in flight, and at most
// max(limit, 2) chunks alive (issued and not yet delivered to the writer,
// or read from the source and not yet acknowledged), so that at depth 1
// the next chunk overlaps the one in flight.
type gate struct {
	mu       sync.Mutex
	wake     chan struct{} // made by a waiter, closed by the next change
	inflight int
	alive    int
	tune     depthTuner
}

func newGate(t depthTuner) *gate { return &gate{tune: t} }

// wait blocks until ok holds, then applies take, both under g.mu; it
// reports false if done closed first.
func (g *gate) wait(done <-chan struct{}, ok func() bool, take func()) bool {
	for {
		g.mu.Lock()
		if ok() {
			take()
			g.mu.Unlock()
			return true
		}
		if g.wake == nil {
			g.wake = make(chan struct{})
		}
		w := g.wake
		g.mu.Unlock()
		select {
		case <-w:
		case <-done:
			return false
		}
	}
}

// reserve takes the slot of a new chunk.
func (g *gate) reserve(done <-chan struct{}) bool {
	return g.wait(done, func() bool { return g.alive < max(g.tune.limit, 2) }, func() { g.alive++ })
}

// send takes the slot of a request in flight.
func (g *gate) send(done <-chan struct{}) bool {
	return g.wait(done, func() bool { return g.inflight < g.tune.limit }, func() { g.inflight++ })
}

// answered gives back a request's slot.
func (g *gate) answered() {
	g.mu.Lock()
	g.inflight--
	g.changed()
	g.mu.Unlock()
}

// finished gives back a chunk's slot; n > 0 bytes were moved by it.
func (g *gate) finished(n int) {
	g.mu.Lock()
	g.alive--
	if n > 0 {
		g.tune.observe(n, time.Now())
	}
	g.changed()
	g.mu.Unlock()
}

// changed wakes the waiters, if any; g.mu is held. A transfer whose
// producer is not waiting allocates nothing per chunk.
func (g *gate) changed() {
	if g.wake != nil {
		close(g.wake)
		g.wake = nil
	}
}

// transferGate is the gate of a transfer on s of size bytes (-1:
// unknown) in o.ChunkSize chunks in direction dir.
func (s *Session) transferGate(dir int, size int64, o TransferOptions) *gate {
	chunks := int64(-1)
	if size >= 0 {
		chunks = (size + int64(o.ChunkSize) - 1) / int64(o.ChunkSize)
	}
	hint, fresh := 0, false
	if c := s.depth[dir].Load(); c != nil {
		hint, fresh = c.limit, time.Since(c.at) < depthTTL
	}
	t := newTuner(o.Parallel, chunks, o.Fixed, hint, fresh)
	t.decided = func(limit int) { s.depth[dir].Store(&depthChoice{limit: limit, at: time.Now()}) }
	return newGate(t)
}
