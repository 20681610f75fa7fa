package smb

import (
	"errors"
	"testing"

	"github.com/smbkrb/smbkrb/krb5"

	"github.com/smbkrb/smbkrb/internal/lab/labtest"
)

// TestEnterpriseNameAgainstAD: an Active Directory KDC resolves a user
// principal name with a suffix other than the realm (as Entra-synced UPNs
// are) to the account's canonical principal.
func TestEnterpriseNameAgainstAD(t *testing.T) {
	labtest.Need(t)
	if err := lab.dc.SetUPN(lab.user, "upnuser@contoso.example"); err != nil {
		t.Fatal(err)
	}
	k, cc := labKerberos(t)
	opts := &krb5.InitCredsOptions{Enterprise: true, Realm: lab.dc.Realm}
	client, err := k.GetInitCredsPassword(t.Context(), cc, "upnuser@contoso.example", []byte(lab.pw), opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := lab.user + "@" + lab.dc.Realm; client != want {
		t.Errorf("canonical client %q, want %q", client, want)
	}
	if _, err := k.GetCredentials(t.Context(), cc, "cifs/"+lab.dc.FQDN+"@"+lab.dc.Realm); err != nil {
		t.Fatalf("service ticket for the canonicalized client: %v", err)
	}
	_, err = k.GetInitCredsPassword(t.Context(), cc, "nobody@unknown.example", []byte(lab.pw), opts)
	if !errors.Is(err, krb5.ErrPrincipalUnknown) {
		t.Errorf("unknown UPN: %v, want ErrPrincipalUnknown", err)
	}
}
