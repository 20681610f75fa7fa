package entratest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/internal/lab/mitkdc"
)

// Start starts an emulator together with the KDC it needs, in one call:
// a throwaway MIT KDC of entra.KerberosRealm, run unprivileged on
// loopback with its database and logs in dir (a test's t.TempDir()),
// holding a principal for each of opts.Users (User.Principal, or the
// UPN's part before the "@" when that is empty, with User.Password) and a
// random key for each of opts.SPNs. It needs the Debian packages krb5-kdc
// and krb5-admin-server (kdb5_util, kadmin.local, krb5kdc in /usr/sbin);
// nothing is read from or written to /etc, and it needs no root. The KDC
// lives about 75 ms from start to Close.
//
// opts.KDCs must be empty: Start fills it. Close stops the emulator and
// then the KDC. Server.Keytab writes the SPNs' keys for an SMB server of
// the caller's own (the emulator issues tickets; it serves no share).
// Options.ADRealm and Options.SMBOAuth name other KDCs, which Start does
// not make.
func Start(dir string, opts Options) (*Server, error) {
	if len(opts.KDCs) != 0 {
		return nil, errors.New("entratest: Start makes the KDC: leave Options.KDCs empty (or call NewServer with your own KDC)")
	}
	kdc, err := mitkdc.Start(dir, mitkdc.Options{Realm: entra.KerberosRealm})
	if err != nil {
		return nil, fmt.Errorf("entratest: the KDC of %s: %w", entra.KerberosRealm, err)
	}
	users := make([]User, len(opts.Users))
	for i, u := range opts.Users {
		if u.Principal == "" {
			local, _, _ := strings.Cut(u.UPN, "@")
			u.Principal = local + "@" + entra.KerberosRealm
		}
		if err := kdc.AddPrincipal(u.Principal, u.Password); err != nil {
			kdc.Close()
			return nil, fmt.Errorf("entratest: user %s: %w", u.UPN, err)
		}
		users[i] = u
	}
	for _, spn := range opts.SPNs {
		if err := kdc.AddRandomKey(spn); err != nil {
			kdc.Close()
			return nil, fmt.Errorf("entratest: service %s: %w", spn, err)
		}
	}
	opts.Users = users
	opts.KDCs = []string{kdc.Addr}
	s, err := NewServer(opts)
	if err != nil {
		kdc.Close()
		return nil, err
	}
	s.kdc = kdc
	return s, nil
}

// Keytab writes the keys of principals (SPNs given to Start) into the
// keytab file path (mode 0600), for an SMB server that accepts the
// emulator's service tickets. It works on a Server made by Start only.
func (s *Server) Keytab(path string, principals ...string) error {
	if s.kdc == nil {
		return errors.New("entratest: Keytab needs a Server made by Start (NewServer's KDC is the caller's)")
	}
	return s.kdc.Keytab(path, principals...)
}
