package entratest_test

import (
	"fmt"
	"log"
	"os"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/entra/entratest"
)

// Start an emulated tenant with its own KDC for a test of code that uses
// package entra: the same client code as for the real service, with the
// emulator's URLs and CA (Server.Config). In a test, dir is t.TempDir()
// and Close goes in t.Cleanup.
func ExampleStart() {
	dir, err := os.MkdirTemp("", "entra-emulator-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := entratest.Start(dir, entratest.Options{
		Users: []entratest.User{{UPN: "alice@contoso.onmicrosoft.com", Password: "Emulated-1"}},
		SPNs:  []string{"cifs/acct.file.core.windows.net"},
	})
	if err != nil {
		log.Fatal(err) // krb5-kdc and krb5-admin-server must be installed
	}
	defer srv.Close()
	c, err := entra.NewClient(srv.Config())
	if err != nil {
		log.Fatal(err)
	}
	// Register a device (ApproveDeviceCode plays the user at the browser),
	// sign in, and take service tickets through srv.KDCProxyURL() as
	// against Entra itself.
	fmt.Println(c != nil, srv.KDCProxyURL() != "")
}
