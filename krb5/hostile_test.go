package krb5_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
	"github.com/smbkrb/smbkrb/internal/lab/testmain"
)

// hostileProfile is a system profile that would break or weaken smbkrb
// if any part of it were read: weak enctypes only, DNS canonicalization
// and reverse DNS on, a wrong default realm and host mapping, a KDC that
// does not exist, a one-second clock skew.
const hostileProfile = `# HOSTILE: smbkrb must not read this file
[libdefaults]
	default_realm = WRONG.TEST
	dns_canonicalize_hostname = true
	dns_lookup_kdc = true
	dns_lookup_realm = true
	rdns = true
	allow_weak_crypto = true
	permitted_enctypes = arcfour-hmac des3-cbc-sha1
	default_tgs_enctypes = arcfour-hmac des3-cbc-sha1
	default_tkt_enctypes = arcfour-hmac des3-cbc-sha1
	clockskew = 1
	verify_ap_req_nofail = true
[realms]
	MITLAB.TEST = {
		kdc = 127.0.0.1:9
	}
[domain_realm]
	.mitlab.test = WRONG.TEST
	fs1.mitlab.test = WRONG.TEST
`

// TestHostileSystemProfile runs a login, a service ticket and a GSS-API
// handshake (initiator and acceptor) in a private mount namespace whose
// /etc/krb5.conf is hostileProfile, with KRB5_CONFIG unset: nothing
// changes, because the generated profile governs the library context and
// GSS-API alike.
func TestHostileSystemProfile(t *testing.T) {
	labtest.Need(t)
	if os.Getenv("SMBKRB_HOSTILE_CHILD") == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root: the hostile /etc/krb5.conf is bind-mounted in a private mount namespace")
		}
		if _, err := os.Stat("/etc/krb5.conf"); err != nil {
			t.Fatalf("the test mounts over /etc/krb5.conf, which must exist (Debian's krb5-config package makes it): %v", err)
		}
		hostile := filepath.Join(t.TempDir(), "krb5.conf")
		if err := os.WriteFile(hostile, []byte(hostileProfile), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), "unshare", "--mount", "--propagation", "private",
			"sh", "-c", `mount --bind "$0" /etc/krb5.conf && exec "$@"`, hostile,
			os.Args[0], "-test.run=^TestHostileSystemProfile$", "-test.count=1", "-test.v")
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "KRB5_CONFIG=") && !strings.HasPrefix(e, "KRB5CCNAME=") {
				cmd.Env = append(cmd.Env, e)
			}
		}
		cmd.Env = append(cmd.Env, "SMBKRB_HOSTILE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestHostileSystemProfile")) {
			t.Fatalf("under a hostile /etc/krb5.conf: %v\n%s", err, out)
		}
		return
	}

	if b, err := os.ReadFile("/etc/krb5.conf"); err != nil || !bytes.HasPrefix(b, []byte("# HOSTILE")) {
		t.Fatalf("the child does not see the hostile /etc/krb5.conf: %v", err)
	}
	k := testmain.Context(t, labConfig())
	cc := testmain.MemoryCache(t, k)
	loginAlice(t, k, cc)
	ini, err := k.NewInitiator(t.Context(), cc, cifsSPN, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ini.Close()
	if ini.Target() != cifsSPN+"@MITLAB.TEST" {
		t.Errorf("target %q: the hostile host mapping was used", ini.Target())
	}
	acc := acceptor(t, lab.cifsKeytab)
	handshake(t, ini, acc)
	ik, err := ini.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	defer ik.Zero()
	ak, err := acc.SessionKey()
	if err != nil {
		t.Fatal(err)
	}
	defer ak.Zero()
	if !bytes.Equal(ik.Key, ak.Key) || len(ik.Key) != 32 {
		t.Errorf("session keys: %d and %d bytes, equal %v; want the same AES-256 key", len(ik.Key), len(ak.Key), bytes.Equal(ik.Key, ak.Key))
	}
}
