//go:build crosstest

package crosstest

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
)

// dirEnv names the directory the toolchain scripts wrote (build/cross).
// These tests build only with the crosstest build tag: `make cross-test`
// builds the binaries, sets dirEnv and runs them with -tags crosstest (CI
// runs that target), and a plain `go test ./...` neither needs the cross
// compilers nor spends minutes under emulation. With the tag, a missing
// dirEnv or binary fails the tests.
const dirEnv = "SMBKRB_CROSS_DIR"

// binary is one cross-built CLI binary under test.
type binary struct {
	// target is the toolchains/ target that builds it, the name of its
	// directory under SMBKRB_CROSS_DIR.
	target string
	// file is the binary's name in that directory.
	file string
	// machine, class and hardFloat are what its ELF header must say.
	machine   elf.Machine
	class     elf.Class
	hardFloat bool
	// binfmt is the binfmt_misc entry that runs it on this amd64 machine
	// (qemu-user-static), "" for a native binary.
	binfmt string
	// static binaries need no shared library at all: they run in an
	// empty chroot. Dynamic ones run with QEMU_LD_PREFIX set to the
	// target's sysroot (the directory's sysroot link).
	static bool
}

func (b binary) name() string { return b.target + "/" + b.file }

// binaries are what the toolchain scripts build by default and what must
// work: the dynamic arm64 and ARMv7 builds against Debian's MIT
// libraries, and the static amd64 and arm64 builds.
var binaries = []binary{
	{target: "linux-arm64", file: "smbkrb", machine: elf.EM_AARCH64, class: elf.ELFCLASS64, binfmt: "qemu-aarch64"},
	{target: "linux-armv7", file: "smbkrb", machine: elf.EM_ARM, class: elf.ELFCLASS32, hardFloat: true, binfmt: "qemu-arm"},
	{target: "linux-amd64", file: "smbkrb-static", machine: elf.EM_X86_64, class: elf.ELFCLASS64, static: true},
	{target: "linux-arm64", file: "smbkrb-static", machine: elf.EM_AARCH64, class: elf.ELFCLASS64, binfmt: "qemu-aarch64", static: true},
}

// crossDir is SMBKRB_CROSS_DIR; without it the test fails.
func crossDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv(dirEnv)
	if d == "" {
		t.Fatalf("%s is not set: `make cross-test` builds the cross binaries and runs these tests", dirEnv)
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// path is where b is under dir; it fails the test if b is not there.
func (b binary) path(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, b.target, b.file)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v (run toolchains/%s/build.sh, or make cross-test)", b.name(), err, b.target)
	}
	return p
}

// sysroot is the target's sysroot for a dynamic binary (QEMU_LD_PREFIX).
func (b binary) sysroot(t *testing.T, dir string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(filepath.Join(dir, b.target, "sysroot"))
	if err != nil {
		t.Fatalf("%s: sysroot: %v (toolchains/%s/build.sh dynamic makes it)", b.name(), err, b.target)
	}
	return p
}

// timing is the measured wall time of one binary through one flow.
type timing struct {
	flow, binary string
	steps        []step
	total        time.Duration
	ok           bool
}

type step struct {
	what string
	took time.Duration
}

var results struct {
	mu  sync.Mutex
	all []timing
}

func record(r timing) {
	results.mu.Lock()
	defer results.mu.Unlock()
	results.all = append(results.all, r)
}

func TestMain(m *testing.M) {
	code := m.Run()
	samba.CleanupTemplates()
	printTimings()
	os.Exit(code)
}

// printTimings prints the wall times of the flows, one line per binary
// and flow, so that CI's log carries them without -v.
func printTimings() {
	results.mu.Lock()
	defer results.mu.Unlock()
	if len(results.all) == 0 {
		return
	}
	sort.SliceStable(results.all, func(i, j int) bool { return results.all[i].flow < results.all[j].flow })
	fmt.Println("\ncross-built binaries through the lab's flows (wall time):")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "flow\tbinary\tresult\ttotal\tsteps")
	for _, r := range results.all {
		res := "ok"
		if !r.ok {
			res = "FAILED"
		}
		var s []string
		for _, st := range r.steps {
			s = append(s, fmt.Sprintf("%s %v", st.what, st.took.Round(time.Millisecond)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", r.flow, r.binary, res, r.total.Round(time.Millisecond), strings.Join(s, ", "))
	}
	tw.Flush()
}
