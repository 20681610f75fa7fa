// Command demo is smbkrb's showcase, what `make demo` runs (as root, on
// Debian 12, after .ci/install-deps). It builds the smbkrb CLI, starts a lab
// of real servers on this machine and then works as a new user would, only
// through the CLI binary and a configuration file:
//
//   - Act 1: a Samba AD DC playing on-premises AD DS (realm LAB.TEST): log
//     in with a password, list, upload and download a file on a share that
//     requires signing and on one that requires encryption.
//   - Act 2: the same realm from a network namespace whose port 88 is
//     rejected by nftables: the direct login fails fast, the login through
//     smbkrb's KDC proxy (MS-KKDCP over HTTPS) works, and so do the
//     transfers.
//   - Act 3: a second DC playing an Entra Domain Services managed domain
//     (realm AADDS.TEST), and both realms side by side from one
//     configuration.
//   - Act 4: Azure Files with Microsoft Entra Kerberos, through smbkrb's
//     Entra emulator: register the device (device-code sign-in), sign in
//     for a cloud TGT, and move a file to the emulated storage account,
//     all over HTTPS from a namespace whose port 88 is rejected; then mount
//     the share (smbkrb mount) and tar a folder into it, every file
//     checked on the server.
//   - Act 5: Azure Files SMB OAuth: an application (certificate) and a
//     managed identity exchange access tokens for service tickets at the
//     emulated file endpoint; no KDC is configured at all.
//
// The CLI runs with -v, so the transcript shows the principal, the tickets,
// the SMB dialect, signing and encryption, bytes and sha256. A summary table
// follows, then the lab is torn down, also after a failure or Ctrl-C. The
// exit code is 0 only if every step did what it should; otherwise the
// failing step is named.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/smboauth"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first Ctrl-C the demo tears down; a second one ends it
		// at once (the DCs exit with their stdin pipe; the next netns.New
		// removes a namespace left behind).
		<-ctx.Done()
		stop()
	}()
	begin := time.Now()
	fmt.Println("smbkrb demo: Kerberos-only SMB against real servers on this machine, through the smbkrb CLI")

	d := &demo{}
	defer d.lab.teardown()
	err := d.play(ctx)
	d.summary()
	d.lab.teardown()
	if err != nil {
		var se *stepError
		switch {
		case ctx.Err() != nil:
			fmt.Printf("\ndemo INTERRUPTED after %v\n", time.Since(begin).Round(time.Second))
			return 130
		case errors.As(err, &se):
			fmt.Printf("\ndemo FAILED at step %q:\n    %v\n", se.step, se.err)
		default:
			fmt.Printf("\ndemo FAILED: %v\n", err)
		}
		return 1
	}
	fmt.Printf("\ndemo finished in %v: every step above ran against real servers, through the smbkrb binary.\n", time.Since(begin).Round(time.Second))
	return 0
}

// demo is one run: the lab, the user's shell and the results for the
// summary.
type demo struct {
	lab lab
	sh  *shell
	// transfers are the round trips for the summary table.
	transfers []transfer
}

// transfer is one upload and download of a file.
type transfer struct {
	act       string
	principal string
	remote    string // //server/share/path
	bytes     int64
	match     bool
	took      time.Duration
}

func (d *demo) play(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return fail("preflight", "the demo starts Samba domain controllers and network namespaces: run it as root (make demo)")
	}
	if err := d.lab.start(ctx); err != nil {
		return err
	}
	d.sh = newShell(d.lab.bin, d.lab.home)
	d.sh.secrets = []string{d.lab.alice.password, d.lab.bob.password, d.lab.carol.password}
	for _, act := range []func(context.Context) error{d.setup, d.act1, d.act2, d.act3, d.act4, d.act5} {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := act(ctx); err != nil {
			return err
		}
	}
	return nil
}

// mainConfig is the new user's configuration file: both realms, their
// KDCs, which servers belong to which realm, and where the servers are.
const mainConfig = `# smbkrb settings of a new user (smbkrb help config)
realm LAB.TEST
# the realms and their KDCs
kdc LAB.TEST=%[1]s:88
kdc AADDS.TEST=%[2]s:88
# which file servers belong to which realm
map .lab.test=LAB.TEST
map .aadds.test=AADDS.TEST
# the lab has no DNS: where the servers are
addr dc1.lab.test=%[1]s
addr dc1.aadds.test=%[2]s
`

func (d *demo) setup(ctx context.Context) error {
	heading("A new user")
	note("an empty home directory with one configuration file; no tickets, no system Kerberos configuration;")
	note("passwords go in on standard input (--password-stdin), never on a command line")
	fmt.Printf("$ export HOME=%s\n", d.lab.home)
	fmt.Println("$ export KRB5CCNAME=FILE:$HOME/krb5cc")
	conf := fmt.Sprintf(mainConfig, adAddr, aaddsAddr)
	path := filepath.Join(d.lab.home, ".config", "smbkrb", "config")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return fail("write the configuration file", "%v", err)
	}
	fmt.Println("$ cat ~/.config/smbkrb/config")
	printFile(conf)
	_, err := d.sh.run(ctx, cmd{step: "smbkrb version", args: []string{"version"}})
	return err
}

func printFile(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Printf("    %s\n", line)
	}
}

// makeFile writes size random bytes to name in the home directory.
func (d *demo) makeFile(name string, size int) error {
	f, err := os.Create(filepath.Join(d.lab.home, name))
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for left := size; left > 0; {
		n := min(left, len(buf))
		rand.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}

// roundTrip uploads local to remote with put -v, downloads it again into
// back with get -v, and checks that the bytes are the same: the local
// files' sha256 and the sums the CLI reported both ways. c holds what both
// commands share: flags (args), the namespace, and phrases their output
// must contain. It returns the SMB session the CLI reported.
func (d *demo) roundTrip(ctx context.Context, act string, u user, local, remote, back string, c cmd) (session, error) {
	size, sum, err := fileSum(filepath.Join(d.lab.home, local))
	if err != nil {
		return session{}, fail(act+": "+local, "%v", err)
	}
	put := c
	put.step = act + ": put " + remote
	put.args = append(append([]string{"put", "-v"}, c.args...), local, remote)
	put.want = append([]string{"principal " + u.principal(), fmt.Sprintf("%d bytes", size)}, c.want...)
	pr, err := d.sh.run(ctx, put)
	if err != nil {
		return session{}, err
	}
	get := c
	get.step = act + ": get " + remote
	get.args = append(append([]string{"get", "-v"}, c.args...), remote, back)
	get.want = append([]string{fmt.Sprintf("%d bytes", size)}, c.want...)
	gr, err := d.sh.run(ctx, get)
	if err != nil {
		return session{}, err
	}
	backSize, backSum, err := fileSum(filepath.Join(d.lab.home, back))
	if err != nil {
		return session{}, fail(get.step, "%v", err)
	}
	match := backSize == size && backSum == sum
	d.transfers = append(d.transfers, transfer{act: act, principal: u.principal(), remote: remote, bytes: size, match: match, took: pr.took + gr.took})
	w := max(len(local), len(back))
	note("sha256 of %-*s  %s  (%d bytes)", w, local, sum, size)
	note("sha256 of %-*s  %s  (%d bytes)", w, back, backSum, backSize)
	if !match {
		return session{}, fail(get.step, "the file came back different: %d bytes, sha256 %s; sent %d bytes, sha256 %s", backSize, backSum, size, sum)
	}
	if p, g := reportedSum(pr.out), reportedSum(gr.out); p != sum || g != sum {
		return session{}, fail(get.step, "smbkrb -v reported sha256 %q on put and %q on get, the file's is %s", p, g, sum)
	}
	s, ok := reportedSession(pr.out)
	if !ok {
		return session{}, fail(put.step, "smbkrb -v did not describe the SMB session")
	}
	note("byte-exact round trip, %s", s)
	return s, nil
}

// shareWant is what -v says about a share.
func shareWant(share string, encrypted bool) string {
	if encrypted {
		return "share " + share + ": encrypted\n"
	}
	return "share " + share + ": signed, not encrypted\n"
}

func (d *demo) act1(ctx context.Context) error {
	const act = "act 1"
	u := d.lab.alice
	heading("Act 1: on-premises AD DS (LAB.TEST), Kerberos straight to the DC on port 88")
	note("log in with the password; the ticket-granting ticket goes into $KRB5CCNAME")
	if _, err := d.sh.run(ctx, cmd{step: act + ": kinit", args: []string{"kinit", "-v", "--password-stdin", u.principal()}, password: u.password,
		want: []string{"logged in as " + u.principal(), "ticket krbtgt/LAB.TEST@LAB.TEST"}}); err != nil {
		return err
	}
	if _, err := d.sh.run(ctx, cmd{step: act + ": klist", args: []string{"klist"}, want: []string{"Default principal: " + u.principal()}}); err != nil {
		return err
	}
	note("list the signed share: the service ticket for cifs/dc1.lab.test comes from the KDC, then SMB3 session setup with Kerberos")
	if _, err := d.sh.run(ctx, cmd{step: act + ": ls signed share", args: []string{"ls", "-l", "-v", "//dc1.lab.test/signed"},
		want: []string{"principal " + u.principal(), "ticket cifs/dc1.lab.test@LAB.TEST", shareWant("signed", false), "README.txt"}}); err != nil {
		return err
	}

	if err := d.makeFile("report.bin", 4<<20+12345); err != nil {
		return fail(act+": make a file", "%v", err)
	}
	note("a random file of 4 MiB and a bit: up to the signed share and back")
	signed, err := d.roundTrip(ctx, act, u, "report.bin", "//dc1.lab.test/signed/report.bin", "report.from-signed.bin",
		cmd{want: []string{shareWant("signed", false)}})
	if err != nil {
		return err
	}
	note("the same file through the share that requires encryption")
	enc, err := d.roundTrip(ctx, act, u, "report.bin", "//dc1.lab.test/encrypted/report.bin", "report.from-encrypted.bin",
		cmd{want: []string{shareWant("encrypted", true)}})
	if err != nil {
		return err
	}
	note("the cache now holds the service ticket too; later commands need no KDC")
	if _, err := d.sh.run(ctx, cmd{step: act + ": klist after", args: []string{"klist"}, want: []string{"cifs/dc1.lab.test@LAB.TEST"}}); err != nil {
		return err
	}
	proved("Act 1: %s logged in with a password (KDC on port 88) and moved 4 MiB byte-exact over SMB %s to the signed share (%s)\n   and to the encrypted share (%s); NTLM is off on the server, so this was Kerberos.",
		u.principal(), signed.dialect, signed.signing, enc.cipher)
	return nil
}

// proxyConfig is the configuration of the client that may not use port
// 88: the realm's KDC is the KDC proxy.
const proxyConfig = `# smbkrb settings for a network that lets HTTPS out but not Kerberos (port 88)
realm LAB.TEST
# the KDC proxy (MS-KKDCP): Kerberos messages inside HTTPS
kdc LAB.TEST=%[1]s
# the CA that issued the proxy's certificate (relative to this file)
ca kdcproxy-ca.pem
map .lab.test=LAB.TEST
# the file server, as this network reaches it
addr dc1.lab.test=%[2]s
`

func (d *demo) act2(ctx context.Context) error {
	const act = "act 2"
	u := d.lab.alice
	ns, proxy := d.lab.ns, d.lab.proxy
	heading("Act 2: the same realm where port 88 is blocked, through the KDC proxy over HTTPS")
	note("the CLI now runs inside network namespace %s (%s): nftables rejects TCP and UDP to port 88;", ns.Name, ns.Addr)
	note("the host %s serves SMB on 445 and the KDC proxy, and its port 88 is behind that firewall", ns.HostAddr)
	conf := fmt.Sprintf(proxyConfig, proxy.URL, ns.HostAddr)
	if err := os.WriteFile(filepath.Join(d.lab.home, "proxy.conf"), []byte(conf), 0o644); err != nil {
		return fail(act+": write proxy.conf", "%v", err)
	}
	fmt.Println("$ cat ~/proxy.conf")
	printFile(conf)
	note("start without tickets")
	if _, err := d.sh.run(ctx, cmd{step: act + ": kdestroy", args: []string{"kdestroy", "-v"}, ns: ns, want: []string{"destroyed"}}); err != nil {
		return err
	}
	note("a login straight to the KDC (--kdc replaces the file's entry) fails at once: connection refused, exit 7")
	direct, err := d.sh.run(ctx, cmd{step: act + ": kinit to port 88", ns: ns, password: u.password, code: 7,
		args: []string{"kinit", "--config", filepath.Join(d.lab.home, "proxy.conf"), "--kdc", "LAB.TEST=" + ns.HostAddr + ":88", "--password-stdin", u.principal()},
		want: []string{"connection refused"}})
	if err != nil {
		return err
	}
	if direct.took > 10*time.Second {
		return fail(act+": kinit to port 88", "the refused login took %v: it should fail fast", direct.took)
	}

	note("the same login through the KDC proxy")
	before := proxy.Requests()
	if _, err := d.sh.run(ctx, cmd{step: act + ": kinit through the proxy", ns: ns, password: u.password,
		args: []string{"kinit", "-v", "--config", filepath.Join(d.lab.home, "proxy.conf"), "--password-stdin", u.principal()},
		want: []string{"logged in as " + u.principal()}}); err != nil {
		return err
	}
	afterKinit := proxy.Requests()
	if n := afterKinit - before; n == 2 {
		note("the KDC proxy received 2 requests for this login: the AS-REQ, and again with pre-authentication when the KDC asked for it")
	} else {
		note("the KDC proxy received %d requests for this login", n)
	}
	if afterKinit-before < 1 {
		return fail(act+": kinit through the proxy", "the KDC proxy received no request: the tickets did not come through it")
	}

	if err := d.makeFile("proxied.bin", 3<<20+777); err != nil {
		return fail(act+": make a file", "%v", err)
	}
	note("a random file of 3 MiB and a bit to the encrypted share, at the address on this network; the service ticket comes through the proxy too")
	enc, err := d.roundTrip(ctx, act, u, "proxied.bin", "//dc1.lab.test/encrypted/proxied.bin", "proxied.back.bin",
		cmd{ns: ns, args: []string{"--config", filepath.Join(d.lab.home, "proxy.conf")}, want: []string{shareWant("encrypted", true), "at " + ns.HostAddr + ":445"}})
	if err != nil {
		return err
	}
	afterTransfer := proxy.Requests()
	if n := afterTransfer - afterKinit; n == 1 {
		note("the KDC proxy received 1 request for the transfers: the TGS exchange for cifs/dc1.lab.test (get used the cached ticket)")
	} else {
		note("the KDC proxy received %d requests for the transfers", n)
	}
	if afterTransfer-afterKinit < 1 {
		return fail(act+": put through the proxy", "the KDC proxy received no TGS request: the service ticket did not come through it")
	}

	// A device pushes a folder of logs, and again after an interruption:
	// --update moves only what is missing.
	if err := os.MkdirAll(filepath.Join(d.lab.home, "logs", "2026-12"), 0o755); err != nil {
		return fail(act+": make the logs", "%v", err)
	}
	for i := range 20 {
		if err := d.makeFile(filepath.Join("logs", "2026-12", fmt.Sprintf("press-%02d.log", i)), 8<<10+i*100); err != nil {
			return fail(act+": make the logs", "%v", err)
		}
	}
	note("a folder of 20 logs, as a device pushes them: put -r, several files at once, each renamed into place when complete")
	confFile := filepath.Join(d.lab.home, "proxy.conf")
	if _, err := d.sh.run(ctx, cmd{step: act + ": put -r", ns: ns, args: []string{"put", "-r", "--config", confFile, "logs", "//dc1.lab.test/encrypted/logs"},
		want: []string{"copied 20 files", "0 skipped, 0 failed"}}); err != nil {
		return err
	}
	note("again with --update, as after an interrupted run: what is there already is skipped")
	if _, err := d.sh.run(ctx, cmd{step: act + ": put -r --update", ns: ns, args: []string{"put", "-r", "--update", "--config", confFile, "logs", "//dc1.lab.test/encrypted/logs"},
		want: []string{"copied 0 files", "20 skipped, 0 failed"}}); err != nil {
		return err
	}
	note("smbkrb doctor checks, in order, everything a device needs, and says what to do about what fails")
	if _, err := d.sh.run(ctx, cmd{step: act + ": doctor", ns: ns, args: []string{"doctor", "--config", confFile, "//dc1.lab.test/encrypted"},
		want: []string{"the KDC's clock is", "OK   tree connect: share encrypted: encrypted"}}); err != nil {
		return err
	}
	proved("Act 2: with port 88 rejected, every Kerberos message (%d) went through the KDC proxy over HTTPS,\n   the file moved byte-exact over SMB %s, encrypted with %s, a folder of logs went up (and up to date the\n   second time), and doctor checked every step.",
		afterTransfer-before, enc.dialect, enc.cipher)
	return nil
}

func (d *demo) act3(ctx context.Context) error {
	const act = "act 3"
	u := d.lab.bob
	heading("Act 3: an Entra Domain Services managed domain (AADDS.TEST)")
	note("another realm, another user, a cache of its own; the configuration file already names the realm's KDC")
	aaddsCache := "FILE:" + filepath.Join(d.lab.home, "krb5cc_aadds")
	if _, err := d.sh.run(ctx, cmd{step: act + ": kinit", args: []string{"kinit", "-v", "--cache", aaddsCache, "--password-stdin", u.principal()}, password: u.password,
		want: []string{"logged in as " + u.principal(), "ticket krbtgt/AADDS.TEST@AADDS.TEST"}}); err != nil {
		return err
	}
	if err := d.makeFile("entra.bin", 5<<20+4321); err != nil {
		return fail(act+": make a file", "%v", err)
	}
	enc, err := d.roundTrip(ctx, act, u, "entra.bin", "//dc1.aadds.test/encrypted/entra.bin", "entra.back.bin",
		cmd{args: []string{"--cache", aaddsCache}, want: []string{shareWant("encrypted", true), "ticket cifs/dc1.aadds.test@AADDS.TEST"}})
	if err != nil {
		return err
	}

	note("both realms from one configuration: the map lines give each server's realm, each cache holds one user's tickets")
	if _, err := d.sh.run(ctx, cmd{step: act + ": ls LAB.TEST share", args: []string{"ls", "-l", "-v", "//dc1.lab.test/encrypted"},
		want: []string{"principal " + d.lab.alice.principal(), "SPN cifs/dc1.lab.test@LAB.TEST", "report.bin", "proxied.bin"}}); err != nil {
		return err
	}
	if _, err := d.sh.run(ctx, cmd{step: act + ": ls AADDS.TEST share", args: []string{"ls", "-l", "-v", "--cache", aaddsCache, "//dc1.aadds.test/encrypted"},
		want: []string{"principal " + u.principal(), "SPN cifs/dc1.aadds.test@AADDS.TEST", "entra.bin"}}); err != nil {
		return err
	}
	proved("Act 3: %s of the Entra Domain Services realm moved 5 MiB byte-exact over SMB %s, encrypted with %s;\n   one configuration file and two caches serve both realms side by side.", u.principal(), enc.dialect, enc.cipher)
	return nil
}

// entraConfig is the configuration of the Entra act: the tenant, the
// emulator's endpoints (the real service needs only entra-tenant and
// entra-domain), and where the storage account is.
const entraConfig = `# smbkrb settings for Azure Files with Microsoft Entra Kerberos
entra-tenant %[1]s
entra-domain %[2]s
# the emulator's endpoints and CA; for Microsoft's cloud leave these out
entra-authority %[3]s
entra-drs %[3]s/drs
ca entra-ca.pem
# the device identity and the sign-in (files of mode 0600)
entra-dir .local/state/smbkrb/device
# the storage account, as this network reaches it
addr %[4]s=%[5]s
`

var userCodeRE = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

func (d *demo) act4(ctx context.Context) error {
	const act = "act 4"
	u := d.lab.carol
	ns, emu := d.lab.ns2, d.lab.emu
	heading("Act 4: Azure Files with Microsoft Entra Kerberos: a cloud TGT over HTTPS, no domain controller in reach")
	note("a new client namespace %s (%s): port 88 rejected, only HTTPS out; the storage account %s at %s", ns.Name, ns.Addr, entraAccount, ns.HostAddr)
	conf := fmt.Sprintf(entraConfig, emu.Tenant, entraDomain, emu.URL, entraAccount, ns.HostAddr)
	confPath := filepath.Join(d.lab.home, "entra.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return fail(act+": write entra.conf", "%v", err)
	}
	fmt.Println("$ cat ~/entra.conf")
	printFile(conf)
	cfg := []string{"--config", confPath}

	note("register the device once: a device-code sign-in authorizes it; the device key and the transport key are made here")
	var approveErr error
	approve := func(line string) {
		if m := userCodeRE.FindStringSubmatch(line); m != nil {
			note("(the user opens that page on a phone, enters %s and signs in as %s)", m[1], u.upn())
			approveErr = emu.ApproveDeviceCode(m[1], u.upn())
		}
	}
	before := emu.Requests("")
	if _, err := d.sh.run(ctx, cmd{step: act + ": entra register", ns: ns, onLine: approve,
		args: append([]string{"entra", "register", "--name", "demo-board"}, cfg...), want: []string{"registered device"}}); err != nil {
		return err
	}
	if approveErr != nil {
		return fail(act+": device code", "%v", approveErr)
	}
	registerTrips := emu.Requests("") - before
	note("sign in as %s: a nonce, then a PRT request signed by the device key with tgt=true; the reply carries the cloud TGT", u.upn())
	before = emu.Requests("")
	if _, err := d.sh.run(ctx, cmd{step: act + ": entra login", ns: ns, password: u.password,
		args: append([]string{"entra", "login", "-v", "--password-stdin", u.upn()}, cfg...),
		want: []string{"signed in as " + u.upn(), "cloud TGT for "}}); err != nil {
		return err
	}
	loginTrips := emu.Requests("") - before
	if _, err := d.sh.run(ctx, cmd{step: act + ": klist", ns: ns, args: append([]string{"klist"}, cfg...),
		want: []string{"Signed in as " + u.upn(), "Cloud TGT: ", "krbtgt/" + entra.KerberosRealm}}); err != nil {
		return err
	}
	if err := d.makeFile("cloud.bin", 3<<20+4242); err != nil {
		return fail(act+": make a file", "%v", err)
	}
	note("a random file of 3 MiB and a bit to the storage account's encrypted share; the service ticket comes through the Entra KDC proxy")
	before = emu.Requests("")
	kdcBefore := emu.Requests("kdcproxy")
	enc, err := d.roundTrip(ctx, act, user{name: "carol", realm: entra.KerberosRealm}, "cloud.bin", "//"+entraAccount+"/encrypted/cloud.bin", "cloud.back.bin",
		cmd{ns: ns, args: cfg, want: []string{shareWant("encrypted", true), "SPN cifs/" + entraAccount + "@" + entra.KerberosRealm}})
	if err != nil {
		return err
	}
	fileTrips := emu.Requests("") - before
	if emu.Requests("kdcproxy") <= kdcBefore {
		return fail(act+": put", "the Entra KDC proxy received no TGS request")
	}
	if _, err := d.sh.run(ctx, cmd{step: act + ": entra status", ns: ns, args: append([]string{"entra", "status"}, cfg...),
		want: []string{"Signed in:", "Cloud TGT:"}}); err != nil {
		return err
	}
	files, err := d.mountEntra(ctx, act, ns, cfg)
	if err != nil {
		return err
	}
	proved("Act 4: %s got a cloud TGT for %s over HTTPS (register %d requests, sign-in %d, put+get %d: the TGS through the KDC proxy),\n   and moved 3 MiB byte-exact to %s over SMB %s, encrypted with %s; through smbkrb mount, tar put %d files there,\n   each checked on the server; port 88 was never reachable.",
		u.upn(), entra.KerberosRealm, registerTrips, loginTrips, fileTrips, entraAccount, enc.dialect, enc.cipher, files)
	return nil
}

// oauthConfig is the configuration of the SMB OAuth act: the tenant (for
// the application's tokens), the emulator's endpoints, the account. No
// realm and no KDC.
const oauthConfig = `# smbkrb settings for Azure Files SMB OAuth: no realm, no KDC
entra-tenant %[1]s
# the emulator's endpoints and CA; for Microsoft's cloud leave these out
entra-authority %[2]s
oauth-endpoint %[2]s/files/{account}
ca entra-ca.pem
# the application's certificate and key (mode 0600)
oauth-client-id %[3]s
oauth-cert app.pem
# the storage account, as this network reaches it
addr %[4]s=%[5]s
`

func (d *demo) act5(ctx context.Context) error {
	const act = "act 5"
	emu := d.lab.emu
	heading("Act 5: Azure Files SMB OAuth: an application and a managed identity, no user and no KDC")
	note("the storage account %s exchanges OAuth tokens for https://storage.azure.com for Kerberos service tickets", oauthAccount)
	conf := fmt.Sprintf(oauthConfig, emu.Tenant, emu.URL, d.lab.app.ClientID, oauthAccount, filesAddr)
	confPath := filepath.Join(d.lab.home, "oauth.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return fail(act+": write oauth.conf", "%v", err)
	}
	fmt.Println("$ cat ~/oauth.conf")
	printFile(conf)
	cfg := []string{"--config", confPath}
	if err := d.makeFile("telemetry.bin", 2<<20+999); err != nil {
		return fail(act+": make a file", "%v", err)
	}
	note("the application signs a client assertion with its certificate (MSAL), gets a token, exchanges it for a ticket for cifs/%s", oauthAccount)
	before := emu.Requests("kerbticket")
	enc, err := d.roundTrip(ctx, act, user{name: "AzureFileClient", realm: smboauth.FilesRealm}, "telemetry.bin", "//"+oauthAccount+"/encrypted/telemetry.bin", "telemetry.back.bin",
		cmd{args: cfg, want: []string{shareWant("encrypted", true), "SPN cifs/" + oauthAccount + "@" + smboauth.FilesRealm}})
	if err != nil {
		return err
	}
	exchanges := emu.Requests("kerbticket") - before
	if exchanges != 1 {
		return fail(act+": put and get", "%d ticket exchanges, want 1 (put exchanges, get reuses the ticket)", exchanges)
	}
	note("the ticket is kept (FILE: cache, mode 0600) until five minutes before it ends; klist shows it")
	if _, err := d.sh.run(ctx, cmd{step: act + ": klist", args: []string{"klist"}, want: []string{"SMB OAuth tickets", "cifs/" + oauthAccount + "@" + smboauth.FilesRealm}}); err != nil {
		return err
	}
	note("the same account as the host's managed identity (App Service style: IDENTITY_ENDPOINT and IDENTITY_HEADER), in a cache of its own")
	miCache := "FILE:" + filepath.Join(d.lab.home, "krb5cc_mi")
	if _, err := d.sh.run(ctx, cmd{step: act + ": ls with the managed identity",
		env:  []string{"IDENTITY_ENDPOINT=" + emu.IdentityEndpoint, "IDENTITY_HEADER=" + emu.IdentityHeader},
		args: []string{"ls", "-l", "-v", "--config", confPath, "--oauth-client-id=", "--managed-identity", "--cache", miCache, "//" + oauthAccount + "/encrypted"},
		want: []string{"exchanged an access token", "telemetry.bin"}}); err != nil {
		return err
	}
	proved("Act 5: an application (%d exchange for put+get) and a managed identity got service tickets for %s from the file endpoint,\n   with no KDC configured, and the file moved byte-exact over SMB %s, encrypted with %s.",
		exchanges, oauthAccount, enc.dialect, enc.cipher)
	return nil
}

// summary prints the table of round trips.
func (d *demo) summary() {
	if len(d.transfers) == 0 {
		return
	}
	heading("Summary")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "act\tprincipal\tremote file\tbytes\tsha256 match\ttime (put+get)")
	for _, t := range d.transfers {
		m := "yes"
		if !t.match {
			m = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%v\n", t.act, t.principal, t.remote, t.bytes, m, t.took.Round(time.Millisecond))
	}
	tw.Flush()
}
