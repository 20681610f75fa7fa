package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
	"github.com/smbkrb/smbkrb/smboauth"
)

// isAddress reports whether the server is named by an IP address.
func (r remotePath) isAddress() bool { return net.ParseIP(strings.Trim(r.host, "[]")) != nil }

// remotePath is a parsed //server/share/path.
type remotePath struct {
	host  string // the server's name
	port  string // "" unless given as //server:port/...
	share string
	path  string // within the share, "/"-separated, "" for the root
	// dirSyntax is set when the path ended in "/": it names a directory.
	dirSyntax bool
}

// parseRemote parses //server/share[/path]; "\\server\share\path" and
// smb://server/share/path are accepted too.
func parseRemote(cmd, s string) (remotePath, error) {
	orig := s
	s = strings.ReplaceAll(s, `\`, "/")
	switch {
	case strings.HasPrefix(s, "smb://"):
		s = s[len("smb://"):]
	case strings.HasPrefix(s, "//"):
		s = s[2:]
	default:
		return remotePath{}, usagef(cmd, "%q is not a remote path: write //server/share/path", orig)
	}
	var r remotePath
	server, rest, _ := strings.Cut(s, "/")
	share, p, _ := strings.Cut(rest, "/")
	if server == "" {
		return remotePath{}, usagef(cmd, "%q has no server name: write //server/share/path", orig)
	}
	if share == "" {
		return remotePath{}, usagef(cmd, "%q names no share: write //server/share/path (smbkrb does not list a server's shares)", orig)
	}
	r.host = server
	if h, port, err := net.SplitHostPort(server); err == nil {
		r.host, r.port = h, port
	}
	r.share = share
	r.dirSyntax = strings.HasSuffix(p, "/")
	r.path = strings.TrimPrefix(path.Clean("/"+p), "/")
	return r, nil
}

// String is the path in //server/share/path form.
func (r remotePath) String() string {
	s := "//" + r.host
	if r.port != "" {
		s = "//" + net.JoinHostPort(r.host, r.port)
	}
	s += "/" + r.share
	if r.path != "" {
		s += "/" + r.path
	}
	return s
}

// join is r with elem appended to its path.
func (r remotePath) join(elem string) remotePath {
	r.path = strings.TrimPrefix(path.Join(r.path, elem), "/")
	r.dirSyntax = false
	return r
}

// base is the last element of the path, or "" at the share root.
func (r remotePath) base() string {
	if r.path == "" {
		return ""
	}
	return path.Base(r.path)
}

// server is the smb.Server for r under the settings: --addr picks the
// address, --spn the service principal.
func (r remotePath) server(o *options) smb.Server {
	s := smb.Server{Name: r.host, SPN: o.spn}
	if a, ok := o.addrs.lookup(r.host); ok {
		s.Addr = a
	}
	if r.port != "" {
		host := s.Addr
		if host == "" {
			host = r.host
		}
		if _, _, err := net.SplitHostPort(host); err != nil {
			s.Addr = net.JoinHostPort(strings.Trim(host, "[]"), r.port)
		}
	}
	return s
}

// conn is a connected share and what it needs.
type conn struct {
	k       *krb5.Context
	cc      *krb5.CCache // the cache the session's tickets are in
	sess    *smb.Session
	share   *smb.Share
	release func() // closes or destroys the caches

	caches map[string]*krb5.CCache // every cache the dialer may choose, by name
	forget func()                  // zeroes the password, closes a loaded Entra sign-in
}

// addCache keeps cc among the caches the dialer may choose; release
// closes or destroys it with the others.
func (c *conn) addCache(cc *krb5.CCache, release func()) {
	if c.caches == nil {
		c.caches = map[string]*krb5.CCache{}
	}
	c.caches[cc.Name()] = cc
	prev := c.release
	c.release = func() {
		release()
		if prev != nil {
			prev()
		}
	}
}

// dialer is the Dialer of a file command: the credential sources the
// settings allow, as a list the library chooses from by the server's
// realm. SMB OAuth (an application or a managed identity) serves every
// server, its tickets of the storage service's own realm. Otherwise the
// default is the --user login (in a MEMORY: cache unless --cache says
// otherwise) or the cache's tickets; and with an Entra tenant configured
// and no --user, servers in the Entra realm (Azure Files accounts, unless a
// map says otherwise) get the saved Entra sign-in in its own cache, loaded
// only when a dial needs it.
func (a *app) dialer(cmd string, o *options, c *conn, srv *smb.Server) (*smb.Dialer, error) {
	d := &smb.Dialer{
		Kerberos: c.k,
		Encrypt:  o.encrypt,
		Transfer: smb.TransferOptions{Parallel: o.parallel, ChunkSize: o.chunk.n},
	}
	c.forget = func() {}
	if o.oauthWanted() {
		x, err := a.oauthCredentials(cmd, o)
		if err != nil {
			return nil, err
		}
		name, err := o.oauthCacheName()
		if p := cacheFile(name); err == nil && p != "" {
			err = os.MkdirAll(filepath.Dir(p), 0o700)
		}
		if err != nil {
			return nil, err
		}
		cc, err := c.k.OpenCCache(name)
		if err != nil {
			return nil, err
		}
		c.addCache(cc, func() { cc.Close() })
		d.Credentials, d.CCache = x, cc
		if srv.Realm == "" && !strings.Contains(srv.SPN, "@") {
			srv.Realm = smboauth.FilesRealm
		}
		return d, nil
	}
	creds, forget, err := a.credentials(cmd, o)
	if err != nil {
		return nil, err
	}
	c.forget = forget
	cc, release, err := a.openCache(c.k, o, o.user != "")
	if err != nil {
		return nil, err
	}
	c.addCache(cc, release)
	d.Credentials, d.CCache = creds, cc
	if o.entraConfigured() && o.user == "" {
		name, err := o.entraCacheName()
		if err != nil {
			return nil, err
		}
		ecc, err := c.k.OpenCCache(name)
		if err != nil {
			return nil, err
		}
		c.addCache(ecc, func() { ecc.Close() })
		lazy := &lazyCredentials{what: "the saved Entra sign-in", build: func() (smb.Credentials, func(), error) {
			return a.entraCredentials(cmd, o)
		}}
		prev := c.forget
		c.forget = func() { lazy.forget(); prev() }
		d.Realms = append(d.Realms, smb.RealmCredentials{Realm: entra.KerberosRealm, Credentials: lazy, CCache: ecc})
	}
	return d, nil
}

// lazyCredentials builds its source on the first Acquire: a saved sign-in
// that only some servers need is not loaded for the others.
type lazyCredentials struct {
	what  string
	build func() (smb.Credentials, func(), error)

	mu     sync.Mutex
	c      smb.Credentials
	closer func()
}

func (l *lazyCredentials) Acquire(ctx context.Context, k *krb5.Context, cc *krb5.CCache, spn string) error {
	l.mu.Lock()
	if l.c == nil {
		c, closer, err := l.build()
		if err != nil {
			l.mu.Unlock()
			return err
		}
		l.c, l.closer = c, closer
	}
	c := l.c
	l.mu.Unlock()
	return c.Acquire(ctx, k, cc, spn)
}

func (l *lazyCredentials) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		return l.c.String()
	}
	return l.what
}

// forget releases what build made, if it ran.
func (l *lazyCredentials) forget() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closer != nil {
		l.closer()
		l.closer = nil
	}
}

// Close disconnects and releases everything.
func (c *conn) Close() {
	if c.forget != nil {
		c.forget()
		c.forget = nil
	}
	if c.share != nil {
		c.share.Close()
	}
	if c.sess != nil {
		c.sess.Close()
	}
	if c.release != nil {
		c.release()
	}
	if c.k != nil {
		c.k.Close()
	}
}

// kerberos creates the library context from the settings.
func (a *app) kerberos(cmd string, o *options) (*krb5.Context, error) {
	cfg, err := krb5Config(cmd, o)
	if err != nil {
		return nil, err
	}
	return krb5.NewContext(cfg)
}

// connect logs in as the settings say, connects to r's server and mounts
// its share. --timeout bounds it all.
func (a *app) connect(ctx context.Context, cmd string, o *options, r remotePath) (*conn, error) {
	// The settings are checked before a password is asked for.
	cfg, err := krb5Config(cmd, o)
	if err != nil {
		return nil, err
	}
	if err := checkPrincipal(cmd, o.user, cfg); err != nil {
		return nil, err
	}
	if o.entraConfigured() {
		if err := a.addEntraRealm(ctx, cmd, o, cfg); err != nil {
			return nil, err
		}
	}
	k, err := krb5.NewContext(cfg)
	if err != nil {
		return nil, err
	}
	c := &conn{k: k}
	srv := r.server(o)
	d, err := a.dialer(cmd, o, c, &srv)
	// A mount lives for days: it keeps the password (in memory only) to
	// log in again when its ticket-granting ticket ends, and forgets it
	// when the mount ends. Every other command forgets it after the dial.
	keep := o.keepLogin
	defer func() {
		if c.forget != nil && !keep {
			c.forget()
		}
	}()
	if err != nil {
		c.Close()
		return nil, err
	}
	// What the dial will use, for the remedies of its errors.
	creds, cc := d.CredentialsFor(srv)
	a.hints.cache = cc.Name()
	if o.user != "" {
		a.hints.principal = o.user
	} else if p, err := cc.Principal(); err == nil {
		a.hints.principal = p
	}
	a.logf("credentials: %v, credential cache %s", creds, cc.Name())
	tctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	c.sess, err = d.Dial(tctx, srv)
	if !keep {
		c.forget()
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.cc = c.caches[c.sess.Info().CCache]
	// A login (or a refreshed Entra TGT, a new SMB OAuth ticket) may have
	// written into the cache.
	if err := tightenCache(c.cc.Name()); err != nil {
		c.Close()
		return nil, err
	}
	if o.verbose {
		a.logSession(c)
	}
	c.share, err = c.sess.Mount(tctx, r.share)
	if err != nil {
		c.Close()
		return nil, err
	}
	if o.verbose {
		si := c.share.Info()
		prot := "signed, not encrypted"
		if si.Encrypted {
			prot = "encrypted"
		}
		a.logf("share %s: %s", si.Name, prot)
	}
	return c, nil
}

func (a *app) logSession(c *conn) {
	in := c.sess.Info()
	a.logf("principal %s", in.Client)
	if tickets, err := c.cc.Credentials(); err == nil {
		for _, t := range tickets {
			a.logf("ticket %s: session key %v, ticket %v, flags %s, valid until %s",
				t.Server, t.KeyEnctype, t.TicketEnctype, t.Flags, t.EndTime.Local().Format(time.DateTime))
		}
	}
	cipher := in.Cipher
	if cipher == "" {
		cipher = "none offered"
	}
	a.logf("server %s at %s (SPN %s): SMB %s, signing %s, cipher %s, session encrypted %v; set up in %v (tickets %v)",
		in.Server, in.Addr, in.SPN, in.Dialect, in.Signing, cipher, in.Encrypted,
		in.SetupTime.Round(time.Millisecond), in.TicketTime.Round(time.Millisecond))
}

// opCtx bounds one metadata operation by --timeout.
func opCtx(ctx context.Context, o *options) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, o.timeout)
}

// describe names an operation on r for error messages.
func describe(cmd string, r remotePath) string {
	return fmt.Sprintf("%s %s", cmd, r)
}

// checkPrincipal refuses a principal without a realm when no default
// realm is set.
func checkPrincipal(cmd, principal string, cfg *krb5.Config) error {
	if principal == "" || strings.Contains(principal, "@") || cfg.DefaultRealm != "" {
		return nil
	}
	return settingf(cmd, "write the principal as "+principal+"@REALM, or set the default realm with --realm REALM",
		"%s has no realm, and no default realm is set", principal)
}
