// Package ctest runs libsmbkrb's C test program
// (libsmbkrb/test/smbkrb_test.c) the way its two harnesses do, the lab
// tests of libsmbkrb and toolchains/crosstest: the environment it reads,
// a run inside a network namespace, and the steps it reports.
package ctest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/netns"
)

// Env is what the C test reads from its environment (the SMBKRB_T_*
// variables its header comment lists); empty fields are left out.
type Env struct {
	// Mode is "adds", "entra" or "oauth".
	Mode string
	// Realm, KDC (a KDC proxy URL), Map (a host suffix of the realm), CA
	// (a PEM file), User, and optionally Keytab and CCache: the AD DS
	// flow.
	Realm, KDC, Map, CA, User, Keytab, CCache string
	// Tenant, Authority, State: the Entra flow's tenant and saved sign-in.
	Tenant, Authority, State string
	// TokenFile, OAuthEndpoint: SMB OAuth with the program's callback.
	TokenFile, OAuthEndpoint string
	// IdentityEndpoint and IdentityHeader, when set, make the SMB OAuth
	// flow also connect as the host's managed identity.
	IdentityEndpoint, IdentityHeader string
	// Server, Addr, Share: the SMB server; BadSPN a name without a
	// service principal (or storage account).
	Server, Addr, Share, BadSPN string
	// Dir is a local scratch directory, Run names the remote files.
	Dir, Run string
	// Size is the test file's size (0: the program's default); Cycles the
	// leak loop's (0: none).
	Size, Cycles int
}

// List is e as environment variables.
func (e Env) List() []string {
	var out []string
	add := func(k, v string) {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	add("SMBKRB_T_MODE", e.Mode)
	add("SMBKRB_T_REALM", e.Realm)
	add("SMBKRB_T_KDC", e.KDC)
	add("SMBKRB_T_MAP", e.Map)
	add("SMBKRB_T_CA", e.CA)
	add("SMBKRB_T_USER", e.User)
	add("SMBKRB_T_KEYTAB", e.Keytab)
	add("SMBKRB_T_CCACHE", e.CCache)
	add("SMBKRB_T_TENANT", e.Tenant)
	add("SMBKRB_T_AUTHORITY", e.Authority)
	add("SMBKRB_T_STATE", e.State)
	add("SMBKRB_T_TOKEN_FILE", e.TokenFile)
	add("SMBKRB_T_OAUTH_ENDPOINT", e.OAuthEndpoint)
	if e.IdentityEndpoint != "" {
		add("SMBKRB_T_MI", "1")
		add("IDENTITY_ENDPOINT", e.IdentityEndpoint)
		add("IDENTITY_HEADER", e.IdentityHeader)
	}
	add("SMBKRB_T_SERVER", e.Server)
	add("SMBKRB_T_ADDR", e.Addr)
	add("SMBKRB_T_SHARE", e.Share)
	add("SMBKRB_T_BADSPN", e.BadSPN)
	add("SMBKRB_T_DIR", e.Dir)
	add("SMBKRB_T_RUN", e.Run)
	if e.Size > 0 {
		add("SMBKRB_T_SIZE", strconv.Itoa(e.Size))
	}
	if e.Cycles > 0 {
		add("SMBKRB_T_CYCLES", strconv.Itoa(e.Cycles))
	}
	return out
}

// Result is one run of a program.
type Result struct {
	Code           int
	Stdout, Stderr string
	Took           time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d after %v\n--- stdout\n%s--- stderr\n%s", r.Code, r.Took.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// Run runs bin with args in ns with env (besides a PATH and TMPDIR=tmp)
// and stdin, until it exits or ctx ends. secrets must not appear in what
// it prints: a run that shows one is an error.
func Run(ctx context.Context, ns *netns.NS, tmp, bin string, env []string, stdin string, secrets []string, args ...string) (Result, error) {
	cmd := ns.Command(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "TMPDIR=" + tmp}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	begin := time.Now()
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Took: time.Since(begin)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("%s did not finish in time:\n%v", bin, r)
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("%s: %w", bin, err)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(r.Stdout+r.Stderr, s) {
			return r, fmt.Errorf("%s printed a secret", bin)
		}
	}
	return r, nil
}

// Steps are the steps a run of the C test passed: each step's "ok" lines,
// without the "ok ".
type Steps map[string]string

// Passed checks that r is a passing run of the C test that reported each
// of want, and returns its steps.
func Passed(r Result, want ...string) (Steps, error) {
	if r.Code != 0 || !strings.HasSuffix(r.Stdout, "PASS\n") {
		return nil, fmt.Errorf("the C test failed:\n%v", r)
	}
	got := Steps{}
	sc := bufio.NewScanner(strings.NewReader(r.Stdout))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "ok "); ok {
			name, _, _ := strings.Cut(rest, " ")
			got[strings.TrimSuffix(name, ":")] += rest + "\n"
		}
	}
	var missing []string
	for _, s := range want {
		if got[s] == "" {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return got, fmt.Errorf("the C test reported no step %s:\n%v", strings.Join(missing, ", "), r)
	}
	return got, nil
}

// Common are the steps every flow's run reports.
var Common = []string{"usage", "signals", "connect", "mount", "mkdir", "put", "stat", "get", "get-missing",
	"stream", "list", "threads", "rename", "cancel", "timeout", "remove", "encrypt", "unknown-spn"}
