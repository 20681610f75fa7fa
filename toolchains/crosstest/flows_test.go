//go:build crosstest

package crosstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
	"github.com/smbkrb/smbkrb/libsmbkrb/ctest"
)

// The loopback addresses of this package's DCs (other test packages use
// others at the same time: 127.0.0.2–.33 are taken).
const (
	adAddr    = "127.0.0.40" // LAB.TEST, playing on-premises AD DS
	entraAddr = "127.0.0.41" // KERBEROS.MICROSOFTONLINE.COM, playing Azure Files with Entra Kerberos
	// .42–.49 are free.
)

// flow is one end-to-end scenario that every cross-built binary must get
// through against real servers.
type flow struct {
	name string
	// start brings up the flow's servers, once for all binaries, with
	// their files under dir.
	start func(dir string) (flowLab, error)
}

// flowLab is a flow's running servers.
type flowLab interface {
	// namespace is the network namespace the binaries run in.
	namespace() *netns.NS
	// run takes one binary through the flow and returns the steps it
	// timed; it fails t on any difference from what should happen.
	run(t *testing.T, r *runner) []step
	// cEnv is the C test program's environment and standard input for
	// this flow (clib_test.go); run names the program's remote files.
	cEnv(t *testing.T, home, run string) (env ctest.Env, stdin string)
	// close stops the servers.
	close()
}

// flows are the scenarios, in order; each has its own lab (a network
// namespace with port 88 rejected, its own DC and servers) and its own
// file:
//
//   - ad-ds-kdc-proxy (adds_test.go): on-premises AD DS through smbkrb's
//     KDC proxy: kinit refused on :88, kinit through the proxy, put and
//     get on the encrypted share.
//   - entra-kerberos (entra_test.go): Azure Files with Microsoft Entra
//     Kerberos through the Entra emulator: entra register (device-code
//     sign-in, approved at the emulator as the binary prints the code),
//     entra login with a password (the cloud TGT in the PRT response),
//     put and get on the storage account's encrypted share, the service
//     ticket through the tenant's KDC proxy.
//
// In each flow, the C test program of each target (clib_test.go) then
// runs the same ground through libsmbkrb.
var flows = []flow{
	{name: "ad-ds-kdc-proxy", start: startADDS},
	{name: "entra-kerberos", start: startEntra},
}

// TestEndToEnd takes every binary through every flow: the ARM binaries
// under qemu-user, the static ones in an empty chroot, all inside a
// network namespace whose port 88 is rejected.
func TestEndToEnd(t *testing.T) {
	dir := crossDir(t)
	for _, b := range append(binaries, cprograms...) {
		b.path(t, dir) // a missing binary fails here, before the lab starts
	}
	labDir := t.TempDir()
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			begin := time.Now()
			lab, err := f.start(filepath.Join(labDir, f.name))
			if err != nil {
				t.Fatalf("start the %s lab: %v", f.name, err)
			}
			defer lab.close()
			t.Logf("%s: lab started in %v", f.name, time.Since(begin).Round(time.Millisecond))
			for _, b := range binaries {
				t.Run(b.name(), func(t *testing.T) {
					r := newRunner(t, dir, b, lab.namespace())
					if b.static {
						r.proveNoLibraries(t, controlFor(t, dir, b))
					}
					rec := timing{flow: f.name, binary: b.name()}
					begin := time.Now()
					defer func() {
						rec.total = time.Since(begin)
						rec.ok = !t.Failed()
						record(rec)
						t.Logf("%s through %s: %v", b.name(), f.name, rec.total.Round(time.Millisecond))
					}()
					rec.steps = lab.run(t, r)
				})
			}
			// The C library: the C test program of each target.
			for _, b := range cprograms {
				t.Run("C/"+b.name(), func(t *testing.T) {
					rec := timing{flow: f.name, binary: "C " + b.name()}
					begin := time.Now()
					defer func() {
						rec.total = time.Since(begin)
						rec.ok = !t.Failed()
						record(rec)
					}()
					rec.steps = runCProgram(t, dir, b, lab)
				})
			}
		})
	}
}

// control is a dynamically linked program for a static binary's machine
// and arguments with which it succeeds wherever it can start: the chroot
// must refuse to run it.
type control struct {
	path string
	args []string
	env  []string // what it needs outside the chroot
}

// controlFor is b's control: MIT's own klist -V for amd64, the dynamic
// arm64 smbkrb's version for arm64.
func controlFor(t *testing.T, dir string, b binary) control {
	t.Helper()
	switch b.target {
	case "linux-amd64":
		p, err := labtool.Find("klist", "krb5-user")
		if err != nil {
			t.Fatal(err)
		}
		return control{path: p, args: []string{"-V"}}
	case "linux-arm64":
		dyn := binary{target: "linux-arm64", file: "smbkrb"}
		return control{path: dyn.path(t, dir), args: []string{"version"}, env: []string{"QEMU_LD_PREFIX=" + dyn.sysroot(t, dir)}}
	}
	t.Fatalf("no control program for %s", b.name())
	return control{}
}

// proveNoLibraries shows that the static binary's chroot holds no shared
// library: it lists the chroot, and runs c, a dynamically linked program
// for the same machine, in it, which must fail to start (while the same
// program succeeds outside).
func (r *runner) proveNoLibraries(t *testing.T, c control) {
	t.Helper()
	files := r.listRoot(t)
	for _, f := range files {
		if strings.Contains(f, ".so") || strings.HasPrefix(f, "/lib") || strings.HasPrefix(f, "/usr") {
			t.Fatalf("the chroot holds %s", f)
		}
	}
	t.Logf("chroot %s holds only: %s", r.root, strings.Join(files, " "))
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	outside := exec.CommandContext(ctx, c.path, c.args...)
	outside.Env = c.env
	if out, err := outside.CombinedOutput(); err != nil {
		t.Fatalf("control %s %s fails even outside the chroot: %v\n%s", c.path, strings.Join(c.args, " "), err, out)
	}
	dst := filepath.Join(r.root, "control")
	copyFile(t, c.path, dst, 0o755)
	defer os.Remove(dst)
	saved := r.bin
	r.bin = dst
	res := r.run(t, nil, c.args...)
	r.bin = saved
	if res.code == 0 {
		t.Fatalf("the dynamically linked %s ran in the chroot: the shared libraries are not hidden\n%v", c.path, res)
	}
	t.Logf("control: the dynamically linked %s %s cannot start in this chroot (exit %d: %s)",
		c.path, strings.Join(c.args, " "), res.code, strings.TrimSpace(res.stderr))
}

// need fails t unless cond, with the run's output.
func need(t *testing.T, cond bool, res result, format string, args ...any) {
	t.Helper()
	if !cond {
		t.Fatalf("%s\n%v", fmt.Sprintf(format, args...), res)
	}
}
