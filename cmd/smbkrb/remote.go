package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/smb"
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
	cc      *krb5.CCache
	sess    *smb.Session
	share   *smb.Share
	release func() // closes or destroys the cache
}

// Close disconnects and releases everything.
func (c *conn) Close() {
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
	// A server in the Entra realm (an Azure Files account under
	// .file.core.windows.net, unless a map says otherwise) is reached
	// with the saved Entra sign-in, in its own cache.
	viaEntra := false
	if o.entraConfigured() {
		if err := a.addEntraRealm(ctx, cmd, o, cfg); err != nil {
			return nil, err
		}
		viaEntra = o.user == "" && serverRealm(cfg, o, r) == entra.KerberosRealm
	}
	var creds smb.Credentials
	var forget func()
	viaOAuth := o.oauthWanted()
	if viaOAuth {
		viaEntra = false
		var x *entra.SMBOAuth
		if x, err = a.oauthCredentials(cmd, o); err == nil {
			creds, forget = x, func() {}
		}
	} else if viaEntra {
		var ec *entra.Credentials
		ec, forget, err = a.entraCredentials(cmd, o)
		if err == nil {
			creds = ec
		}
	} else {
		creds, forget, err = a.credentials(cmd, o)
	}
	if err != nil {
		return nil, err
	}
	defer forget()
	k, err := krb5.NewContext(cfg)
	if err != nil {
		return nil, err
	}
	c := &conn{k: k}
	if viaEntra || viaOAuth {
		var name string
		if viaOAuth {
			name, err = o.oauthCacheName()
			if p := cacheFile(name); err == nil && p != "" {
				err = os.MkdirAll(filepath.Dir(p), 0o700)
			}
		} else {
			name, err = o.entraCacheName()
		}
		if err == nil {
			c.cc, err = k.OpenCCache(name)
			c.release = func() { c.cc.Close() }
		}
	} else {
		c.cc, c.release, err = a.openCache(k, o, o.user != "")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	a.hints.cache = c.cc.Name()
	if o.user != "" {
		a.hints.principal = o.user
	} else if p, err := c.cc.Principal(); err == nil {
		a.hints.principal = p
	}
	a.logf("credential cache %s", c.cc.Name())
	if creds != nil {
		a.logf("credentials: %v", creds)
	}
	srv := r.server(o)
	if viaOAuth && srv.Realm == "" && !strings.Contains(srv.SPN, "@") {
		// SMB OAuth tickets are of the storage service's own realm.
		srv.Realm = entra.FilesRealm
	}
	d := &smb.Dialer{
		Kerberos:    k,
		CCache:      c.cc,
		Credentials: creds,
		Encrypt:     o.encrypt,
		Transfer:    smb.TransferOptions{Parallel: o.parallel, ChunkSize: o.chunk.n},
	}
	tctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	c.sess, err = d.Dial(tctx, srv)
	forget()
	if err != nil {
		c.Close()
		return nil, err
	}
	if o.user != "" || viaEntra || viaOAuth {
		// A login (or a refreshed Entra TGT) wrote into the cache.
		if err := tightenCache(c.cc.Name()); err != nil {
			c.Close()
			return nil, err
		}
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

// serverRealm is the realm of r's service principal: the one --spn names,
// else the host mapping's.
func serverRealm(cfg *krb5.Config, o *options, r remotePath) string {
	if i := strings.LastIndexByte(o.spn, '@'); i >= 0 {
		return o.spn[i+1:]
	}
	return cfg.RealmForHost(r.host)
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
