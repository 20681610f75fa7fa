package smb

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smbkrb/smbkrb/smb/internal/smb2"
	"github.com/smbkrb/smbkrb/smb/internal/smb3crypto"
	"github.com/smbkrb/smbkrb/smb/internal/wire"

	"github.com/smbkrb/smbkrb/krb5"
)

// Dialer opens Kerberos-authenticated SMB3 sessions. Its zero value is
// not usable: Kerberos is required. The policy is fixed where
// it matters: Kerberos only (there is no NTLM code in smbkrb), mutual
// authentication, SMB 3.0 or later, and every message after session setup
// signed or encrypted. A Dialer may be used by several goroutines at once and must
// not be modified after its first Dial.
type Dialer struct {
	// Kerberos is the library context: realms, KDCs or KDC proxy URLs,
	// host-to-realm mappings, enctypes. Required.
	Kerberos *krb5.Context
	// CCache holds the tickets: the TGT after a login and the service
	// tickets. Nil means a fresh MEMORY: cache for each Session, which its
	// Close destroys; give one cache (krb5.Context.NewMemoryCCache keeps
	// it off disk) to share a login across sessions. With a nil CCache,
	// Credentials must be able to log in: Cache() has nothing to use.
	CCache *krb5.CCache
	// Credentials fills CCache when it lacks what a dial needs. Nil means
	// Cache(): use what is in CCache and never log in. FirstOf tries
	// several sources in order.
	Credentials Credentials
	// Realms chooses the credentials and the cache by the realm of the
	// server's service principal (from Server.SPN or Server.Realm, else
	// the Kerberos context's host-to-realm mappings): the first entry of
	// that realm serves the dial, as Windows keeps an AD DS account and
	// an Entra account side by side. Servers of other realms, and servers
	// whose realm no mapping names (left to the KDC's referrals), use
	// Credentials and CCache.
	Realms []RealmCredentials
	// Encrypt encrypts the whole session, whatever the server asks: every
	// request after session setup is encrypted and every response must be.
	// A server with no cipher in common fails the dial with ErrPolicy.
	// Without it, the session or the shares the server marks for
	// encryption are encrypted and the rest is signed.
	Encrypt bool
	// Ciphers are the encryption algorithms offered, in order of
	// preference; nil means AES-128-GCM, AES-256-GCM, AES-128-CCM,
	// AES-256-CCM. []Cipher{AES256GCM} demands AES-256-GCM (an Azure Files
	// account on "maximum security"): a server without it cannot encrypt,
	// so shares that need encryption (or any share, with Encrypt) fail
	// with ErrPolicy.
	Ciphers []Cipher
	// DialContext opens the TCP connection to the server; nil means a
	// net.Dialer. Tests use it to dial from another network namespace.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
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
	// CCache is the name of the cache the session's tickets are in: the
	// Dialer's, or that of the Realms entry chosen for the server.
	CCache string
	// Ticket is the service ticket used (times, flags, enctypes).
	Ticket krb5.CredentialInfo
	// Dialect is the SMB dialect, such as "3.1.1".
	Dialect string
	// Signing is the signing algorithm, such as "AES-128-GMAC".
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
	// SessionID is the server's id of the session; re-authentication
	// keeps it.
	SessionID uint64
	// Renewals is how often the session authenticated again because the
	// server expired it or its ticket neared its end (see Session).
	Renewals int
	// Reconnects is how often the session was set up again on a new
	// connection because the old one was lost; Resumed how many open
	// files then carried on by their durable handle (the others were
	// opened again by name).
	Reconnects, Resumed int
	// ReadDepth and WriteDepth are the requests in flight that the last
	// measured Get and Put kept, 1 or TransferOptions.Parallel (see
	// TransferOptions.Fixed); 0 before a transfer was long enough to
	// measure.
	ReadDepth, WriteDepth int
}

// Cipher is an SMB 3 encryption algorithm (MS-SMB2 2.2.3.1.2).
type Cipher uint16

// The ciphers of SMB 3.x. AES-256 uses the whole 32-byte Kerberos session
// key.
const (
	AES128CCM Cipher = Cipher(smb3crypto.CipherAES128CCM)
	AES128GCM Cipher = Cipher(smb3crypto.CipherAES128GCM)
	AES256CCM Cipher = Cipher(smb3crypto.CipherAES256CCM)
	AES256GCM Cipher = Cipher(smb3crypto.CipherAES256GCM)
)

func (c Cipher) String() string { return smb3crypto.CipherName(uint16(c)) }

// ParseCipher reads a cipher's name, such as "AES-256-GCM" (any case).
func ParseCipher(name string) (Cipher, error) {
	for _, c := range []Cipher{AES128GCM, AES256GCM, AES128CCM, AES256CCM} {
		if strings.EqualFold(c.String(), name) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown cipher %q (AES-128-GCM, AES-256-GCM, AES-128-CCM or AES-256-CCM)", name)
}

// Session is an authenticated SMB session. Its methods may be called from
// several goroutines at once.
//
// A Session outlives its ticket. When the server expires the session
// (STATUS_NETWORK_SESSION_EXPIRED), or before an operation when the
// ticket is about to end, the Session authenticates again on the same
// connection and SessionId with a new ticket from the Dialer's
// credentials; open files and mounted shares stay as they are, and the
// operation that met the expiry is retried. A long-running process
// therefore keeps its Session across ticket lifetimes, as long as its
// credentials can give new tickets (a renewed TGT, an Entra refresh, an
// SMB OAuth exchange). Only when the connection itself is lost does the
// Session dial again: shares are mounted again and files reopened at
// their offsets.
type Session struct {
	d     Dialer // a copy, for authenticating again
	ownCC bool   // d.CCache was made by Dial; Close destroys it
	srv   Server
	xfer  TransferOptions
	enc   bool

	// bg counts cleanups that go on after a cancelled operation
	// returned (closing a file, removing a Put's temporary file); Close
	// waits for them, each bounded by cleanupGrace.
	bg sync.WaitGroup

	clientGUID [16]byte // of every connection of the session

	mu         sync.Mutex
	c          *engineConn // the current connection and session
	gen        int         // incremented with every new connection
	closed     bool
	renews     int
	reconnects int

	resumed atomic.Int64 // opens resumed by their durable handle
	// depth is what the last measured Get (dirRead) and Put (dirWrite)
	// chose; nil before one was measured.
	depth [2]atomic.Pointer[depthChoice]

	lmu    sync.Mutex
	leases map[[16]byte]*File // the leases of open Files, for their breaks
}

// engineConn is one connection and the engine's session on it.
type engineConn struct {
	conn *smb2.Conn
	sess *smb2.Session
	ini  *gssInitiator // the security context of the last authentication
	info SessionInfo
}

// close drops the connection without a logoff and zeroes the keys.
func (c *engineConn) close() {
	c.conn.Close()
	c.ini.close()
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

// renew makes the session of generation gen usable again after err: if
// the server expired it, it authenticates again on the same connection;
// if the connection was lost, it dials again (a new generation). If
// another goroutine renewed it already, renew does nothing.
func (s *Session) renew(ctx context.Context, gen int, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	if s.gen != gen {
		return nil
	}
	if expired(err) && s.c.conn.Err() == nil {
		return s.reauthLocked(ctx)
	}
	c, derr := s.redial(ctx)
	if derr != nil {
		return derr
	}
	c.conn.OnLeaseBreak(s.leaseBreak)
	old := s.c
	s.c, s.gen = c, s.gen+1
	s.reconnects++
	old.close()
	return nil
}

// Reconnection: a lost connection is dialed again for up to
// reconnectWindow (a server restarting, a link coming back), waiting
// reconnectFirst, then twice as long each time up to reconnectMax.
const (
	reconnectWindow = 30 * time.Second
	reconnectFirst  = 200 * time.Millisecond
	reconnectMax    = 3 * time.Second
)

// redial dials the session's server again after its connection was lost.
// Only failures to reach the server are retried: a refused login, ticket
// or policy fails at once.
func (s *Session) redial(ctx context.Context) (*engineConn, error) {
	deadline := time.Now().Add(reconnectWindow)
	wait := reconnectFirst
	for {
		c, err := s.d.dial(ctx, s.srv, s.clientGUID)
		if err == nil || !unreachable(err) || time.Now().Add(wait).After(deadline) {
			return c, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait = min(2*wait, reconnectMax)
	}
}

// unreachable reports a dial that failed because the server could not be
// reached or dropped the connection during negotiation.
func unreachable(err error) bool {
	var e *Error
	if !errors.As(err, &e) || errors.Is(err, ErrPolicy) {
		return false
	}
	switch e.Op {
	case "connect":
		return true
	case "negotiate", "session setup":
		return errors.Is(err, smb2.ErrConnectionLost)
	}
	return false
}

// cipherName names a negotiated cipher, "" for none.
func cipherName(id uint16) string {
	if id == 0 {
		return ""
	}
	return smb3crypto.CipherName(id)
}

// reauthLocked authenticates the current session again with a new
// ticket (s.mu held).
func (s *Session) reauthLocked(ctx context.Context) error {
	c := s.c
	spn := s.srv.spn()
	creds := s.d.credentials()
	if err := creds.Acquire(ctx, s.d.Kerberos, s.d.CCache, spn); err != nil {
		return &Error{Op: "login", Server: s.srv.Name, Err: credentialsError(creds, err)}
	}
	sc, err := s.d.Kerberos.NewInitiator(ctx, s.d.CCache, spn, nil)
	if err != nil {
		return &Error{Op: "service ticket", Server: s.srv.Name, Err: err}
	}
	ini := newGSSInitiator(sc)
	if err := c.sess.Reauthenticate(ctx, ini); err != nil {
		ini.close()
		return &Error{Op: "session setup", Server: s.srv.Name, Err: setupError(err, ini)}
	}
	c.ini.close()
	c.ini = ini
	if t, err := s.d.Kerberos.CachedCredentials(s.d.CCache, spn); err == nil {
		c.info.Ticket = t
	}
	s.renews++
	return nil
}

// maybeReauth authenticates again before an operation when the session's
// ticket ends within the margin and the credentials have a newer one.
func (s *Session) maybeReauth(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.c == nil {
		return
	}
	end := s.c.info.Ticket.EndTime
	if end.IsZero() || time.Until(end) > reauthMargin {
		return
	}
	t, err := s.d.Kerberos.CachedCredentials(s.d.CCache, s.srv.spn())
	if err == nil && !t.EndTime.After(end) {
		// The cache holds no newer ticket: ask the credentials for one
		// (they replace what nears its end).
		if s.d.credentials().Acquire(ctx, s.d.Kerberos, s.d.CCache, s.srv.spn()) != nil {
			return
		}
		if t, err = s.d.Kerberos.CachedCredentials(s.d.CCache, s.srv.spn()); err != nil || !t.EndTime.After(end) {
			return
		}
	}
	s.reauthLocked(ctx) // a failure shows in the operation that follows
}

// reauthMargin: a session whose ticket ends sooner is authenticated again
// before the next operation, if a newer ticket can be had.
const reauthMargin = 2 * time.Minute

// retryable reports whether an operation on the connection of generation
// gen that failed with err should be tried again after renew: the server
// expired the session, the connection was lost, or another goroutine
// already renewed the session under the operation.
func (s *Session) retryable(err error, gen int) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, smb2.ErrPolicy) {
		return false // a broken policy is never retried
	}
	if expired(err) || errors.Is(err, smb2.ErrConnectionLost) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.gen != gen {
		return true
	}
	// The connection of gen ended under the operation (the error it
	// met may only say "closed"): a new one is dialed, unless it ended
	// for breaking the policy.
	cerr := s.c.conn.Err()
	return cerr != nil && !errors.Is(cerr, smb2.ErrPolicy)
}

// expired reports the server's answer that the session's ticket expired.
func expired(err error) bool {
	return err != nil && errors.Is(engineError(err), ErrSessionExpired)
}

// credentialsError names the source that failed, unless its error does:
// FirstOf's names each of its own, and a login's krb5 error says whom it
// logged in as and with what.
func credentialsError(creds Credentials, err error) error {
	switch creds.(type) {
	case firstOf:
		return err
	case *PasswordCredentials, keytabCredentials:
		var ke *krb5.Error
		if errors.As(err, &ke) && strings.HasPrefix(ke.Op, "log in as ") {
			return err
		}
	}
	return fmt.Errorf("%v: %w", creds, err)
}

func (d *Dialer) credentials() Credentials {
	if d.Credentials == nil {
		return Cache()
	}
	return d.Credentials
}

// engineConfig is what the engine offers and demands, as the client
// clientGUID.
func (d *Dialer) engineConfig(clientGUID [16]byte) *smb2.Config {
	cfg := &smb2.Config{RequireEncryption: d.Encrypt, ClientGUID: clientGUID}
	for _, c := range d.Ciphers {
		cfg.Ciphers = append(cfg.Ciphers, uint16(c))
	}
	return cfg
}

// Dial gets a service ticket for srv (logging in with d.Credentials if
// the cache needs it), connects, and sets up a signed Kerberos session.
// ctx bounds the whole dial; the session outlives it.
func (d *Dialer) Dial(ctx context.Context, srv Server) (*Session, error) {
	d, err := d.forRealm(srv)
	if err != nil {
		return nil, &Error{Op: "dial", Server: srv.Name, Err: err}
	}
	dd := *d
	if _, cacheOnly := d.credentials().(cacheCredentials); cacheOnly && d.CCache == nil {
		return nil, &Error{Op: "dial", Server: srv.Name, Err: errors.New("Dialer.CCache is nil and Dialer.Credentials uses the cache only: give a cache holding tickets, or credentials that log in (Password, Keytab)")}
	}
	if dd.Kerberos != nil && dd.CCache == nil {
		cc, err := dd.Kerberos.NewMemoryCCache()
		if err != nil {
			return nil, &Error{Op: "dial", Server: srv.Name, Err: err}
		}
		dd.CCache = cc
	}
	// One client GUID for the session's connections: its durable handles
	// and leases belong to it.
	var guid [16]byte
	if _, err := rand.Read(guid[:]); err != nil {
		return nil, &Error{Op: "dial", Server: srv.Name, Err: err}
	}
	c, err := dd.dial(ctx, srv, guid)
	if err != nil {
		if d.CCache == nil && dd.CCache != nil {
			dd.CCache.Destroy()
		}
		return nil, err
	}
	s := &Session{d: dd, ownCC: d.CCache == nil, srv: srv, xfer: d.Transfer.withDefaults(), enc: d.Encrypt, c: c, clientGUID: guid}
	c.conn.OnLeaseBreak(s.leaseBreak)
	return s, nil
}

// dial is Dial's work: the ticket, the connection, the session setup.
func (d *Dialer) dial(ctx context.Context, srv Server, clientGUID [16]byte) (*engineConn, error) {
	start := time.Now()
	fail := func(op string, err error) (*engineConn, error) {
		return nil, &Error{Op: op, Server: srv.Name, Err: err}
	}
	if d.Kerberos == nil {
		return fail("dial", errors.New("Dialer.Kerberos is required: the realms, KDCs and enctypes come from it"))
	}
	if srv.Name == "" {
		return fail("dial", errors.New("Server.Name is required: the service principal comes from it"))
	}
	if net.ParseIP(strings.Trim(srv.Name, "[]")) != nil && srv.SPN == "" {
		return fail("dial", fmt.Errorf("%s is an address: Kerberos needs the server's name (put the address in Server.Addr and the name in Server.Name)", srv.Name))
	}
	for _, c := range d.Ciphers {
		if c.String() == "" || strings.HasPrefix(c.String(), "cipher ") {
			return fail("dial", fmt.Errorf("Dialer.Ciphers: unknown cipher %d", c))
		}
	}
	spn := srv.spn()
	creds := d.credentials()

	// Every dial asks the credentials: each source returns at once when
	// the cache is good, and replaces what nears its end (an SMB OAuth
	// ticket, an Entra TGT) before the server would expire the session.
	if err := creds.Acquire(ctx, d.Kerberos, d.CCache, spn); err != nil {
		return fail("login", credentialsError(creds, err))
	}
	sc, err := d.Kerberos.NewInitiator(ctx, d.CCache, spn, nil)
	if err != nil {
		// krb5's error names the principal and what the KDC said.
		e := &Error{Op: "service ticket", Server: srv.Name, Err: err}
		if errors.Is(err, krb5.ErrPrincipalUnknown) {
			e.Remedy = principalUnknownRemedy(err, spn)
		}
		return nil, e
	}
	ticketTime := time.Since(start)
	ini := newGSSInitiator(sc)

	dial := d.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	addr := srv.addr()
	tcp, err := dial(ctx, "tcp", addr)
	if err != nil {
		ini.close()
		return fail("connect", fmt.Errorf("%s: %w", addr, err))
	}
	if tc, ok := tcp.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	// The engine bounds each wait by ctx; the socket deadline makes a
	// server that stops answering mid-setup fail the dial too.
	if dl, ok := ctx.Deadline(); ok {
		tcp.SetReadDeadline(dl)
	}
	conn, err := smb2.Dial(ctx, tcp, srv.Name, d.engineConfig(clientGUID))
	if err != nil {
		ini.close()
		return fail("negotiate", setupError(err, ini))
	}
	es, err := conn.SessionSetup(ctx, ini)
	tcp.SetReadDeadline(time.Time{})
	if err != nil {
		conn.Close()
		ini.close()
		return fail("session setup", setupError(err, ini))
	}
	client, _ := d.CCache.Principal()
	ticket, _ := d.Kerberos.CachedCredentials(d.CCache, spn)
	c := &engineConn{
		conn: conn, sess: es, ini: ini,
		info: SessionInfo{
			Server: srv.Name, Addr: addr, Client: client, SPN: ticket.Server, CCache: d.CCache.Name(),
			Ticket: ticket, Dialect: wire.DialectName(conn.Dialect), Signing: smb3crypto.SigningName(conn.SigningAlg),
			Cipher: cipherName(conn.Cipher), Encrypted: es.EncryptAll, SessionID: es.ID(),
			SetupTime: time.Since(start), TicketTime: ticketTime,
		},
	}
	if c.info.SPN == "" {
		c.info.SPN = spn
	}
	return c, nil
}

// principalUnknownRemedy says what to do when the KDC does not know the
// service principal: Entra explains itself in the KRB-ERROR's text.
func principalUnknownRemedy(err error, spn string) string {
	name, _, _ := strings.Cut(spn, "@")
	var ke *krb5.Error
	if errors.As(err, &ke) && strings.Contains(ke.KDCText, "AADSTS700016") {
		if strings.HasPrefix(name, "cifs/") {
			return "Microsoft Entra has no application for it: enable Microsoft Entra Kerberos on that storage account, or check that it belongs to this tenant; an account that uses AD DS needs its own realm mapping"
		}
		return "Microsoft Entra matches service principals case-sensitively: use " + "cifs/" + name[strings.IndexByte(name, '/')+1:]
	}
	return "no account in the directory has it: use the name the server is registered under (setspn -Q shows it on Windows), or for an alias or private-link name set Server.SPN to the registered principal"
}

// setupError explains a failed negotiate or session setup.
func setupError(err error, ini *gssInitiator) error {
	if gerr := ini.failure(); gerr != nil && !errors.Is(err, smb2.ErrPolicy) {
		return gerr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the server did not answer in time: %w", context.DeadlineExceeded)
	}
	return engineError(err)
}

// Info describes the session: its current connection, ticket and
// protection, and how often it authenticated again (Renewals).
func (s *Session) Info() SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := s.c.info
	info.Renewals = s.renews
	info.Reconnects = s.reconnects
	info.Resumed = int(s.resumed.Load())
	info.ReadDepth = depthOf(s.depth[dirRead].Load())
	info.WriteDepth = depthOf(s.depth[dirWrite].Load())
	return info
}

// Close logs off and closes the connection. Shares and files of the
// session are unusable afterwards.
func (s *Session) Close() error {
	s.bg.Wait()
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
	err := c.sess.Logoff(ctx)
	c.close()
	if s.ownCC {
		s.d.CCache.Destroy() // the session's own tickets go with it
	}
	if err != nil && c.conn.Err() != nil && !errors.Is(c.conn.Err(), net.ErrClosed) {
		return nil // the connection was already gone: nothing to log off
	}
	if err != nil && !expired(err) {
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

// mount connects to share on connection c (of generation gen); it renews
// an expired session once.
func (s *Session) mount(ctx context.Context, c *engineConn, gen int, share string) (*smb2.Tree, int, error) {
	fail := func(err error) (*smb2.Tree, int, error) {
		return nil, 0, &Error{Op: "mount", Server: s.srv.Name, Path: share, Err: err}
	}
	path := `\\` + s.srv.Name + `\` + share
	for attempt := 0; ; attempt++ {
		t, err := c.sess.TreeConnect(ctx, path)
		if err != nil && attempt == 0 && s.retryable(err, gen) {
			if rerr := s.renew(ctx, gen, err); rerr != nil {
				return nil, 0, rerr
			}
			if c, gen, err = s.current(); err != nil {
				return fail(err)
			}
			continue
		}
		if err != nil {
			e := engineError(err)
			if errors.Is(e, ErrAccessDenied) && c.conn.Cipher == 0 {
				// Samba and Windows answer a client that cannot
				// encrypt with access denied on a share that
				// requires encryption.
				e = fmt.Errorf("%w (%w: this connection negotiated no cipher, and a share that requires encryption refuses such a client so; check Dialer.Ciphers)", e, ErrPolicy)
			}
			return fail(e)
		}
		return t, gen, nil
	}
}
