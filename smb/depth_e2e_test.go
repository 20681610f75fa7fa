package smb

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/tamper"
)

// TestMeasuredDepth puts and gets a file long enough to be measured (32
// chunks of 1 MiB), straight to the DC and through a proxy that adds
// 20 ms to every round trip. Straight, either depth may win (it is the
// server's and this machine's); the data is byte-exact and the choice is 1
// or Parallel. With the latency the pipeline must win: one request at a
// time then waits 20 ms per chunk (not asserted under the race detector,
// where the client itself is the slow part). A Fixed transfer keeps its depth and
// does not change the session's choice.
func TestMeasuredDepth(t *testing.T) {
	labtest.Need(t)
	data := randomBytes(32 << 20)
	opts := TransferOptions{Parallel: 4, ChunkSize: 1 << 20}
	run := func(t *testing.T, d *Dialer, name string) SessionInfo {
		s := dial(t, d, labServer())
		sh := mount(t, s, samba.ShareSigned)
		if _, err := sh.Put(t.Context(), name, bytes.NewReader(data), &PutOptions{TransferOptions: opts}); err != nil {
			t.Fatal(err)
		}
		disk, err := os.ReadFile(filepath.Join(lab.dc.ShareDir(samba.ShareSigned), name))
		if err != nil || !bytes.Equal(disk, data) {
			t.Fatalf("the server's copy differs (%d bytes, %v)", len(disk), err)
		}
		var got bytes.Buffer
		if _, err := sh.Get(t.Context(), name, &got, &opts); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("Get returned %d bytes that differ from the %d put", got.Len(), len(data))
		}
		info := s.Info()
		// A Fixed transfer leaves the choice as it was.
		fixed := opts
		fixed.Fixed, fixed.Parallel = true, 2
		if _, err := sh.Get(t.Context(), name, &bytes.Buffer{}, &fixed); err != nil {
			t.Fatal(err)
		}
		if after := s.Info(); after.ReadDepth != info.ReadDepth {
			t.Errorf("a Fixed Get changed the session's read depth from %d to %d", info.ReadDepth, after.ReadDepth)
		}
		return info
	}

	t.Run("direct", func(t *testing.T) {
		info := run(t, labDialer(t), "depth-direct.bin")
		for _, d := range []int{info.ReadDepth, info.WriteDepth} {
			if d != 1 && d != opts.Parallel {
				t.Fatalf("depths read %d, write %d: want 1 or %d", info.ReadDepth, info.WriteDepth, opts.Parallel)
			}
		}
		t.Logf("kept: read %d, write %d in flight", info.ReadDepth, info.WriteDepth)
	})

	t.Run("latency", func(t *testing.T) {
		p, err := tamper.Start("127.0.0.1:0", net.JoinHostPort(lab.dc.Addr, "445"))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		p.SetLatency(20 * time.Millisecond)
		d := labDialer(t)
		d.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, p.Addr())
		}
		start := time.Now()
		info := run(t, d, "depth-latency.bin")
		if labtest.Race {
			// Under the race detector the client's own work per buffer
			// grows with the buffers in flight (a 1 MiB read took 70 ms at
			// depth 4, 37 ms with the 20 ms at depth 1), so it may rightly
			// keep one at a time.
			t.Logf("race detector: kept read %d, write %d", info.ReadDepth, info.WriteDepth)
			return
		}
		if info.ReadDepth != opts.Parallel || info.WriteDepth != opts.Parallel {
			t.Fatalf("with 20 ms round trips the depths kept are read %d, write %d: want %d", info.ReadDepth, info.WriteDepth, opts.Parallel)
		}
		t.Logf("with 20 ms round trips: %v for the put and two gets", time.Since(start).Round(time.Millisecond))
	})
}
