package kerbmsg_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/internal/kerbmsg"
	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
	"github.com/smbkrb/smbkrb/kkdcp"
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
			k := testmain.Context(t, &krb5.Config{
				Realms:       []krb5.Realm{{Name: realm, KDCs: []string{kdc.Addr}}},
				DefaultRealm: realm,
				DialContext:  rec.dial,
			})
			cc := testmain.MemoryCache(t, k)
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
					if _, err := kerbmsg.ParseASRep(m); err == nil || !strings.Contains(err.Error(), "KRB-ERROR") {
						t.Errorf("KRB-ERROR parsed as: %v", err)
					}
					// MIT's PREAUTH_REQUIRED carries e-data and, in 1.20,
					// e-text; the strict walk over its fields accepts it.
					if text, err := kerbmsg.ErrorText(m); err != nil {
						t.Errorf("ErrorText of MIT's KRB-ERROR: %v", err)
					} else {
						t.Logf("KRB-ERROR e-text %q", text)
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
			r, err := kerbmsg.ParseASRep(der)
			if err != nil {
				t.Fatal(err)
			}
			if r.CRealm != realm {
				t.Errorf("crealm %q", r.CRealm)
			}
			if r.Client() != c.want {
				t.Errorf("Client() = %q, want %q", r.Client(), c.want)
			}
			tk, err := kerbmsg.ParseTicket(r.Ticket)
			if err != nil {
				t.Fatal(err)
			}
			if tk.Realm != realm || tk.Server() != "krbtgt/"+realm+"@"+realm {
				t.Errorf("ticket server %q", tk.Server())
			}
			if !tk.SName.Equal(kerbmsg.PrincipalName{NameString: []string{"krbtgt", realm}}) {
				t.Errorf("ticket sname %+v", tk.SName)
			}
			if r.EncPart.EType != 18 && r.EncPart.EType != 20 {
				t.Errorf("enc-part etype %d, want AES-256", r.EncPart.EType)
			}
			if len(r.EncPart.Cipher) < 100 {
				t.Errorf("enc-part of %d bytes", len(r.EncPart.Cipher))
			}
			if r.PAData != nil {
				if _, err := kerbmsg.ParsePAData(r.PAData); err != nil {
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
				t.Errorf("kerbmsg.Ticket.Marshal differs from the KDC's bytes (%v)", err)
			}
		})
	}
}

// TestProbeASReq sends MarshalProbeASReq's AS-REQ to a real MIT KDC: a
// principal that needs pre-authentication and one the KDC does not know
// each get a KRB-ERROR whose stime is the KDC's clock, now.
func TestProbeASReq(t *testing.T) {
	const realm = "PROBE.TEST"
	kdc, err := mitkdc.Start(filepath.Join(t.TempDir(), "kdc"), mitkdc.Options{Realm: realm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kdc.Close() })
	if err := kdc.AddPrincipal("carol", labtool.Password()); err != nil {
		t.Fatal(err)
	}
	if _, err := kdc.Kadmin("modprinc +requires_preauth carol"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		code int32
	}{{"carol", 25}, {"nobody", 6}} {
		req, err := kerbmsg.MarshalProbeASReq(kerbmsg.PrincipalName{NameType: kerbmsg.NameTypePrincipal, NameString: []string{c.name}},
			realm, 1<<31-1, time.Now().Add(time.Hour).Truncate(time.Second), []int32{18, 17})
		if err != nil {
			t.Fatal(err)
		}
		reply, err := kkdcp.ExchangeTCP(t.Context(), nil, kdc.Addr, req, 0)
		if err != nil {
			t.Fatal(err)
		}
		e, err := kerbmsg.ParseError(reply)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if e.ErrorCode != c.code || time.Since(e.STime).Abs() > 10*time.Second {
			t.Errorf("%s: error %d at %v, want error %d now", c.name, e.ErrorCode, e.STime, c.code)
		}
	}
	if _, err := kerbmsg.MarshalProbeASReq(kerbmsg.PrincipalName{}, realm, 1, time.Now(), []int32{18}); err == nil {
		t.Error("an empty cname was encoded")
	}
	if _, err := kerbmsg.MarshalProbeASReq(kerbmsg.PrincipalName{NameType: kerbmsg.NameTypePrincipal, NameString: []string{"x"}}, realm, 1<<31, time.Now().Truncate(time.Second), []int32{18}); err == nil {
		t.Error("a nonce of 2^31 was encoded: KDCs drop it")
	}
}
