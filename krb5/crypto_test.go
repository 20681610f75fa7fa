package krb5_test

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"regexp"
	"sync"
	"testing"

	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
)

// recordingConn keeps what the KDC sent on a TCP connection.
type recordingConn struct {
	net.Conn
	mu  *sync.Mutex
	got *bytes.Buffer
}

func (c recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.got.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

// keytabKey reads the key of enctype from a keytab with MIT's klist -K:
// an independent reading of the principal's long-term key.
func keytabKey(t *testing.T, keytab string, enctype krb5.Enctype) []byte {
	t.Helper()
	out := mitTool(t, "MEMORY:unused", "", "klist", "-kKe", keytab)
	re := regexp.MustCompile(`\(` + regexp.QuoteMeta(enctype.String()) + `\)\s+\(0x([0-9a-f]+)\)`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("klist -kKe shows no %s key:\n%s", enctype, out)
	}
	key, err := hex.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestDecryptRealASRep decrypts the enc-part of an AS-REP that the MIT KDC
// sent, with the client's key as MIT's klist reads it from the keytab:
// Decrypt agrees with a real KDC, not only with Encrypt.
func TestDecryptRealASRep(t *testing.T) {
	labtest.Need(t)
	var mu sync.Mutex
	var replies bytes.Buffer
	cfg := labConfig()
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return recordingConn{c, &mu, &replies}, nil
	}
	k := testmain.Context(t, cfg)
	cc := testmain.MemoryCache(t, k)
	if _, err := k.GetInitCredsKeytab(t.Context(), cc, svcLogin, "FILE:"+lab.svcKeytab, nil); err != nil {
		t.Fatal(err)
	}
	// The last reply on the wire is the AS-REP (4-byte length, message).
	var asRep []byte
	for b := replies.Bytes(); len(b) >= 4; {
		n := int(binary.BigEndian.Uint32(b))
		if n > len(b)-4 {
			t.Fatalf("truncated reply on the wire")
		}
		asRep, b = b[4:4+n], b[4+n:]
	}
	var rep struct {
		PVNO    int           `asn1:"explicit,tag:0"`
		MsgType int           `asn1:"explicit,tag:1"`
		PAData  asn1.RawValue `asn1:"optional,explicit,tag:2"`
		CRealm  asn1.RawValue `asn1:"explicit,tag:3"`
		CName   asn1.RawValue `asn1:"explicit,tag:4"`
		Ticket  asn1.RawValue `asn1:"explicit,tag:5"`
		EncPart struct {
			EType  int32  `asn1:"explicit,tag:0"`
			KVNO   int    `asn1:"optional,explicit,tag:1"`
			Cipher []byte `asn1:"explicit,tag:2"`
		} `asn1:"explicit,tag:6"`
	}
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(asRep, &outer); err != nil || outer.Class != asn1.ClassApplication || outer.Tag != 11 {
		t.Fatalf("the last KDC reply is not an AS-REP: %v (%x)", err, asRep[:min(32, len(asRep))])
	}
	if _, err := asn1.Unmarshal(outer.Bytes, &rep); err != nil {
		t.Fatalf("the last KDC reply is not an AS-REP: %v (%x)", err, asRep[:min(32, len(asRep))])
	}
	etype := krb5.Enctype(rep.EncPart.EType)
	key := keytabKey(t, lab.svcKeytab, etype)

	plain, err := krb5.Decrypt(etype, key, krb5.KeyUsageASRepEncPart, rep.EncPart.Cipher)
	if err != nil {
		t.Fatalf("decrypt the KDC's enc-part: %v", err)
	}
	// EncASRepPart is [APPLICATION 25]; MIT's KDC may send 26.
	if len(plain) == 0 || (plain[0] != 0x79 && plain[0] != 0x7a) {
		t.Fatalf("plaintext starts with %#x, want an EncASRepPart", plain[:min(1, len(plain))])
	}

	// The wrong usage, a flipped bit and the wrong key all fail.
	if _, err := krb5.Decrypt(etype, key, krb5.KeyUsageKRBCredEncPart, rep.EncPart.Cipher); err == nil {
		t.Error("decrypt with the wrong key usage succeeded")
	}
	bad := bytes.Clone(rep.EncPart.Cipher)
	bad[len(bad)/2] ^= 1
	if _, err := krb5.Decrypt(etype, key, krb5.KeyUsageASRepEncPart, bad); err == nil {
		t.Error("decrypt of a modified ciphertext succeeded")
	}
	wrong := bytes.Clone(key)
	wrong[0] ^= 1
	if _, err := krb5.Decrypt(etype, wrong, krb5.KeyUsageASRepEncPart, rep.EncPart.Cipher); err == nil {
		t.Error("decrypt with the wrong key succeeded")
	}

	// Encrypting the same plaintext again decrypts to it, with a fresh
	// confounder each time.
	c1, err := krb5.Encrypt(etype, key, krb5.KeyUsageASRepEncPart, plain)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := krb5.Encrypt(etype, key, krb5.KeyUsageASRepEncPart, plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c1, c2) {
		t.Error("two encryptions gave the same ciphertext: no confounder")
	}
	back, err := krb5.Decrypt(etype, key, krb5.KeyUsageASRepEncPart, c1)
	if err != nil || !bytes.Equal(back, plain) {
		t.Fatalf("round trip: %v", err)
	}
}

// TestCryptBadInput needs no Context and no lab: bad keys, enctypes and
// ciphertexts are refused; an empty plaintext round-trips.
func TestCryptBadInput(t *testing.T) {
	if _, err := krb5.Encrypt(krb5.AES256SHA1, make([]byte, 16), krb5.KeyUsageASRepEncPart, []byte("x")); err == nil {
		t.Error("a 16-byte key for aes256 was accepted")
	}
	if _, err := krb5.Encrypt(krb5.Enctype(9999), make([]byte, 32), krb5.KeyUsageASRepEncPart, []byte("x")); err == nil {
		t.Error("an unknown enctype was accepted")
	}
	key := bytes.Repeat([]byte{7}, 32)
	for _, c := range [][]byte{nil, {1}, make([]byte, 27), make([]byte, 45)} {
		if _, err := krb5.Decrypt(krb5.AES256SHA1, key, krb5.KeyUsageASRepEncPart, c); err == nil {
			t.Errorf("decrypt of %d junk bytes succeeded", len(c))
		}
	}
	// An empty plaintext is still a valid message.
	c, err := krb5.Encrypt(krb5.AES256SHA1, key, krb5.KeyUsageASRepEncPart, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := krb5.Decrypt(krb5.AES256SHA1, key, krb5.KeyUsageASRepEncPart, c); err != nil || len(p) != 0 {
		t.Fatalf("empty round trip: %q, %v", p, err)
	}
}

// TestRetrieveCredential takes the TGT with its session key out of one
// cache, stores it into another, and gets a service ticket with it from the
// KDC: the key that came out is the real one.
func TestRetrieveCredential(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	loginAlice(t, k, cc)
	tgtName := "krbtgt/" + lab.realm + "@" + lab.realm
	cred, err := cc.RetrieveCredential(tgtName)
	if err != nil {
		t.Fatal(err)
	}
	defer cred.Zero()
	if cred.Client != alice || cred.Server != tgtName {
		t.Fatalf("retrieved %s for %s", cred.Client, cred.Server)
	}
	if len(cred.SessionKey) != cred.Enctype.KeySize() || len(cred.Ticket) == 0 || cred.EndTime.IsZero() {
		t.Fatalf("incomplete credential: key %d bytes of %s, ticket %d bytes, end %v", len(cred.SessionKey), cred.Enctype, len(cred.Ticket), cred.EndTime)
	}

	other := testmain.MemoryCache(t, k)
	if err := other.Store(cred); err != nil {
		t.Fatal(err)
	}
	if _, err := k.GetCredentials(t.Context(), other, cifsSPN); err != nil {
		t.Fatalf("service ticket with the retrieved TGT: %v", err)
	}

	cred.Zero()
	if !bytes.Equal(cred.SessionKey, make([]byte, len(cred.SessionKey))) {
		t.Error("Zero left key bytes")
	}
	if _, err := cc.RetrieveCredential("krbtgt/NOPE.TEST@NOPE.TEST"); err == nil {
		t.Error("retrieving a ticket the cache lacks succeeded")
	}
	if err := cc.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.RetrieveCredential(tgtName); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("retrieve from a destroyed cache: %v", err)
	}
}
