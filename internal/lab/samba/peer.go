package samba

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
)

// Peer holds the configuration files with which the peer tools (MIT
// kinit/klist, smbclient) talk to a DC: they never read /etc.
type Peer struct {
	// Krb5Conf is an MIT profile naming the DC as its realm's KDC, for
	// KRB5_CONFIG.
	Krb5Conf string
	// SmbConf is a client smb.conf for smbclient's -s.
	SmbConf string
}

// WritePeer writes the peer tools' configuration for this DC into dir.
func (d *DC) WritePeer(dir string) (*Peer, error) {
	p := &Peer{Krb5Conf: filepath.Join(dir, "krb5.conf"), SmbConf: filepath.Join(dir, "smb.conf")}
	krb5 := fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 dns_canonicalize_hostname = false
 rdns = false
[realms]
 %[1]s = {
  kdc = %[2]s:88
 }
[domain_realm]
 %[3]s = %[1]s
`, d.Realm, d.Addr, d.FQDN)
	if err := os.WriteFile(p.Krb5Conf, []byte(krb5), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.SmbConf, []byte("[global]\n\tclient min protocol = SMB2_10\n"), 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

// Env is a clean environment (no KRB5* of the caller) with KRB5_CONFIG set
// to the peer profile and KRB5CCNAME to ccache.
func (p *Peer) Env(ccache string) []string {
	return append(labtool.Env("KRB5"), "KRB5_CONFIG="+p.Krb5Conf, "KRB5CCNAME="+ccache)
}

// SmbclientArgs are the arguments that point smbclient at share on the DC
// with Kerberos from ccache, followed by args.
func (p *Peer) SmbclientArgs(d *DC, share, ccache string, args ...string) []string {
	return append([]string{"//" + d.FQDN + "/" + share, "-I", d.Addr, "-s", p.SmbConf,
		"--use-kerberos=required", "--use-krb5-ccache=" + ccache}, args...)
}
