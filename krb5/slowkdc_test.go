package krb5_test

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/krb5"
)

// slowKDC is a TCP relay to the lab KDC that holds each reply back for
// delay (0: none), as a KDC behind a slow link does.
type slowKDC struct {
	ln     net.Listener
	delay  atomic.Int64 // nanoseconds
	wg     sync.WaitGroup
	closed chan struct{}
}

func startSlowKDC(tb testing.TB) *slowKDC {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &slowKDC{ln: ln, closed: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.relay(c)
			}()
		}
	}()
	tb.Cleanup(s.close)
	return s
}

// close stops the relay and ends the replies it holds back.
func (s *slowKDC) close() {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	s.ln.Close()
	s.wg.Wait()
}

func (s *slowKDC) relay(c net.Conn) {
	defer c.Close()
	kdc, err := net.DialTimeout("tcp", lab.kdc.Addr, 5*time.Second)
	if err != nil {
		return
	}
	defer kdc.Close()
	go io.Copy(kdc, c)
	select {
	case <-time.After(time.Duration(s.delay.Load())):
		io.Copy(c, kdc)
	case <-s.closed:
	}
}

// slowSetup is a Context of concurrency n whose only KDC is a slow relay,
// a cache holding alice's TGT and a service ticket (got before the relay
// turns slow), and a goroutine that keeps a login in flight through the
// relay, each taking delay, until stop.
func slowSetup(tb testing.TB, n int, delay time.Duration) (k *krb5.Context, cached *krb5.CCache, stop func()) {
	tb.Helper()
	relay := startSlowKDC(tb)
	k = testmain.Context(tb, &krb5.Config{
		Realms:      []krb5.Realm{{Name: lab.realm, KDCs: []string{relay.ln.Addr().String()}}},
		HostRealms:  []krb5.HostRealm{{Host: ".mitlab.test", Realm: lab.realm}},
		Concurrency: n,
		KDCTimeout:  2 * delay,
	})
	cached = testmain.MemoryCache(tb, k)
	loginAlice(tb, k, cached)
	if _, err := k.GetCredentials(tb.Context(), cached, cifsSPN); err != nil {
		tb.Fatal(err)
	}
	relay.delay.Store(int64(delay))
	ctx, cancel := context.WithCancel(context.Background())
	inFlight := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cc, err := k.NewMemoryCCache()
			if err != nil {
				return
			}
			once.Do(func() { close(inFlight) })
			k.GetInitCredsPassword(ctx, cc, alice, []byte(lab.alicePW), nil)
			cc.Destroy()
		}
	}()
	<-inFlight
	time.Sleep(50 * time.Millisecond) // the login is waiting on the relay
	return k, cached, func() { cancel(); relay.close(); <-done }
}

// cachedInitiator is what a dial with cached tickets asks of MIT: the
// service ticket from the cache and an initiator context over it.
func cachedInitiator(tb testing.TB, k *krb5.Context, cc *krb5.CCache) {
	ini, err := k.NewInitiator(tb.Context(), cc, cifsSPN, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ini.Step(nil); err != nil {
		tb.Fatal(err)
	}
	ini.Close()
}

// BenchmarkSlowKDC: while a login waits 2 s on a slow KDC, dials with
// cached tickets (service ticket from the cache, an AP-REQ) go on in the
// Context's other MIT contexts. With Concurrency 1 (one MIT context, as
// before the pool) each waits for the login; compare the two rows' ns/op.
func BenchmarkSlowKDC(b *testing.B) {
	labtest.Need(b)
	for _, n := range []int{1, 4} {
		b.Run("contexts="+string(rune('0'+n)), func(b *testing.B) {
			k, cc, stop := slowSetup(b, n, 2*time.Second)
			defer stop()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cachedInitiator(b, k, cc)
			}
		})
	}
}

// TestSlowKDCDoesNotStallOthers: a login stuck on a KDC that never
// answers in time holds one MIT context; a dial with cached tickets still
// completes while it waits.
func TestSlowKDCDoesNotStallOthers(t *testing.T) {
	labtest.Need(t)
	k, cc, stop := slowSetup(t, 2, time.Hour)
	defer stop()
	done := make(chan error, 1)
	go func() {
		ini, err := k.NewInitiator(t.Context(), cc, cifsSPN, nil)
		if err == nil {
			_, err = ini.Step(nil)
			ini.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a dial with cached tickets waited for a login stuck on the KDC")
	}
}
