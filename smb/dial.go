package smb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/smbkrb/smbkrb/krb5"
)

// Dialer opens Kerberos-authenticated SMB3 sessions. Its zero value is
// not usable: Kerberos and CCache are required. The policy is fixed where
// it matters: Kerberos only (there is no NTLM code in smbkrb), mutual
// authentication, and every message after session setup signed or
// encrypted. A Dialer may be used by several goroutines at once and must
// not be modified after its first Dial.
type Dialer struct {
	// Kerberos is the library context: realms, KDCs or KDC proxy URLs,
	// host-to-realm mappings, enctypes. Required.
	Kerberos *krb5.Context
	// CCache holds the tickets: the TGT after a login and the service
	// tickets. Required; krb5.Context.NewMemoryCCache keeps them off disk.
	CCache *krb5.CCache
	// Credentials fills CCache when it lacks what a dial needs. Nil means
	// Cache(): use what is in CCache and never log in.
	Credentials Credentials
	// Encrypt requires encryption on every share: a share the server does
	// not encrypt is refused with ErrPolicy. Without it, shares whose
	// server requires encryption are encrypted and others are signed.
	Encrypt bool
	// NetDial opens the TCP connection to the server; nil means a
	// net.Dialer. Tests use it to dial from another network namespace.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Transfer sets the defaults of Get and Put; see TransferOptions.
	Transfer TransferOptions
}

// Server names an SMB server. The service principal comes from Name, the
// TCP connection goes to Addr: connect to an address and still ask for a
// ticket for the name the server is registered under.
type Server struct {
	// Name is the server's DNS name, such as "fs1.lab.test" or
	// "acct.file.core.windows.net". Required. It is never resolved when
	// Addr is set, and never canonicalized.
	Name string
	// Addr is host or host:port to connect to; "" means Name, and the
	// port defaults to 445.
	Addr string
	// SPN overrides the service principal, "cifs/<Name>" by default; for
	// a private-link name give the storage account's own name
	// ("cifs/acct.file.core.windows.net"). It may carry "@REALM".
	SPN string
	// Realm is the service principal's realm when SPN has none; "" means
	// the host-to-realm mappings of the Kerberos context decide (and
	// without a mapping, the KDC's referrals).
	Realm string
}

func (s Server) spn() string {
	spn := s.SPN
	if spn == "" {
		spn = "cifs/" + s.Name
	}
	if s.Realm != "" && !strings.Contains(spn, "@") {
		spn += "@" + s.Realm
	}
	return spn
}

func (s Server) addr() string {
	a := s.Addr
	if a == "" {
		a = s.Name
	}
	if _, _, err := net.SplitHostPort(a); err != nil {
		a = net.JoinHostPort(strings.Trim(a, "[]"), "445")
	}
	return a
}

// SessionInfo describes an established session.
type SessionInfo struct {
	// Server is the server name; Addr the address connected to.
	Server, Addr string
	// Client is the authenticated principal, SPN the service principal
	// the ticket was for.
	Client, SPN string
	// Ticket is the service ticket used (times, flags, enctypes).
	Ticket krb5.CredentialInfo
	// Dialect is the SMB dialect, such as "3.1.1".
	Dialect string
	// Signing is the signing algorithm, such as "AES-128-CMAC".
	Signing string
	// Cipher is the negotiated cipher, such as "AES-128-GCM"; "" if the
	// server offered none. Whether a share is encrypted is in
	// ShareInfo.Encrypted.
	Cipher string
	// Encrypted reports that the server encrypts the whole session.
	Encrypted bool
	// SetupTime is the time from the start of Dial to the established
	// session; TicketTime the part of it spent getting tickets.
	SetupTime, TicketTime time.Duration
	// Renewals is how often the session authenticated again because the
	// server expired it (see Session).
	Renewals int
}

// Session is an authenticated SMB session. Its methods may be called from
// several goroutines at once.
//
// When the server ends the session because its ticket expired
// (STATUS_NETWORK_SESSION_EXPIRED), the Session authenticates again with a
// new ticket from the Dialer's credentials, on a new connection, and the
// operation that met the expiry is retried once: shares are mounted again
// and open files reopened at their offsets (reads and writes are at
// explicit offsets, so a transfer goes on where it was). A long-running
// process therefore keeps its Session across ticket lifetimes, as long as
// its credentials can give new tickets (a renewed TGT, an Entra refresh,
// an SMB OAuth exchange).
type Session struct {
	d    Dialer // a copy, for authenticating again
	srv  Server
	xfer TransferOptions
	enc  bool

	mu     sync.Mutex
	c      *engineConn // the current connection and session
	gen    int         // incremented with every new connection
	closed bool
	renews int
}

// engineConn is one connection and the engine's session on it.
type engineConn struct {
	s    *smb2.Session
	wire *wireConn
	ini  *gssInitiator
	info SessionInfo
}

// current is the session's connection and its generation.
func (s *Session) current() (*engineConn, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, net.ErrClosed
	}
	return s.c, s.gen, nil
}

// renew replaces the connection of generation gen, which the server
// expired, with a new one: a new ticket if the cache needs one (the
// Dialer's credentials), a new connection, a new session. If another
// goroutine renewed it already, renew does nothing.
func (s *Session) renew(ctx context.Context, gen int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	if s.gen != gen {
		return nil
	}
	c, err := s.d.dial(ctx, s.srv)
	if err != nil {
		return err
	}
	old := s.c
	s.c, s.gen = c, s.gen+1
	s.renews++
	// The old session is gone on the server; its connection is closed
	// without a logoff.
	old.wire.Close()
	old.ini.close()
	return nil
}

// retryable reports whether an operation on the connection of generation
// gen that failed with err should be tried again on a renewed session:
// the server expired the session, or another goroutine already renewed it
// (and closed the old connection under the operation).
func (s *Session) retryable(err error, gen int) bool {
	if err == nil {
		return false
	}
	if expired(err) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.gen != gen
}

// expired reports the server's answer that the session's ticket expired.
func expired(err error) bool {
	return err != nil && errors.Is(engineError(err), ErrSessionExpired)
}

// Dial gets a service ticket for srv (logging in with d.Credentials if
// the cache needs it), connects, and sets up a signed Kerberos session.
// ctx bounds the whole dial; the session outlives it.
func (d *Dialer) Dial(ctx context.Context, srv Server) (*Session, error) {
	c, err := d.dial(ctx, srv)
	if err != nil {
		return nil, err
	}
	return &Session{d: *d, srv: srv, xfer: d.Transfer.withDefaults(), enc: d.Encrypt, c: c}, nil
}

// dial is Dial's work: the ticket, the connection, the session setup.
func (d *Dialer) dial(ctx context.Context, srv Server) (*engineConn, error) {
	start := time.Now()
	fail := func(op string, err error) (*engineConn, error) {
		return nil, &Error{Op: op, Server: srv.Name, Err: err}
	}
	if d.Kerberos == nil || d.CCache == nil {
		return fail("dial", errors.New("Dialer.Kerberos and Dialer.CCache are required"))
	}
	if srv.Name == "" {
		return fail("dial", errors.New("Server.Name is required: the service principal comes from it"))
	}
	if net.ParseIP(strings.Trim(srv.Name, "[]")) != nil && srv.SPN == "" {
		return fail("dial", fmt.Errorf("%s is an address: Kerberos needs the server's name (put the address in Server.Addr and the name in Server.Name)", srv.Name))
	}
	spn := srv.spn()
	creds := d.Credentials
	if creds == nil {
		creds = Cache()
	}

	// Every dial asks the credentials: each source returns at once when
	// the cache is good, and replaces what nears its end (an SMB OAuth
	// ticket, an Entra TGT) before the server would expire the session.
	if err := creds.Acquire(ctx, d.Kerberos, d.CCache, spn); err != nil {
		return fail("login", fmt.Errorf("%v: %w", creds, err))
	}
	sc, err := d.Kerberos.NewInitiator(ctx, d.CCache, spn, nil)
	if err != nil {
		if errors.Is(err, krb5.ErrPrincipalUnknown) {
			err = principalUnknownHint(err, srv, spn)
		}
		return fail("service ticket", fmt.Errorf("%s: %w", spn, err))
	}
	ticketTime := time.Since(start)
	ini := newGSSInitiator(sc)

	dial := d.NetDial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	addr := srv.addr()
	tcp, err := dial(ctx, "tcp", addr)
	if err != nil {
		ini.close()
		return fail("connect", fmt.Errorf("%s: %w", addr, err))
	}
	w := &wireConn{Conn: tcp}
	// The engine takes its deadline from ctx only for its own waits; the
	// socket deadline makes a silent server fail the dial too.
	if dl, ok := ctx.Deadline(); ok {
		tcp.SetDeadline(dl)
	}
	sd := &smb2.Dialer{
		Negotiator: smb2.Negotiator{RequireMessageSigning: true},
		Initiator:  ini,
	}
	es, err := sd.DialConn(ctx, w, srv.Name)
	tcp.SetDeadline(time.Time{})
	if err != nil {
		tcp.Close()
		ini.close()
		return fail("session setup", setupError(err, w, ini, spn))
	}
	w.arm()
	st := w.state()
	if st.sessionFlags&(sessionFlagGuest|sessionFlagNull) != 0 {
		es.Logoff()
		ini.close()
		return fail("session setup", fmt.Errorf("%w: the server made a guest or anonymous session", ErrPolicy))
	}
	if st.dialect < 0x0300 && d.Encrypt {
		es.Logoff()
		ini.close()
		return fail("session setup", fmt.Errorf("%w: encryption was required but the server speaks SMB %s, which has none", ErrPolicy, dialectName(st.dialect)))
	}
	client, _ := d.CCache.Principal()
	ticket, _ := d.Kerberos.CachedCredentials(d.CCache, spn)
	c := &engineConn{
		s: es, wire: w, ini: ini,
		info: SessionInfo{
			Server: srv.Name, Addr: addr, Client: client, SPN: ticket.Server,
			Ticket: ticket, Dialect: dialectName(st.dialect), Signing: signingName(st.dialect),
			Cipher: cipherName(st.cipher), Encrypted: st.sessionFlags&sessionFlagEncrypt != 0,
			SetupTime: time.Since(start), TicketTime: ticketTime,
		},
	}
	if c.info.SPN == "" {
		c.info.SPN = spn
	}
	return c, nil
}

// principalUnknownHint says what to check when the KDC does not know the
// service principal: Entra explains itself in the KRB-ERROR's text.
func principalUnknownHint(err error, srv Server, spn string) error {
	name := strings.SplitN(spn, "@", 2)[0]
	var ke *krb5.Error
	if errors.As(err, &ke) && strings.Contains(ke.KDCText, "AADSTS700016") {
		if strings.HasPrefix(name, "cifs/") {
			return fmt.Errorf("%w (Microsoft Entra has no application for %s: enable Microsoft Entra Kerberos on that storage account, or check that it belongs to this tenant; an account that uses AD DS needs its own realm mapping)", err, name)
		}
		return fmt.Errorf("%w (Microsoft Entra matches service principals case-sensitively: use %s)", err, "cifs/"+name[strings.IndexByte(name, '/')+1:])
	}
	return fmt.Errorf("%w (no account in the directory has this service principal: is %q the name the server is registered under? setspn -Q %s shows it on Windows; for an alias or private-link name set Server.SPN to the registered one)", err, srv.Name, name)
}

// setupError explains a failed session setup from what the wire showed.
func setupError(err error, w *wireConn, ini *gssInitiator, spn string) error {
	if f := w.failure(); f != nil {
		return fmt.Errorf("%w: %v", ErrPolicy, f)
	}
	if gerr := ini.failure(); gerr != nil {
		return gerr
	}
	st := w.state()
	if st.setupStatus != 0 && st.setupStatus != uint32(StatusMoreProcessing) {
		return Status(st.setupStatus)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the server did not answer in time: %w", context.DeadlineExceeded)
	}
	return engineError(err)
}

// Info describes the session: its current connection, ticket and
// protection, and how often it authenticated again (Renewals).
func (s *Session) Info() SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.c.info
	in.Renewals = s.renews
	return in
}

// Close logs off and closes the connection. Open shares and files become
// unusable.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	c := s.c
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.s.WithContext(ctx).Logoff()
	c.ini.close()
	if err != nil && !errors.Is(err, net.ErrClosed) && !expired(err) {
		return &Error{Op: "logoff", Server: c.info.Server, Err: engineError(err)}
	}
	return nil
}

// Mount connects to a share of the server. ctx bounds the tree connect.
func (s *Session) Mount(ctx context.Context, share string) (*Share, error) {
	share = strings.Trim(share, `/\`)
	if share == "" || strings.ContainsAny(share, `/\`) {
		return nil, &Error{Op: "mount", Server: s.srv.Name, Path: share, Err: errors.New("a share name is one path element, such as \"data\"")}
	}
	sh := &Share{sess: s, name: share}
	if _, _, err := sh.engine(ctx); err != nil {
		return nil, err
	}
	return sh, nil
}

// mount connects to share on connection c (of generation gen).
func (s *Session) mount(ctx context.Context, c *engineConn, gen int, share string) (*smb2.Share, bool, error) {
	fail := func(err error) (*smb2.Share, bool, error) {
		return nil, false, &Error{Op: "mount", Server: s.srv.Name, Path: share, Err: err}
	}
	for attempt := 0; ; attempt++ {
		c.wire.mu.Lock()
		c.wire.st.lastTree, c.wire.st.lastTreeFlag = 0, 0
		c.wire.mu.Unlock()
		es, err := c.s.WithContext(ctx).Mount(share)
		if err != nil && attempt == 0 && expired(err) {
			if rerr := s.renew(ctx, gen); rerr != nil {
				return nil, false, rerr
			}
			if c, gen, err = s.current(); err != nil {
				return fail(err)
			}
			continue
		}
		if err != nil {
			if f := c.wire.failure(); f != nil {
				err = fmt.Errorf("%w: %v", ErrPolicy, f)
			} else {
				err = engineError(err)
			}
			return fail(err)
		}
		st := c.wire.state()
		// A TREE_CONNECT response the wire could not read was sealed: only
		// an encrypting server seals it.
		encrypted := st.lastTree == 0 || st.lastTreeFlag&shareFlagEncrypt != 0 || st.sessionFlags&sessionFlagEncrypt != 0
		if s.enc && !encrypted {
			es.Umount()
			return fail(fmt.Errorf(
				"%w: encryption was required, but the server does not encrypt this share and smbkrb's SMB engine encrypts only shares the server marks for encryption (Samba: smb encrypt = required; Windows: Set-SmbShare -EncryptData $true; Azure Files: require SMB encryption in transit)", ErrPolicy))
		}
		return es, encrypted, nil
	}
}
