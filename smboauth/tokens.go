package smboauth

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/managedidentity"

	"github.com/smbkrb/smbkrb/internal/aad"
)

// StorageResource is the audience of the access tokens Azure Files
// exchanges for Kerberos tickets (SMB OAuth); StorageScope is the v2
// scope that asks for them.
const (
	StorageResource = "https://storage.azure.com"
	StorageScope    = StorageResource + "/.default"
)

// AccessToken is an OAuth access token and when it expires. Token is a
// secret.
type AccessToken struct {
	Token     string
	ExpiresOn time.Time
}

// TokenSource gives access tokens for Azure Storage (StorageResource).
// Token is called before each ticket exchange; sources cache tokens and
// return quickly while one is valid.
type TokenSource interface {
	Token(ctx context.Context) (AccessToken, error)
}

// TokenFunc is a TokenSource from a function: a token the caller gets by
// other means (another library, a broker on the device).
type TokenFunc func(ctx context.Context) (AccessToken, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context) (AccessToken, error) { return f(ctx) }

// StaticToken is a TokenSource that always gives tok.
func StaticToken(tok AccessToken) TokenSource {
	return TokenFunc(func(context.Context) (AccessToken, error) { return tok, nil })
}

// confidentialSource is the client-credentials flow through MSAL.
type confidentialSource struct {
	app confidential.Client
	op  string
}

func (s *confidentialSource) Token(ctx context.Context) (AccessToken, error) {
	res, err := s.app.AcquireTokenByCredential(ctx, []string{StorageScope})
	if err != nil {
		if ctx.Err() != nil {
			return AccessToken{}, &Error{Op: s.op, Err: ctx.Err()}
		}
		return AccessToken{}, aad.MSALError(s.op, err)
	}
	return AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}, nil
}

func (c *Config) confidential(op, clientID string, cred confidential.Credential) (TokenSource, error) {
	if clientID == "" {
		return nil, &Error{Op: op, Err: errors.New("no client (application) ID")}
	}
	authority, err := c.authorityURL()
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	app, err := confidential.New(authority, clientID, cred,
		confidential.WithHTTPClient(c.httpClient()),
		// The authority is taken as configured (sovereign clouds, the
		// emulator): no instance discovery call to the public cloud.
		confidential.WithInstanceDiscovery(false))
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return &confidentialSource{app: app, op: op}, nil
}

// ClientSecretTokens is the client-credentials flow of an application
// (service principal) of the tenant c.Tenant with a client secret, through
// MSAL for Go: tokens for Azure Storage, cached until they near their end.
func (c *Config) ClientSecretTokens(clientID, secret string) (TokenSource, error) {
	const op = "client credentials"
	if secret == "" {
		return nil, &Error{Op: op, Err: errors.New("empty client secret")}
	}
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return c.confidential(op, clientID, cred)
}

// ClientCertificateTokens is the client-credentials flow of an
// application with a certificate (the first of certs, whose key is key):
// MSAL signs a client assertion with it. Prefer it to a secret on a
// device: the key can stay in a file only the service may read.
func (c *Config) ClientCertificateTokens(clientID string, certs []*x509.Certificate, key crypto.PrivateKey) (TokenSource, error) {
	const op = "client credentials"
	cred, err := confidential.NewCredFromCert(certs, key)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return c.confidential(op, clientID, cred)
}

// ParseCertificateKey reads a certificate and its private key from PEM
// (in one file or two, concatenated), for ClientCertificateTokens.
func ParseCertificateKey(pemData []byte) ([]*x509.Certificate, crypto.PrivateKey, error) {
	certs, key, err := confidential.CertFromPEM(pemData, "")
	if err != nil {
		return nil, nil, fmt.Errorf("smboauth: certificate and key: %w", err)
	}
	return certs, key, nil
}

// managedSource is a managed identity through MSAL.
type managedSource struct {
	app managedidentity.Client
}

func (s *managedSource) Token(ctx context.Context) (AccessToken, error) {
	const op = "managed identity"
	res, err := s.app.AcquireToken(ctx, StorageResource)
	if err != nil {
		if ctx.Err() != nil {
			return AccessToken{}, &Error{Op: op, Err: ctx.Err()}
		}
		return AccessToken{}, aad.MSALError(op, err)
	}
	return AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}, nil
}

// ManagedIdentityTokens gives tokens of the managed identity of the Azure
// host the process runs on, through MSAL for Go, which finds the source
// from the environment: App Service and Functions (IDENTITY_ENDPOINT and
// IDENTITY_HEADER), Azure Arc, Service Fabric, and otherwise the VM's
// instance metadata service. clientID "" is the system-assigned identity,
// anything else a user-assigned identity's client ID. It needs no Config:
// httpClient nil means MSAL's default.
func ManagedIdentityTokens(clientID string, httpClient *http.Client) (TokenSource, error) {
	var id managedidentity.ID = managedidentity.SystemAssigned()
	if clientID != "" {
		id = managedidentity.UserAssignedClientID(clientID)
	}
	var opts []managedidentity.ClientOption
	if httpClient != nil {
		opts = append(opts, managedidentity.WithHTTPClient(httpClient))
	}
	app, err := managedidentity.New(id, opts...)
	if err != nil {
		return nil, &Error{Op: "managed identity", Err: err}
	}
	return &managedSource{app: app}, nil
}
