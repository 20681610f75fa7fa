package kerbmsg

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
	"github.com/smbkrb/smbkrb/krb5"
)

// recorder keeps every byte the KDC sends back over the connections it
// dials: Kerberos over TCP is a 4-byte big-endian length and the message
// (RFC 4120 section 7.2.2).
type recorder struct {
	mu    sync.Mutex
	conns []*recordingConn
}

type recordingConn struct {
	net.Conn
	mu   sync.Mutex
	read bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (r *recorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	rc := &recordingConn{Conn: c}
	r.mu.Lock()
	r.conns = append(r.conns, rc)
	r.mu.Unlock()
	return rc, nil
}

// replies splits what was read into Kerberos messages.
func (r *recorder) replies(t *testing.T) [][]byte {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for _, c := range r.conns {
		c.mu.Lock()
		b := append([]byte(nil), c.read.Bytes()...)
		c.mu.Unlock()
		for len(b) > 0 {
			if len(b) < 4 {
				t.Fatalf("%d stray bytes from the KDC", len(b))
			}
			n := binary.BigEndian.Uint32(b)
			if uint64(n) > uint64(len(b)-4) {
				t.Fatalf("KDC reply says %d bytes, %d arrived", n, len(b)-4)
			}
			out = append(out, b[4:4+n])
			b = b[4+n:]
		}
	}
	return out
}

// TestRealASRep captures AS-REPs from a real MIT KDC serving
// KERBEROS.MICROSOFTONLINE.COM, logging in through the krb5 package with a
// dialer that records the replies, and decodes them.
func TestRealASRep(t *testing.T) {
	const realm = "KERBEROS.MICROSOFTONLINE.COM"
	kdc, err := mitkdc.Start(filepath.Join(t.TempDir(), "kdc"), mitkdc.Options{Realm: realm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kdc.Close() })
	pw := labtool.Password()
	// MIT's db2 back end has no UPN aliases: a principal whose name is the
	// enterprise name itself answers an NT-ENTERPRISE request, as Entra's
	// cloud TGTs name the user.
	if err := kdc.AddPrincipal(`alice\@contoso.com`, pw); err != nil {
		t.Fatal(err)
	}
	if _, err := kdc.Kadmin(`modprinc +requires_preauth alice\@contoso.com`); err != nil {
		t.Fatal(err)
	}
	if err := kdc.AddPrincipal("bob", pw); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		client     string
		enterprise bool
		want       string
		preauth    bool
	}{
		{"alice@contoso.com", true, `alice\@contoso.com@` + realm, true},
		{"bob@" + realm, false, "bob@" + realm, false},
	} {
		t.Run(c.want, func(t *testing.T) {
			rec := &recorder{}
			k, err := krb5.NewContext(&krb5.Config{
				Realms:       []krb5.Realm{{Name: realm, KDCs: []string{kdc.Addr}}},
				DefaultRealm: realm,
				Dial:         rec.dial,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			cc, err := k.NewMemoryCCache()
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			got, err := k.GetInitCredsPassword(t.Context(), cc, c.client, []byte(pw), &krb5.InitCredsOptions{Enterprise: c.enterprise, Realm: realm})
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("krb5 says the client is %q, want %q", got, c.want)
			}

			var asReps [][]byte
			sawError := false
			for _, m := range rec.replies(t) {
				switch m[0] {
				case 0x6b:
					asReps = append(asReps, m)
				case 0x7e:
					sawError = true
					if _, err := ParseASRep(m); err == nil || !strings.Contains(err.Error(), "KRB-ERROR") {
						t.Errorf("KRB-ERROR parsed as: %v", err)
					}
				}
			}
			if c.preauth && !sawError {
				t.Error("no PREAUTH_REQUIRED KRB-ERROR seen before the AS-REP")
			}
			if len(asReps) != 1 {
				t.Fatalf("captured %d AS-REPs, want 1", len(asReps))
			}
			der := asReps[0]
			r, err := ParseASRep(der)
			if err != nil {
				t.Fatal(err)
			}
			if r.CRealm != realm {
				t.Errorf("crealm %q", r.CRealm)
			}
			if r.Client() != c.want {
				t.Errorf("Client() = %q, want %q", r.Client(), c.want)
			}
			tk, err := ParseTicket(r.Ticket)
			if err != nil {
				t.Fatal(err)
			}
			if tk.Realm != realm || tk.Server() != "krbtgt/"+realm+"@"+realm {
				t.Errorf("ticket server %q", tk.Server())
			}
			if !tk.SName.Equal(PrincipalName{NameString: []string{"krbtgt", realm}}) {
				t.Errorf("ticket sname %+v", tk.SName)
			}
			if r.EncPart.EType != 18 && r.EncPart.EType != 20 {
				t.Errorf("enc-part etype %d, want AES-256", r.EncPart.EType)
			}
			if len(r.EncPart.Cipher) < 100 {
				t.Errorf("enc-part of %d bytes", len(r.EncPart.Cipher))
			}
			if r.PAData != nil {
				if _, err := ParsePAData(r.PAData); err != nil {
					t.Error(err)
				}
			}
			t.Logf("AS-REP of %d bytes: cname type %d, padata %d bytes, ticket %d bytes, enc-part etype %d", len(der), r.CName.NameType, len(r.PAData), len(r.Ticket), r.EncPart.EType)
			// MIT writes DER: Marshal gives its bytes back.
			again, err := r.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, der) {
				t.Errorf("Marshal of the KDC's AS-REP differs from the KDC's bytes:\n got %x\nwant %x", again, der)
			}
			if b, err := tk.Marshal(); err != nil || !bytes.Equal(b, r.Ticket) {
				t.Errorf("Ticket.Marshal differs from the KDC's bytes (%v)", err)
			}
		})
	}
}
