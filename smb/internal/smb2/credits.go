package smb2

import (
	"context"
	"errors"
	"sync"
)

// creditWindow is the client's side of SMB2 credits (MS-SMB2 3.2.4.1.5,
// 3.2.5.1.4): every request consumes CreditCharge credits and as many
// consecutive MessageIds; every response grants credits back. A request
// waits until the credits it needs are available.
type creditWindow struct {
	mu          sync.Mutex
	cond        *sync.Cond
	available   int    // credits the client may spend now
	outstanding int    // credits of requests sent and not answered
	next        uint64 // the next MessageId
	closed      bool
}

var errClosedCredits = errors.New("connection closed")

// errTooFewCredits: a request needs more credits than the server has
// granted the connection in all.
var errTooFewCredits = errors.New("the server grants too few credits for this request")

func (w *creditWindow) init(n int) {
	w.cond = sync.NewCond(&w.mu)
	w.available = n
}

// acquire takes n credits and returns the first of n MessageIds, waiting
// until enough are granted or ctx ends.
func (w *creditWindow) acquire(ctx context.Context, n int) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.available < n && !w.closed {
		if w.available+w.outstanding < n {
			return 0, errTooFewCredits
		}
		stop := context.AfterFunc(ctx, func() {
			w.mu.Lock()
			w.cond.Broadcast()
			w.mu.Unlock()
		})
		defer stop()
		for w.available < n && !w.closed && ctx.Err() == nil {
			if w.available+w.outstanding < n {
				return 0, errTooFewCredits
			}
			w.cond.Wait()
		}
	}
	if w.closed {
		return 0, errClosedCredits
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	w.available -= n
	w.outstanding += n
	id := w.next
	w.next += uint64(n)
	return id, nil
}

// request is how many credits a request of charge n asks for: its own
// charge, plus more while the window is below target.
func (w *creditWindow) request(n, target int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	ask := n
	if have := w.available + w.outstanding; have < target {
		ask += min(target-have, 512)
	}
	return min(ask, 0xffff)
}

// grant adds credits the server granted.
func (w *creditWindow) grant(n int) {
	if n == 0 {
		return
	}
	w.mu.Lock()
	w.available += n
	w.cond.Broadcast()
	w.mu.Unlock()
}

// release marks n credits of an answered request as no longer
// outstanding; a request that failed before it was sent gives them back.
func (w *creditWindow) release(n int) {
	w.mu.Lock()
	w.outstanding -= n
	w.cond.Broadcast()
	w.mu.Unlock()
}

// capacity is the largest charge a request can expect to get.
func (w *creditWindow) capacity() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.available + w.outstanding
}

// close wakes every waiter; acquire fails from now on.
func (w *creditWindow) close() {
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
}
