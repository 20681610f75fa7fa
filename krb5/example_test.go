package krb5_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/smbkrb/smbkrb/krb5"
)

// A password login and a service ticket, with the KDC reached over TCP.
func ExampleContext_GetInitCredsPassword() {
	k, err := krb5.NewContext(&krb5.Config{
		Realms:     []krb5.Realm{{Name: "LAB.TEST", KDCs: []string{"dc1.lab.test:88"}}},
		HostRealms: []krb5.HostRealm{{Host: ".lab.test", Realm: "LAB.TEST"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	cc, err := k.NewMemoryCCache()
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Destroy()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	password := []byte("from a prompt, never argv")
	if _, err := k.GetInitCredsPassword(ctx, cc, "alice@LAB.TEST", password, nil); err != nil {
		log.Fatal(err) // errors.Is(err, krb5.ErrPreauthFailed) for a wrong password
	}
	clear(password)
	ticket, err := k.GetCredentials(ctx, cc, "cifs/fs1.lab.test")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ticket.Server, "valid until", ticket.EndTime)
}

// A realm whose KDC is reachable only through an MS-KKDCP proxy over
// HTTPS: no port 88 needed.
func ExampleConfig_kdcProxy() {
	cfg := &krb5.Config{
		Realms: []krb5.Realm{{
			Name: "LAB.TEST",
			KDCs: []string{"https://kdcproxy.lab.test/KdcProxy"},
		}},
		HostRealms: []krb5.HostRealm{{Host: ".lab.test", Realm: "LAB.TEST"}},
	}
	profile, err := cfg.Profile()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(profile)
	// Output:
	// [libdefaults]
	//  dns_lookup_kdc = false
	//  dns_lookup_realm = false
	//  dns_canonicalize_hostname = false
	//  rdns = false
	//  qualify_shortname = ""
	//  udp_preference_limit = 1
	//  allow_weak_crypto = false
	//  permitted_enctypes = aes256-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192
	//  default_tkt_enctypes = aes256-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192
	//  default_tgs_enctypes = aes256-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192
	//  clockskew = 300
	//  ticket_lifetime = 36000
	//  forwardable = true
	// [realms]
	//  LAB.TEST = {
	//   kdc = https://kdcproxy.lab.test/KdcProxy
	//  }
	// [domain_realm]
	//  .lab.test = LAB.TEST
}

// A client and a server context: AP-REQ, AP-REP, a MIC, the session key.
func ExampleContext_NewInitiator() {
	var (
		k  *krb5.Context // from NewContext
		cc *krb5.CCache  // holding a TGT
	)
	ctx := context.Background()
	ini, err := k.NewInitiator(ctx, cc, "cifs/fs1.lab.test", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ini.Close()
	acc, err := k.NewAcceptor("FILE:/etc/krb5.keytab", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer acc.Close()

	apreq, _ := ini.Step(nil)
	aprep, _ := acc.Step(apreq)
	if _, err := ini.Step(aprep); err != nil {
		log.Fatal(err) // mutual authentication failed
	}
	mic, _ := ini.GetMIC([]byte("message"))
	if err := acc.VerifyMIC([]byte("message"), mic); err != nil {
		log.Fatal(err)
	}
	key, _ := ini.SessionKey()
	defer key.Zero()
	fmt.Println(len(key.Key), key.Enctype)
}
