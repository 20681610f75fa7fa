//go:build crosstest

package crosstest

import (
	"context"
	"debug/elf"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/libsmbkrb/ctest"
)

// cprograms are the C test program (libsmbkrb/test/smbkrb_test.c) as the
// toolchain scripts' lib kind builds it for each target: linked
// statically against that target's libsmbkrb.a (Go, cgo and the static
// MIT build in one archive), the ARM ones run under qemu-user.
var cprograms = []binary{
	{target: "linux-arm64", file: "smbkrb_test", machine: elf.EM_AARCH64, class: elf.ELFCLASS64, binfmt: "qemu-aarch64", static: true},
	{target: "linux-armv7", file: "smbkrb_test", machine: elf.EM_ARM, class: elf.ELFCLASS32, hardFloat: true, binfmt: "qemu-arm", static: true},
	{target: "linux-amd64", file: "smbkrb_test", machine: elf.EM_X86_64, class: elf.ELFCLASS64, static: true},
}

// runCProgram runs the C test program b in the flow's namespace with the
// flow's environment (cEnv) and checks that it passed every step.
func runCProgram(t *testing.T, dir string, b binary, lab flowLab) []step {
	t.Helper()
	if b.binfmt != "" {
		checkBinfmt(t, b.binfmt, true)
	}
	bin := b.path(t, dir)
	home := t.TempDir()
	env, stdin := lab.cEnv(t, home, b.target)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	r, err := ctest.Run(ctx, lab.namespace(), home, bin, env.List(), stdin, []string{strings.TrimSpace(stdin)})
	if err != nil {
		t.Fatalf("%s: %v", b.name(), err)
	}
	if _, err := ctest.Passed(r, ctest.Common...); err != nil {
		t.Fatalf("%s: %v", b.name(), err)
	}
	t.Logf("%s through the C test in %v", b.name(), r.Took.Round(time.Millisecond))
	return []step{{"C test", r.Took}}
}

// cEnv of the AD DS flow: a password login through the KDC proxy.
func (l *adLab) cEnv(t *testing.T, home, run string) (ctest.Env, string) {
	return ctest.Env{
		Mode: "adds", Realm: l.dc.Realm, KDC: l.proxy.URL, Map: "." + strings.ToLower(l.dc.Realm),
		CA: l.proxy.CAFile, User: l.user, Server: l.dc.FQDN, Addr: l.ns.HostAddr, Share: samba.ShareEncrypted,
		BadSPN: "nosuch." + strings.ToLower(l.dc.Realm), Dir: home, Run: "c-" + run,
	}, l.pw + "\n"
}

// cEnv of the Entra flow: a sign-in saved into the program's state
// directory (as entra register and login would leave it), the service
// ticket through the tenant's KDC proxy.
func (l *entraLab) cEnv(t *testing.T, home, run string) (ctest.Env, string) {
	state := filepath.Join(home, "entra")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := l.emu.SaveSignIn(ctx, state, l.user.UPN, l.user.Password); err != nil {
		t.Fatalf("the saved sign-in: %v", err)
	}
	return ctest.Env{
		Mode: "entra", Tenant: l.emu.Tenant, Authority: l.emu.URL, CA: l.emu.CAFile, State: state,
		Server: entraAccount, Addr: l.ns.HostAddr, Share: samba.ShareEncrypted,
		BadSPN: "nosuch.file.core.windows.net", Dir: home, Run: "c-" + run,
	}, ""
}
