package smb

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// feed drives t through its measurement: the chunks timed one at a time
// take one each, those at full depth many each (1 MiB chunks). It returns
// the depth chosen and how often decided was called.
func feed(t *testing.T, tu *depthTuner, one, many time.Duration) (int, int) {
	t.Helper()
	calls := 0
	tu.decided = func(int) { calls++ }
	now := time.Unix(0, 0)
	if tu.limit != 1 {
		t.Fatalf("a long transfer starts at depth %d, want 1", tu.limit)
	}
	for i := 0; i < probeWarm+probeOne; i++ {
		now = now.Add(one)
		tu.observe(1<<20, now)
	}
	if tu.limit != tu.max {
		t.Fatalf("after the chunks one at a time the depth is %d, want %d", tu.limit, tu.max)
	}
	for i := 0; i <= probeMany; i++ {
		now = now.Add(many)
		tu.observe(1<<20, now)
	}
	// Later chunks change nothing.
	for i := 0; i < 10; i++ {
		now = now.Add(time.Hour)
		tu.observe(1<<20, now)
	}
	return tu.limit, calls
}

func TestTunerChoice(t *testing.T) {
	for _, tc := range []struct {
		name      string
		one, many time.Duration
		want      int
	}{
		{"one at a time is four times faster", 1 * time.Millisecond, 4 * time.Millisecond, 1},
		{"the pipeline is faster (latency)", 14 * time.Millisecond, 4 * time.Millisecond, 4},
		{"one at a time 5% faster: within the margin", 1000 * time.Microsecond, 1050 * time.Microsecond, 4},
		{"equal", 2 * time.Millisecond, 2 * time.Millisecond, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tu := newTuner(4, 64, false, 0, false)
			got, calls := feed(t, &tu, tc.one, tc.many)
			if got != tc.want || calls != 1 {
				t.Fatalf("depth %d after %d decisions, want %d after 1", got, calls, tc.want)
			}
		})
	}
}

func TestTunerWithoutMeasuring(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    int
		chunks int64
		fixed  bool
		hint   int
		fresh  bool
		want   int
	}{
		{"fixed", 4, 1000, true, 1, true, 4},
		{"one request", 1, 1000, false, 0, false, 1},
		{"short, no earlier choice", 4, probeMin - 1, false, 0, false, 4},
		{"short, an earlier transfer chose one", 4, probeMin - 1, false, 1, false, 1},
		{"short, an earlier choice above the maximum", 2, 3, false, 8, false, 2},
		{"long, a choice of the last minute", 4, 1000, false, 1, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tu := newTuner(tc.max, tc.chunks, tc.fixed, tc.hint, tc.fresh)
			tu.decided = func(int) { t.Fatal("decided without measuring") }
			for i := 0; i < 20; i++ {
				tu.observe(1<<20, time.Unix(int64(i), 0))
			}
			if tu.limit != tc.want {
				t.Fatalf("depth %d, want %d", tu.limit, tc.want)
			}
		})
	}
	// A transfer of unknown size is measured, and so is a long one after
	// the choice grew old.
	if tu := newTuner(4, -1, false, 0, false); tu.limit != 1 || tu.phase != tuneOne {
		t.Fatalf("unknown size: depth %d phase %d, want a measurement", tu.limit, tu.phase)
	}
	if tu := newTuner(4, 1000, false, 4, false); tu.limit != 1 || tu.phase != tuneOne {
		t.Fatalf("an old choice: depth %d phase %d, want a measurement", tu.limit, tu.phase)
	}
}

// TestGateBounds runs chunks through gates the way copyIn does and checks
// that no more requests are in flight, and no more chunks alive, than the
// depth allows.
func TestGateBounds(t *testing.T) {
	for _, tc := range []struct {
		max, wantFlight, wantAlive int
	}{{1, 1, 2}, {3, 3, 3}, {8, 8, 8}} {
		g := newGate(newTuner(tc.max, 200, true, 0, false))
		var inflight, alive, maxFlight, maxAlive atomic.Int32
		peak := func(v *atomic.Int32, n int32) {
			for {
				m := v.Load()
				if n <= m || v.CompareAndSwap(m, n) {
					return
				}
			}
		}
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			if !g.reserve(nil) {
				t.Fatal("reserve failed")
			}
			peak(&maxAlive, alive.Add(1))
			if !g.send(nil) {
				t.Fatal("send failed")
			}
			peak(&maxFlight, inflight.Add(1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i%3) * 100 * time.Microsecond)
				inflight.Add(-1)
				g.answered()
				alive.Add(-1)
				g.finished(1)
			}()
		}
		wg.Wait()
		if int(maxFlight.Load()) > tc.wantFlight || int(maxAlive.Load()) > tc.wantAlive {
			t.Errorf("depth %d: %d in flight and %d alive at most, want <= %d and <= %d",
				tc.max, maxFlight.Load(), maxAlive.Load(), tc.wantFlight, tc.wantAlive)
		}
	}
}

// TestGateStops: a waiter returns false once its done channel closes.
func TestGateStops(t *testing.T) {
	g := newGate(newTuner(1, 10, true, 0, false))
	if !g.reserve(nil) || !g.send(nil) {
		t.Fatal("the first slot was refused")
	}
	done := make(chan struct{})
	res := make(chan bool)
	go func() { res <- g.send(done) }()
	time.Sleep(10 * time.Millisecond)
	close(done)
	select {
	case ok := <-res:
		if ok {
			t.Fatal("send succeeded past its limit")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("send did not return when done closed")
	}
}
