package entra

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/smbkrb/smbkrb/internal/aad"
)

// writeSecret writes data to path with mode 0600: to a temporary file in
// the same directory, synced, then renamed over path, so that a crash
// leaves the old file or the new one, never half of one.
func writeSecret(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// readSecret reads a file that holds secrets, refusing one that the group
// or others may read or write.
func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v: it holds secrets, so only its owner may read it (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	if fi.Size() > aad.MaxReply {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, aad.MaxReply)
	}
	// One buffer of the file's size: no copies of the secret left behind
	// by a growing slice.
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		clear(data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// removeSecret overwrites a file with zeros and removes it; a missing file
// is not an error.
func removeSecret(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.Write(make([]byte, fi.Size()))
		f.Sync()
		f.Close()
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func privateKeyPEM(k *rsa.PrivateKey) ([]byte, error) {
	if k == nil {
		return nil, errors.New("no key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	clear(der)
	return out, nil
}

func loadPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := readSecret(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM private key", path)
	}
	defer clear(b.Bytes)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%s is not an RSA key of 2048 bits or more", path)
	}
	return rk, nil
}
