package krb5_test

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"testing"
	"time"

	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
)

// handshake runs initiator ↔ acceptor to completion and checks what both
// sides must agree on.
func handshake(t testing.TB, ini, acc *krb5.SecContext) {
	t.Helper()
	apreq, err := ini.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	if ini.Established() {
		t.Fatal("initiator complete before the AP-REP (mutual authentication was not requested?)")
	}
	aprep, err := acc.Step(apreq)
	if err != nil {
		t.Fatal(err)
	}
	if !acc.Established() {
		t.Fatal("acceptor not complete after the AP-REQ")
	}
	out, err := ini.Step(aprep)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 0 || !ini.Established() {
		t.Fatalf("initiator after AP-REP: %d-byte token, established=%v", len(out), ini.Established())
	}
}

func TestGSSRoundTrip(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	loginAlice(t, k, cc)
	ini, err := k.NewInitiator(t.Context(), cc, cifsSPN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	if ini.Target() != cifsSPN+"@MITLAB.TEST" {
		t.Errorf("target %q", ini.Target())
	}
	acc := acceptor(t, lab.cifsKeytab)
	handshake(t, ini, acc)
	if acc.Peer() != alice {
		t.Errorf("acceptor sees peer %q, want %q", acc.Peer(), alice)
	}

	msg := []byte("SMB2 message to sign")
	mic, err := ini.GetMIC(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.VerifyMIC(msg, mic); err != nil {
		t.Fatalf("acceptor rejects the initiator's MIC: %v", err)
	}
	mic2, err := acc.GetMIC(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ini.VerifyMIC(msg, mic2); err != nil {
		t.Fatalf("initiator rejects the acceptor's MIC: %v", err)
	}
	// Tampered message and tampered MIC are both rejected.
	mic3, _ := ini.GetMIC(msg)
	if err := acc.VerifyMIC([]byte("SMB2 message to sigN"), mic3); err == nil {
		t.Error("a MIC over another message verified")
	}
	mic4, _ := ini.GetMIC(msg)
	mic4[len(mic4)-1] ^= 1
	if err := acc.VerifyMIC(msg, mic4); err == nil {
		t.Error("a tampered MIC verified")
	} else {
		var ke *krb5.Error
		if !errors.As(err, &ke) || ke.Major == 0 {
			t.Errorf("tampered MIC error lacks the GSS status: %#v", err)
		}
	}

	ik, err := ini.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	ak, err := acc.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(ik.Key) != 32 || !bytes.Equal(ik.Key, ak.Key) {
		t.Fatalf("session keys differ or are not 32 bytes: %d/%d bytes", len(ik.Key), len(ak.Key))
	}
	if ik.Enctype != ak.Enctype || (ik.Enctype != krb5.AES256SHA1 && ik.Enctype != krb5.AES256SHA384) {
		t.Errorf("session key enctypes %v / %v, want AES-256", ik.Enctype, ak.Enctype)
	}
	if bytes.Equal(ik.Key, make([]byte, 32)) {
		t.Error("session key is all zeros")
	}
	ik.Zero()
	if !bytes.Equal(ik.Key, make([]byte, 32)) {
		t.Error("Zero left key bytes")
	}
	if err := ini.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ini.GetMIC(msg); err == nil {
		t.Error("GetMIC works on a closed context")
	}
}

func TestGSSAcceptorRejectsWrongKey(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	loginAlice(t, k, cc)
	ini, err := k.NewInitiator(t.Context(), cc, cifsSPN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	// The svc keytab has no key for cifs/fs1.
	acc := acceptor(t, lab.svcKeytab)
	apreq, err := ini.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Step(apreq); err == nil {
		t.Fatal("acceptor accepted a ticket for a service whose key it lacks")
	}
}

// krbCredInfo is the part of a KRB-CRED (RFC 4120 5.8) the test reads to
// act as an outside source of decoded credentials.
type krbCred struct {
	PVNO    int             `asn1:"explicit,tag:0"`
	MsgType int             `asn1:"explicit,tag:1"`
	Tickets []asn1.RawValue `asn1:"explicit,tag:2"`
	EncPart struct {
		Etype  int32  `asn1:"explicit,tag:0"`
		KVNO   int    `asn1:"optional,explicit,tag:1"`
		Cipher []byte `asn1:"explicit,tag:2"`
	} `asn1:"explicit,tag:3"`
}

type principalName struct {
	Type  int      `asn1:"explicit,tag:0"`
	Parts []string `asn1:"general,explicit,tag:1"`
}

type credInfo struct {
	Key struct {
		Type  int32  `asn1:"explicit,tag:0"`
		Value []byte `asn1:"explicit,tag:1"`
	} `asn1:"explicit,tag:0"`
	PRealm    string         `asn1:"optional,general,explicit,tag:1"`
	PName     principalName  `asn1:"optional,explicit,tag:2"`
	Flags     asn1.BitString `asn1:"optional,explicit,tag:3"`
	AuthTime  time.Time      `asn1:"optional,generalized,explicit,tag:4"`
	StartTime time.Time      `asn1:"optional,generalized,explicit,tag:5"`
	EndTime   time.Time      `asn1:"optional,generalized,explicit,tag:6"`
	RenewTill time.Time      `asn1:"optional,generalized,explicit,tag:7"`
	SRealm    string         `asn1:"optional,general,explicit,tag:8"`
	SName     principalName  `asn1:"optional,explicit,tag:9"`
}

type encKrbCredPart struct {
	TicketInfo []credInfo `asn1:"explicit,tag:0"`
}

func decodeKRBCred(t *testing.T, der []byte) (ticket []byte, info credInfo) {
	t.Helper()
	var kc krbCred
	if _, err := asn1.UnmarshalWithParams(der, &kc, "application,explicit,tag:22"); err != nil {
		t.Fatalf("KRB-CRED: %v", err)
	}
	if kc.EncPart.Etype != 0 {
		t.Fatalf("KRB-CRED enc-part etype %d, want 0 (unencrypted)", kc.EncPart.Etype)
	}
	var part encKrbCredPart
	if _, err := asn1.UnmarshalWithParams(kc.EncPart.Cipher, &part, "application,explicit,tag:29"); err != nil {
		t.Fatalf("EncKrbCredPart: %v", err)
	}
	if len(kc.Tickets) != 1 || len(part.TicketInfo) != 1 {
		t.Fatalf("%d tickets, %d infos", len(kc.Tickets), len(part.TicketInfo))
	}
	return kc.Tickets[0].FullBytes, part.TicketInfo[0]
}

func flagsOf(bs asn1.BitString) krb5.TicketFlags {
	var f uint32
	for i := 0; i < 32 && i < bs.BitLength; i++ {
		if bs.At(i) == 1 {
			f |= 1 << (31 - i)
		}
	}
	return krb5.TicketFlags(f)
}

// TestImportDecodedCredential stores a ticket from its decoded fields (as
// the Entra cloud TGT arrives) and uses it for a GSS context.
func TestImportDecodedCredential(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	src := testmain.MemoryCache(t, k)
	loginAlice(t, k, src)
	svc, err := k.GetCredentials(t.Context(), src, cifsSPN)
	if err != nil {
		t.Fatal(err)
	}
	der, err := src.ExportKRBCred(svc.Server)
	if err != nil {
		t.Fatal(err)
	}
	ticket, ci := decodeKRBCred(t, der)

	// A fresh context and cache that never saw a KDC exchange for it.
	k2 := testmain.Context(t, &krb5.Config{})
	dst := testmain.MemoryCache(t, k2)
	cred := &krb5.Credential{
		Client:     alice,
		Server:     svc.Server,
		SessionKey: ci.Key.Value,
		Enctype:    krb5.Enctype(ci.Key.Type),
		AuthTime:   ci.AuthTime,
		StartTime:  ci.StartTime,
		EndTime:    ci.EndTime,
		RenewTill:  ci.RenewTill,
		Flags:      flagsOf(ci.Flags),
		Ticket:     ticket,
	}
	if err := dst.Store(cred); err != nil {
		t.Fatal(err)
	}
	cred.Zero()
	creds, err := dst.Credentials()
	if err != nil || len(creds) != 1 {
		t.Fatalf("%v %+v", err, creds)
	}
	got := creds[0]
	if got.Client != alice || got.Server != svc.Server || !got.EndTime.Equal(svc.EndTime) || got.Flags != svc.Flags {
		t.Errorf("stored %+v, want like %+v", got, svc)
	}
	// The imported ticket works: a config with no realms cannot reach a
	// KDC, so the ticket must come from the cache.
	ini, err := k2.NewInitiator(t.Context(), dst, svc.Server, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	acc := acceptor(t, lab.cifsKeytab)
	handshake(t, ini, acc)

	// Malformed input is refused with words, not stored.
	bad := *cred
	bad.SessionKey = []byte{1, 2, 3}
	if err := dst.Store(&bad); err == nil {
		t.Error("a 3-byte AES-256 key was accepted")
	}
}

func TestImportKRBCred(t *testing.T) {
	labtest.Need(t)
	k := testmain.Context(t, labConfig())
	src := testmain.MemoryCache(t, k)
	loginAlice(t, k, src)
	svc, err := k.GetCredentials(t.Context(), src, cifsSPN)
	if err != nil {
		t.Fatal(err)
	}
	der, err := src.ExportKRBCred(svc.Server)
	if err != nil {
		t.Fatal(err)
	}
	k2 := testmain.Context(t, &krb5.Config{})
	dst := testmain.MemoryCache(t, k2)
	infos, err := dst.ImportKRBCred(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Server != svc.Server || infos[0].Client != alice {
		t.Fatalf("imported %+v", infos)
	}
	if p, _ := dst.Principal(); p != alice {
		t.Errorf("cache principal %q", p)
	}
	ini, err := k2.NewInitiator(t.Context(), dst, svc.Server, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	acc := acceptor(t, lab.cifsKeytab)
	handshake(t, ini, acc)

	for _, bad := range [][]byte{nil, {0x76}, der[:len(der)/2], append([]byte{0x30}, der[1:]...)} {
		if _, err := testmain.MemoryCache(t, k2).ImportKRBCred(bad); err == nil {
			t.Errorf("malformed KRB-CRED (%d bytes) accepted", len(bad))
		}
	}
}
