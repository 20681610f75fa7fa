package entra

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/smbkrb/smbkrb/entra/internal/msjose"
	"github.com/smbkrb/smbkrb/internal/aad"
)

// Device is a device identity registered with Entra ID: the device key
// that signs PRT requests, the transport key that receives the PRT
// session key, and the certificate the Device Registration Service issued.
// It is a secret: Save writes it with mode 0600 and String never shows
// the keys.
type Device struct {
	// ID is the device ID, the common name of the certificate.
	ID string
	// Tenant is the tenant the device is registered in.
	Tenant string
	// Certificate is the device certificate.
	Certificate *x509.Certificate

	key          *rsa.PrivateKey
	transportKey *rsa.PrivateKey
}

func (d *Device) String() string { return "device " + d.ID + " of tenant " + d.Tenant }

// RegisterOptions describe the device to the directory. The zero value
// registers ("workplace joins", JoinType 4) a Linux device named after the
// host.
type RegisterOptions struct {
	// DisplayName is the device's name in the directory; "" means the
	// host name.
	DisplayName string
	// DeviceType is the operating system's name; "" means "Linux".
	DeviceType string
	// OSVersion is the operating system's version; "" means runtime's
	// GOOS/GOARCH.
	OSVersion string
	// JoinType is 0 (join), 4 (register, the default) or 6 (hybrid).
	JoinType *int
}

// csrCommonName is the subject Windows puts in the join's certificate
// request; the service ignores it and issues the certificate to the new
// device ID.
const csrCommonName = "7E980AD9-B86D-4306-9425-9AC066FB014A"

// drsDiscovery is what this package reads of the DRS discovery document.
type drsDiscovery struct {
	DeviceRegistrationService struct {
		RegistrationEndpoint string `json:"RegistrationEndpoint"`
	} `json:"DeviceRegistrationService"`
	DeviceJoinService struct {
		JoinEndpoint string `json:"JoinEndpoint"`
	} `json:"DeviceJoinService"`
}

type joinRequest struct {
	CertificateRequest struct {
		Type string `json:"Type"`
		Data string `json:"Data"`
	} `json:"CertificateRequest"`
	TransportKey      string            `json:"TransportKey"`
	TargetDomain      string            `json:"TargetDomain"`
	DeviceType        string            `json:"DeviceType"`
	OSVersion         string            `json:"OSVersion"`
	DeviceDisplayName string            `json:"DeviceDisplayName"`
	JoinType          int               `json:"JoinType"`
	Attributes        map[string]string `json:"Attributes"`
}

type joinResponse struct {
	Certificate struct {
		Thumbprint string `json:"Thumbprint"`
		RawBody    string `json:"RawBody"`
	} `json:"Certificate"`
}

// joinEndpoint discovers where devices join, falling back to the
// well-known path. The endpoint must be https on the DRS host: the join
// carries the user's access token.
func (c *Client) joinEndpoint(ctx context.Context, domain string) (string, error) {
	const op = "register device"
	base := c.cfg.deviceRegistration()
	fallback := base + "/EnrollmentServer/device/"
	u := base + "/" + url.PathEscape(domain) + "/Discover?api-version=1.9&managed=True"
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", &Error{Op: op, Err: err}
	}
	status, body, err := c.do(ctx, op, req)
	if err != nil {
		return "", err
	}
	if status == http.StatusNotFound {
		return fallback, nil
	}
	var d drsDiscovery
	if err := decodeReply(op, status, body, &d); err != nil {
		return "", err
	}
	ep := d.DeviceJoinService.JoinEndpoint
	if ep == "" {
		ep = d.DeviceRegistrationService.RegistrationEndpoint
	}
	if ep == "" {
		return fallback, nil
	}
	p, err := url.Parse(ep)
	b, _ := url.Parse(base)
	if err != nil || p.Scheme != "https" || !strings.EqualFold(p.Host, b.Host) {
		return "", aad.DecodeError(op, fmt.Sprintf("the discovered join endpoint is not https on %s", b.Host), nil)
	}
	return ep, nil
}

// domainOf is the domain for DRS discovery: Config.Domain, else Tenant
// when it is a domain.
func (c *Client) domainOf() (string, error) {
	if c.cfg.Domain != "" {
		return c.cfg.Domain, nil
	}
	if strings.Contains(c.cfg.Tenant, ".") {
		return c.cfg.Tenant, nil
	}
	return "", errors.New("Config.Domain is required when Config.Tenant is a tenant ID: the device registration service is discovered by domain (contoso.com)")
}

// Register registers a new device with the Device Registration Service,
// authorized by accessToken (a token for DRSResource, for example from
// DeviceCodeSignIn). It makes the device key and the transport key
// (RSA-2048) here; the private keys never leave the device.
func (c *Client) Register(ctx context.Context, accessToken string, opts *RegisterOptions) (*Device, error) {
	const op = "register device"
	if accessToken == "" {
		return nil, &Error{Op: op, Err: errors.New("no access token for the device registration service")}
	}
	if opts == nil {
		opts = &RegisterOptions{}
	}
	domain, err := c.domainOf()
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	endpoint, err := c.joinEndpoint(ctx, domain)
	if err != nil {
		return nil, err
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	tkey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: csrCommonName},
	}, key)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	var jr joinRequest
	jr.CertificateRequest.Type = "pkcs10"
	jr.CertificateRequest.Data = base64.StdEncoding.EncodeToString(csr)
	blob, err := msjose.MarshalRSAPublicBlob(&tkey.PublicKey)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	jr.TransportKey = base64.StdEncoding.EncodeToString(blob)
	jr.TargetDomain = domain
	jr.DeviceType = opts.DeviceType
	if jr.DeviceType == "" {
		jr.DeviceType = "Linux"
	}
	jr.OSVersion = opts.OSVersion
	if jr.OSVersion == "" {
		jr.OSVersion = runtime.GOOS + "/" + runtime.GOARCH
	}
	jr.DeviceDisplayName = opts.DisplayName
	if jr.DeviceDisplayName == "" {
		jr.DeviceDisplayName, _ = os.Hostname()
	}
	jr.JoinType = 4
	if opts.JoinType != nil {
		jr.JoinType = *opts.JoinType
	}
	jr.Attributes = map[string]string{"ReuseDevice": "true", "ReturnClientSid": "true"}
	body, err := json.Marshal(&jr)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	req, err := http.NewRequest(http.MethodPost, endpoint+sep+"api-version=2.0", bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+accessToken)
	status, reply, err := c.do(ctx, op, req)
	if err != nil {
		return nil, err
	}
	if status == http.StatusCreated {
		status = http.StatusOK
	}
	var resp joinResponse
	if err := decodeReply(op, status, reply, &resp); err != nil {
		return nil, err
	}
	der, err := base64.StdEncoding.DecodeString(resp.Certificate.RawBody)
	if err != nil {
		return nil, aad.DecodeError(op, "Certificate.RawBody is not base64", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, aad.DecodeError(op, "the device certificate", err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, aad.DecodeError(op, "the device certificate is not for the device key sent", nil)
	}
	if !guidRE.MatchString(cert.Subject.CommonName) {
		return nil, aad.DecodeError(op, "the device certificate's subject is not a device ID", nil)
	}
	return &Device{ID: cert.Subject.CommonName, Tenant: c.cfg.Tenant, Certificate: cert, key: key, transportKey: tkey}, nil
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Unregister deletes the device from the directory, authenticated by the
// device certificate (TLS client authentication). The local identity is
// left alone: remove it with RemoveDevice.
func (c *Client) Unregister(ctx context.Context, d *Device) error {
	const op = "unregister device"
	hc, err := c.clientWithCertificate(d)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	u := c.cfg.deviceRegistration() + "/EnrollmentServer/device/" + url.PathEscape(d.ID) + "?api-version=1.0"
	req, err := http.NewRequest(http.MethodDelete, u, nil)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	status, body, err := aad.RoundTrip(ctx, hc, c.cfg.timeout(), c.cfg.UserAgent, op, req)
	if err != nil {
		return err
	}
	switch status {
	case http.StatusOK, http.StatusNoContent, http.StatusAccepted:
		return nil
	case http.StatusNotFound:
		return &Error{Op: op, Status: status, Err: ErrDeviceNotFound}
	}
	return aad.ReplyError(op, status, body)
}

// clientWithCertificate is the client's HTTP client presenting the device
// certificate.
func (c *Client) clientWithCertificate(d *Device) (*http.Client, error) {
	if d == nil || d.key == nil || d.Certificate == nil {
		return nil, errors.New("the device identity is incomplete")
	}
	var t *http.Transport
	switch rt := c.http.Transport.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		t = rt.Clone()
	default:
		return nil, errors.New("Config.HTTPClient's transport is not an *http.Transport, so the device certificate cannot be added to it")
	}
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{RootCAs: c.cfg.RootCAs}
	}
	t.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{d.Certificate.Raw}, PrivateKey: d.key, Leaf: d.Certificate}}
	hc := *c.http
	hc.Transport = t
	return &hc, nil
}

// The files of a device directory.
const (
	deviceFile       = "device.json"
	deviceKeyFile    = "device-key.pem"
	transportKeyFile = "transport-key.pem"
)

type deviceJSON struct {
	ID          string `json:"id"`
	Tenant      string `json:"tenant"`
	Certificate string `json:"certificate"` // base64 DER
}

// Save writes the device identity into dir (made with mode 0700 if
// missing), every file with mode 0600, each written whole to a temporary
// name and renamed into place.
func (d *Device) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("entra: save device: %w", err)
	}
	keyPEM, err := privateKeyPEM(d.key)
	if err != nil {
		return fmt.Errorf("entra: save device: %w", err)
	}
	tkeyPEM, err := privateKeyPEM(d.transportKey)
	if err != nil {
		return fmt.Errorf("entra: save device: %w", err)
	}
	meta, err := json.MarshalIndent(deviceJSON{ID: d.ID, Tenant: d.Tenant, Certificate: base64.StdEncoding.EncodeToString(d.Certificate.Raw)}, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{deviceKeyFile, keyPEM}, {transportKeyFile, tkeyPEM}, {deviceFile, append(meta, '\n')}} {
		err := writeSecret(filepath.Join(dir, f.name), f.data)
		clear(f.data)
		if err != nil {
			return fmt.Errorf("entra: save device: %w", err)
		}
	}
	return nil
}

// LoadDevice reads a device identity that Save wrote. It refuses key
// files that others can read.
func LoadDevice(dir string) (*Device, error) {
	fail := func(err error) (*Device, error) { return nil, fmt.Errorf("entra: load device from %s: %w", dir, err) }
	meta, err := readSecret(filepath.Join(dir, deviceFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail(fmt.Errorf("%w: no device is registered here (smbkrb entra register)", ErrNotRegistered))
		}
		return fail(err)
	}
	var dj deviceJSON
	if err := json.Unmarshal(meta, &dj); err != nil {
		return fail(fmt.Errorf("%s: %v", deviceFile, err))
	}
	der, err := base64.StdEncoding.DecodeString(dj.Certificate)
	if err != nil {
		return fail(fmt.Errorf("%s: certificate: %v", deviceFile, err))
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fail(fmt.Errorf("%s: certificate: %v", deviceFile, err))
	}
	key, err := loadPrivateKey(filepath.Join(dir, deviceKeyFile))
	if err != nil {
		return fail(err)
	}
	tkey, err := loadPrivateKey(filepath.Join(dir, transportKeyFile))
	if err != nil {
		return fail(err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return fail(errors.New("the device key does not match the certificate"))
	}
	if dj.ID == "" || dj.ID != cert.Subject.CommonName {
		return fail(errors.New("the device ID does not match the certificate"))
	}
	return &Device{ID: dj.ID, Tenant: dj.Tenant, Certificate: cert, key: key, transportKey: tkey}, nil
}

// ErrNotRegistered means a directory holds no device identity.
var ErrNotRegistered = errors.New("no device identity")

// RemoveDevice deletes the device identity and any saved sign-in from
// dir, overwriting the key files first. Removing what is not there is not
// an error.
func RemoveDevice(dir string) error {
	var errs []error
	for _, name := range []string{sessionFile, deviceKeyFile, transportKeyFile, deviceFile} {
		if err := removeSecret(filepath.Join(dir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("entra: remove device: %w", err)
	}
	// The directory goes if it is now empty; other files keep it.
	os.Remove(dir)
	return nil
}
