package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/kdcproxy"
	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/samba"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
)

// skewAddr is the loopback address of the DC whose clock is an hour
// ahead.
const skewAddr = "127.0.0.9"

// doctorRun runs doctor and returns its checks by name, with the exit
// code it must have.
func doctorRun(t *testing.T, c *client, code int, stdin string, args ...string) (doctorJSON, map[string]check) {
	t.Helper()
	var in *strings.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	var r result
	if in != nil {
		r = c.run(t, in, append([]string{"doctor", "--json"}, args...)...)
	} else {
		r = c.run(t, nil, append([]string{"doctor", "--json"}, args...)...)
	}
	if r.code != code {
		t.Fatalf("doctor %s: want exit %d, got %v", strings.Join(args, " "), code, r)
	}
	var j doctorJSON
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, r.stdout)
	}
	if j.Exit != code {
		t.Errorf("doctor --json says exit %d, it exited %d", j.Exit, code)
	}
	by := map[string]check{}
	for _, c := range j.Checks {
		by[c.Name] = c
	}
	return j, by
}

// failed is the first failed check.
func firstFailed(j doctorJSON) check {
	for _, c := range j.Checks {
		if c.Status == "fail" {
			return c
		}
	}
	return check{}
}

// TestDoctor: on a working setup every step is OK, through the session
// and the tree connect; then each failure is produced in the lab and
// doctor names it, with the right step, remedy and exit code: a
// configuration file others may write, a stopped KDC, an untrusted KDC
// proxy certificate, a realm mapping to a realm without a KDC, a blocked
// port 445, no tickets, an unknown SPN.
func TestDoctor(t *testing.T) {
	labtest.Need(t)
	c := newClient(t)
	c.kinit(t)
	cf := []string{"--config", lab.config}
	share := remote(samba.ShareEncrypted, "")

	j, by := doctorRun(t, c, exitOK, "", append(cf, share)...)
	for _, name := range []string{"configuration", "kerberos settings", "realm", "KDC LAB.TEST " + lab.dc.Addr + ":88",
		"server " + lab.dc.Addr + ":445", "tickets", "service ticket", "session", "tree connect"} {
		if by[name].Status != "ok" {
			t.Errorf("check %q: %+v\nall: %+v", name, by[name], j.Checks)
		}
	}
	if !strings.Contains(by["realm"].Detail, "the mapping .lab.test=LAB.TEST") || !strings.Contains(by["tree connect"].Detail, "encrypted") ||
		!strings.Contains(by["session"].Detail, "SMB 3.1.1") {
		t.Errorf("details: %+v", j.Checks)
	}
	r := c.ok(t, nil, append([]string{"doctor"}, append(cf, share)...)...)
	if !strings.Contains(r.stdout, "OK   tree connect: share encrypted: encrypted") {
		t.Errorf("doctor's text output:\n%s", r.stdout)
	}
	r = c.fails(t, exitNetwork, []string{"a check failed"}, nil, append([]string{"doctor"}, append(cf, "--addr", lab.dc.FQDN+"=127.0.0.97", share)...)...)
	if !strings.Contains(r.stdout, "FAIL server 127.0.0.97:445: ") || !strings.Contains(r.stdout, "     try: check the server's address") ||
		strings.Contains(r.stderr, "try:") {
		t.Errorf("doctor's text output of a failure (the remedy once, beside its check):\n%s\n%s", r.stdout, r.stderr)
	}

	// A configuration file others may write.
	loose := filepath.Join(c.dir, "loose.conf")
	data, _ := os.ReadFile(lab.config)
	os.WriteFile(loose, data, 0o644)
	os.Chmod(loose, 0o666)
	j, _ = doctorRun(t, c, exitFailure, "", "--config", loose, share)
	if f := firstFailed(j); f.Name != "configuration" || !strings.Contains(f.Try, "chmod go-w") {
		t.Errorf("a world-writable configuration: %+v", f)
	}

	// A stopped KDC (nothing listens there).
	j, _ = doctorRun(t, c, exitNetwork, "", append(cf, "--kdc", "LAB.TEST=127.0.0.98:88", share)...)
	if f := firstFailed(j); f.Name != "KDC LAB.TEST 127.0.0.98:88" || !strings.Contains(f.Detail, "refused") {
		t.Errorf("a stopped KDC: %+v", f)
	}

	// A KDC proxy whose certificate is not trusted, then trusted.
	p, err := kdcproxy.Start(lab.dc.Addr+":0", map[string][]string{lab.dc.Realm: {lab.dc.Addr + ":88"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	j, _ = doctorRun(t, c, exitNetwork, "", append(cf, "--kdc", "LAB.TEST="+p.URL, share)...)
	if f := firstFailed(j); !strings.HasPrefix(f.Name, "KDC LAB.TEST https://") || !strings.Contains(f.Try, "--ca") {
		t.Errorf("an untrusted KDC proxy: %+v", f)
	}
	_, by = doctorRun(t, c, exitOK, "", append(cf, "--kdc", "LAB.TEST="+p.URL, "--ca", p.CAFile, share)...)
	if k := by["KDC LAB.TEST "+p.URL]; k.Status != "ok" || !strings.Contains(k.Detail, "over HTTPS (certificate trusted); the KDC's clock is 0s") {
		t.Errorf("a trusted KDC proxy: %+v", k)
	}

	// The server mapped to a realm no KDC serves.
	j, _ = doctorRun(t, c, exitAuth, "", append(cf, "--map", lab.dc.FQDN+"=ELSEWHERE.TEST", share)...)
	if f := firstFailed(j); f.Name != "realm's KDC" || !strings.Contains(f.Detail, "ELSEWHERE.TEST") || !strings.Contains(f.Try, "--kdc ELSEWHERE.TEST=") {
		t.Errorf("a wrong realm mapping: %+v", f)
	}

	// Port 445 blocked (nothing listens at that address).
	j, _ = doctorRun(t, c, exitNetwork, "", append(cf, "--addr", lab.dc.FQDN+"=127.0.0.97", share)...)
	if f := firstFailed(j); f.Name != "server 127.0.0.97:445" || !strings.Contains(f.Try, "--addr") {
		t.Errorf("a blocked port 445: %+v", f)
	}

	// No tickets.
	empty := newClient(t)
	j, _ = doctorRun(t, empty, exitAuth, "", append(cf, share)...)
	if f := firstFailed(j); f.Name != "tickets" || !strings.Contains(f.Try, "kinit") {
		t.Errorf("no tickets: %+v", f)
	}
	// ... but with --user the login itself is checked.
	_, by = doctorRun(t, empty, exitOK, lab.pw+"\n", append(cf, "--user", lab.user, "--password-stdin", share)...)
	if by["tickets"].Status != "skip" || by["service ticket"].Status != "ok" {
		t.Errorf("doctor --user: %+v", by)
	}

	// An unknown SPN: a name the directory does not know, reached at
	// the DC's address.
	j, _ = doctorRun(t, c, exitAuth, "", append(cf, "--addr", "nosuch.lab.test="+lab.dc.Addr, "//nosuch.lab.test/"+samba.ShareSigned)...)
	if f := firstFailed(j); f.Name != "service ticket" || !strings.Contains(f.Detail, "no account with this service principal") || !strings.Contains(f.Try, "setspn") {
		t.Errorf("an unknown SPN: %+v", f)
	}

	// A KDC whose clock is an hour ahead (faketime): doctor reads the
	// KDC's time from its reply and names the difference.
	skewed, err := lab.main.DCs(testmain.DC{Name: "skewed", Options: samba.Options{Realm: "SKEW.TEST", Domain: "SKEW", HostName: "dc9",
		Addr: skewAddr, ClockOffset: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	j, _ = doctorRun(t, c, exitAuth, "", "--kdc", "SKEW.TEST="+skewed[0].Addr+":88")
	if f := firstFailed(j); f.Name != "KDC SKEW.TEST "+skewAddr+":88 clock" || !strings.Contains(f.Detail, "ahead of this machine's") ||
		!strings.Contains(f.Detail, "1h0m") || !strings.Contains(f.Try, "NTP") {
		t.Errorf("a KDC an hour ahead: %+v", f)
	}

	// Without a server: the settings, the KDCs and the tickets.
	_, by = doctorRun(t, c, exitOK, "", cf...)
	if by["server"].Status != "skip" || by["tickets"].Status != "ok" {
		t.Errorf("doctor without a server: %+v", by)
	}
}
