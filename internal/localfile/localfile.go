// Package localfile writes a local file the way smbkrb's downloads do:
// into a hidden temporary file next to the target, renamed over the
// target only when every byte is written and synced, so that the target
// never holds a partial download.
package localfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Atomic is a download in progress: write to it, then Commit or Abort.
type Atomic struct {
	*os.File
	target string
	done   bool
}

// Create starts a file that will replace target: a hidden temporary file
// in target's directory (".<base>.smbkrb-<random>.part"), with the mode a
// new file gets (0666 less the umask).
func Create(target string) (*Atomic, error) {
	dir, base := filepath.Split(target)
	for range 10 {
		var rnd [6]byte
		rand.Read(rnd[:])
		name := filepath.Join(dir, "."+base+".smbkrb-"+hex.EncodeToString(rnd[:])+".part")
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("cannot create %s: %w", target, pe.Err)
		}
		if err != nil {
			return nil, err
		}
		return &Atomic{File: f, target: target}, nil
	}
	return nil, fmt.Errorf("cannot create a temporary file next to %s", target)
}

// Commit syncs the file, closes it and renames it over the target.
func (a *Atomic) Commit() error {
	if a.done {
		return errors.New("localfile: already committed or aborted")
	}
	a.done = true
	err := a.File.Sync()
	if cerr := a.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.File.Name(), a.target)
	}
	if err != nil {
		os.Remove(a.File.Name())
	}
	return err
}

// Abort closes and removes the temporary file, leaving the target as it
// was. After Commit it does nothing, so it can be deferred.
func (a *Atomic) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.File.Close()
	os.Remove(a.File.Name())
}
