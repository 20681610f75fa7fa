package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/internal/errclass"
	"github.com/smbkrb/smbkrb/internal/kerbmsg"
	"github.com/smbkrb/smbkrb/kkdcp"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
)

// check is one step of doctor.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "ok", "fail", "skip"
	Detail string `json:"detail"`
	Try    string `json:"try,omitempty"`
	err    error  // the failure, for the exit code
}

// doctorJSON is doctor --json's output.
type doctorJSON struct {
	Server string  `json:"server,omitempty"`
	Checks []check `json:"checks"`
	Exit   int     `json:"exit"`
}

// errDoctor is a failure doctor found itself (not an error of a library
// call), of the class of its cause.
type errDoctor struct {
	msg   string
	cause error
}

func (e *errDoctor) Error() string { return e.msg }
func (e *errDoctor) Unwrap() error { return e.cause }

// doctor runs the checks in order and prints each as it is done.
type doctor struct {
	a      *app
	o      *options
	checks []check
}

func (d *doctor) add(c check) {
	d.checks = append(d.checks, c)
	if d.o.json {
		return
	}
	status := map[string]string{"ok": "OK  ", "fail": "FAIL", "skip": "SKIP"}[c.Status]
	fmt.Fprintf(d.a.stdout, "%s %s: %s\n", status, c.Name, c.Detail)
	if c.Try != "" {
		fmt.Fprintf(d.a.stdout, "     try: %s\n", c.Try)
	}
}

func (d *doctor) ok(name, format string, args ...any) {
	d.add(check{Name: name, Status: "ok", Detail: fmt.Sprintf(format, args...)})
}

func (d *doctor) skip(name, why string) { d.add(check{Name: name, Status: "skip", Detail: why}) }

// fail records a failure; try "" takes the CLI's usual remedy for err.
func (d *doctor) fail(name string, err error, try string) {
	if try == "" {
		try = hint(err, d.a.hints)
	}
	if try != "" {
		errclass.ClearRemedies(err)
	}
	d.add(check{Name: name, Status: "fail", Detail: err.Error(), Try: try, err: err})
}

// failed reports whether any check failed.
func (d *doctor) failed() bool {
	for _, c := range d.checks {
		if c.Status == "fail" {
			return true
		}
	}
	return false
}

// cmdDoctor checks, in order, what a file command needs, and says for
// each step OK or FAIL with what to do: the configuration file, the
// Kerberos settings, the realm of the server, each KDC (TCP, or the KDC
// proxy's TLS and its clock), the server's port 445, the tickets, then a
// real login, service ticket, session and tree connect.
func cmdDoctor(ctx context.Context, a *app, o *options, args []string) error {
	d := &doctor{a: a, o: o}
	a.hints.cmd = "doctor"
	var r remotePath
	haveServer := len(args) == 1
	if haveServer {
		var err error
		if r, err = parseRemote("doctor", args[0]); err != nil {
			return err
		}
		if r.share == "" {
			return usagef("doctor", "give a share too, //%s/SHARE: the last check connects to it", r.host)
		}
		if r.isAddress() && o.spn == "" {
			return usagef("doctor", "%s is an address, but Kerberos needs the server's name: write //NAME/%s with --addr NAME=%s", r.host, r.share, r.host)
		}
		a.hints.server = r.host
		a.hints.path = r.String()
	}
	d.configFile()
	cfg, err := krb5Config("doctor", o)
	if err != nil {
		d.fail("kerberos settings", err, "")
		return d.finish(r)
	}
	d.ok("kerberos settings", "%d realm(s) with KDCs: %s", len(cfg.Realms), realmNames(cfg))
	if o.entraConfigured() && !o.oauthWanted() {
		if err := a.addEntraRealm(ctx, "doctor", o, cfg); err != nil {
			d.fail("entra tenant", err, "")
			return d.finish(r)
		}
		d.ok("entra tenant", "%s: realm %s, KDC proxy %s", o.entraTenant, entra.KerberosRealm, entraKDC(cfg))
	}
	realm := ""
	if haveServer && !o.oauthWanted() {
		realm = d.realm(cfg, r.host)
	}
	if !o.oauthWanted() {
		d.kdcs(ctx, cfg, realm)
	}
	if haveServer {
		d.port445(ctx, r)
	}
	switch {
	case o.oauthWanted():
		d.oauthToken(ctx)
	case o.entraConfigured() && (realm == entra.KerberosRealm || !haveServer):
		d.entraSignIn()
	default:
		d.tickets(cfg)
	}
	if haveServer && !d.failed() {
		d.session(ctx, r)
	} else if haveServer {
		d.skip("login, service ticket, session", "an earlier step failed")
	} else {
		d.skip("server", "no //server/share given: only the settings, the KDCs and the tickets were checked")
	}
	return d.finish(r)
}

// finish prints the JSON (with --json) and returns the first failure.
func (d *doctor) finish(r remotePath) error {
	var first error
	for _, c := range d.checks {
		if c.err != nil {
			first = c.err
			break
		}
	}
	if d.o.json {
		j := doctorJSON{Checks: d.checks, Exit: exitCode(first)}
		if r.host != "" {
			j.Server = r.String()
		}
		if err := d.a.printJSON(j); err != nil {
			return err
		}
	}
	if first != nil {
		// Each failure was printed with its remedy: the last line only
		// says that doctor found one, with its class for the exit code.
		return &doctorFailed{first}
	}
	return nil
}

// doctorFailed is doctor's error: the class of the first failure, and a
// short message (the failure itself was shown with its step).
type doctorFailed struct{ first error }

func (e *doctorFailed) Error() string { return "a check failed (see above)" }
func (e *doctorFailed) Unwrap() error { return e.first }

func realmNames(cfg *krb5.Config) string {
	var s []string
	for _, r := range cfg.Realms {
		s = append(s, r.Name)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// configFile checks the configuration file: found, and not writable by
// others (who could point smbkrb at a KDC of theirs).
func (d *doctor) configFile() {
	path, _ := configPath(d.o, d.a.getenv)
	if path == "" {
		d.ok("configuration", "no configuration file: the flags say everything")
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		d.fail("configuration", err, "")
		return
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		d.fail("configuration", &errDoctor{msg: fmt.Sprintf("%s is writable by others (mode %04o): anyone could point smbkrb at a KDC of theirs", path, perm)},
			"chmod go-w "+path)
		return
	}
	d.ok("configuration", "%s (mode %04o)", path, fi.Mode().Perm())
}

// realm says which realm the server's service principal is in, and why,
// and that the realm has a KDC.
func (d *doctor) realm(cfg *krb5.Config, host string) string {
	if d.o.spn != "" {
		if _, realm, ok := strings.Cut(d.o.spn, "@"); ok {
			d.ok("realm", "%s, from --spn %s", realm, d.o.spn)
			return d.realmHasKDC(cfg, realm)
		}
	}
	m, ok := cfg.HostRealmFor(host)
	if !ok {
		d.ok("realm", "no mapping names %s: the KDC of the user's realm finds it by referrals", host)
		return ""
	}
	realm := m.Realm
	why := "the mapping " + m.Host + "=" + m.Realm
	if !strings.HasPrefix(m.Host, ".") {
		why = "the exact mapping " + m.Host + "=" + m.Realm
	}
	d.ok("realm", "%s is in %s, by %s", host, realm, why)
	return d.realmHasKDC(cfg, realm)
}

func (d *doctor) realmHasKDC(cfg *krb5.Config, realm string) string {
	for _, r := range cfg.Realms {
		if r.Name == realm && len(r.KDCs) > 0 {
			return realm
		}
	}
	d.fail("realm's KDC", &errDoctor{msg: "no KDC is known for " + realm, cause: krb5.ErrNoKDC},
		"give it one with --kdc "+realm+"=host:port or --kdc "+realm+"=https://proxy/KdcProxy (or a kdc line in the configuration file), or correct the mapping (--map)")
	return realm
}

// kdcs checks that each KDC answers and how far its clock is from this
// machine's: a probe AS-REQ (no secret in it) goes to the KDC by the way
// smbkrb reaches it, TCP or the KDC proxy (whose TLS certificate must be
// trusted), and the KRB-ERROR it gets back carries the KDC's time. With
// a realm, only its KDCs.
func (d *doctor) kdcs(ctx context.Context, cfg *krb5.Config, realm string) {
	skew := d.o.clockSkew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	for _, r := range cfg.Realms {
		if realm != "" && r.Name != realm {
			continue
		}
		for _, kdc := range r.KDCs {
			tctx, cancel := context.WithTimeout(ctx, min(d.o.timeout, 15*time.Second))
			d.probe(tctx, "KDC "+r.Name+" "+kdc, r.Name, kdc, skew)
			cancel()
		}
	}
}

// probe is kdcs for one KDC.
func (d *doctor) probe(ctx context.Context, name, realm, kdc string, skew time.Duration) {
	till := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	req, err := kerbmsg.MarshalProbeASReq(kerbmsg.PrincipalName{NameType: kerbmsg.NameTypePrincipal, NameString: []string{"smbkrb-doctor-probe"}},
		realm, uint32(time.Now().UnixNano())&math.MaxInt32, till, []int32{int32(krb5.AES256SHA1), int32(krb5.AES128SHA1)})
	if err != nil {
		d.fail(name, err, "")
		return
	}
	var reply []byte
	how := "TCP"
	if strings.HasPrefix(kdc, "https://") {
		how = "HTTPS (certificate trusted)"
		pool, err := rootCAs("doctor", d.o)
		if err != nil {
			d.fail(name, err, "")
			return
		}
		reply, err = (&kkdcp.Client{URL: kdc, RootCAs: pool}).Exchange(ctx, realm, req)
		if err != nil {
			if isTLSTrust(err) {
				d.fail(name, err, "the KDC proxy's certificate is not trusted: give its CA's certificate with --ca FILE (PEM)")
			} else {
				d.fail(name, err, "check the KDC proxy's URL and that this machine reaches it (HTTPS_PROXY if it must go through a proxy)")
			}
			return
		}
	} else {
		addr := kdc
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "88")
		}
		if reply, err = kkdcp.ExchangeTCP(ctx, nil, addr, req, 0); err != nil {
			d.fail(name, err, "check that the KDC's address is right and that this machine may reach its port (a firewall may reject port 88: a KDC proxy over HTTPS then works)")
			return
		}
	}
	e, err := kerbmsg.ParseError(reply)
	if err == nil && e.STime.IsZero() {
		err = errors.New("no stime in the KRB-ERROR")
	}
	if err != nil {
		d.ok(name, "reachable over %s; it answered, but not with the error whose time shows its clock (%v)", how, err)
		return
	}
	diff := time.Until(e.STime).Round(time.Second) // > 0: the KDC is ahead
	where := "ahead of"
	if diff < 0 {
		where = "behind"
	}
	clock := fmt.Sprintf("the KDC's clock is %v %s this machine's (tolerated: %v)", diff.Abs(), where, skew)
	if diff.Abs() > skew {
		d.fail(name+" clock", &errDoctor{msg: clock, cause: krb5.ErrClockSkew}, "")
		return
	}
	d.ok(name, "reachable over %s; %s", how, clock)
}

// entraKDC is the KDC of the Entra realm in cfg.
func entraKDC(cfg *krb5.Config) string {
	for _, r := range cfg.Realms {
		if r.Name == entra.KerberosRealm && len(r.KDCs) > 0 {
			return r.KDCs[0]
		}
	}
	return "none"
}

// entraSignIn checks the device registration and the saved sign-in.
func (d *doctor) entraSignIn() {
	dir, dev, err := d.o.entraDevice()
	if err != nil {
		d.fail("entra device", err, "")
		return
	}
	d.ok("entra device", "%s in tenant %s (%s)", dev.ID, dev.Tenant, dir)
	s, err := entra.LoadSignIn(dir, dev)
	if err != nil {
		d.fail("entra sign-in", err, "")
		return
	}
	defer s.Close()
	in := s.Info()
	tgt := "no cloud TGT"
	if !in.TGTEnd.IsZero() {
		tgt = "cloud TGT until " + in.TGTEnd.Local().Format(time.DateTime) + " (renewed on use before it ends)"
	}
	d.ok("entra sign-in", "%s, PRT until %s, %s", in.User, in.PRTExpires.Local().Format(time.DateTime), tgt)
}

// oauthToken checks that the SMB OAuth token source gives a token (the
// session below then exchanges it for a ticket).
func (d *doctor) oauthToken(ctx context.Context) {
	x, err := d.a.oauthCredentials("doctor", d.o)
	if err != nil {
		d.fail("oauth token", err, "")
		return
	}
	tctx, cancel := opCtx(ctx, d.o)
	defer cancel()
	tok, err := x.Tokens.Token(tctx)
	if err != nil {
		d.fail("oauth token", err, "")
		return
	}
	d.ok("oauth token", "an access token for Azure Storage, valid until %s", tok.ExpiresOn.Local().Format(time.DateTime))
}

// port445 checks that the server's address resolves and its SMB port
// answers.
func (d *doctor) port445(ctx context.Context, r remotePath) {
	srv := r.server(d.o)
	addr := srv.Addr
	if addr == "" {
		addr = srv.Name
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "445")
	}
	tctx, cancel := context.WithTimeout(ctx, min(d.o.timeout, 15*time.Second))
	defer cancel()
	var nd net.Dialer
	conn, err := nd.DialContext(tctx, "tcp", addr)
	if err != nil {
		try := "check the server's address (--addr " + r.host + "=ADDRESS) and that its port 445 is reachable from here"
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			try = "the name does not resolve here: give the address with --addr " + r.host + "=ADDRESS"
		}
		d.fail("server "+addr, err, try)
		return
	}
	conn.Close()
	d.ok("server "+addr, "TCP port reachable")
}

// tickets shows the cache's principal and TGTs.
func (d *doctor) tickets(cfg *krb5.Config) {
	if d.o.user != "" {
		d.skip("tickets", "--user "+d.o.user+": the login below gets them")
		return
	}
	k, err := krb5.NewContext(cfg)
	if err != nil {
		d.fail("tickets", err, "")
		return
	}
	defer k.Close()
	_, principal, tickets, err := readCache(k, d.a.cacheName(d.o))
	if err != nil {
		d.fail("tickets", err, "log in first with smbkrb kinit PRINCIPAL, or pass --user PRINCIPAL")
		return
	}
	now := time.Now()
	var tgts []string
	for _, t := range tickets {
		if strings.HasPrefix(t.Server, "krbtgt/") && t.EndTime.After(now) {
			tgts = append(tgts, fmt.Sprintf("%s until %s (%v)", t.Server, t.EndTime.Local().Format(time.DateTime), t.KeyEnctype))
		}
	}
	if len(tgts) == 0 {
		d.fail("tickets", &errDoctor{msg: "the cache " + d.a.cacheName(d.o) + " of " + principal + " holds no valid ticket-granting ticket", cause: krb5.ErrNoCredentials},
			"log in again with smbkrb kinit "+principal)
		return
	}
	d.ok("tickets", "%s: %s", principal, strings.Join(tgts, "; "))
}

// session logs in as a file command would (the tickets, or --user),
// gets the service ticket, sets up the session and connects to the share.
func (d *doctor) session(ctx context.Context, r remotePath) {
	c, err := d.a.connect(ctx, "doctor", d.o, r)
	if err != nil {
		name := "session"
		var se *smb.Error
		if errors.As(err, &se) {
			name = se.Op
		}
		d.fail(name, err, "")
		return
	}
	defer c.Close()
	in := c.sess.Info()
	d.ok("service ticket", "%s for %s (session key %v, ticket %v), valid until %s", in.SPN, in.Client,
		in.Ticket.KeyEnctype, in.Ticket.TicketEnctype, in.Ticket.EndTime.Local().Format(time.DateTime))
	cipher := in.Cipher
	if cipher == "" {
		cipher = "none offered"
	}
	d.ok("session", "SMB %s at %s, signing %s, cipher %s, session encrypted %v, set up in %v",
		in.Dialect, in.Addr, in.Signing, cipher, in.Encrypted, in.SetupTime.Round(time.Millisecond))
	si := c.share.Info()
	prot := "signed, not encrypted"
	if si.Encrypted {
		prot = "encrypted"
	}
	d.ok("tree connect", "share %s: %s", si.Name, prot)
}
