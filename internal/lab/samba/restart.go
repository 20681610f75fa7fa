package samba

import (
	"errors"
	"time"
)

// errClosed is returned by the lifecycle methods of a closed DC.
var errClosed = errors.New("samba: DC is closed")

// Stop stops samba as Close does (closing its stdin, then killing its
// process group after a grace period) but keeps the DC usable: StartAgain
// starts it again on the same directory, configuration and addresses.
// Every client connection breaks. Stopping a stopped DC does nothing.
func (d *DC) Stop() error {
	d.life.Lock()
	defer d.life.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	d.stopLocked()
	return nil
}

// StartAgain starts a stopped DC again, with the directory, configuration
// and addresses it had, and waits as Start does until it serves Kerberos
// and SMB (ports 88 and 445 accept and winbindd answers wbinfo), within
// Options.ReadyTimeout. Users, keys and files are those of before the
// stop; SMB sessions are not (clients must reconnect). On error the DC is
// stopped again and StartAgain may be retried.
func (d *DC) StartAgain() error {
	d.life.Lock()
	defer d.life.Unlock()
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return errClosed
	case d.cmd != nil:
		d.mu.Unlock()
		return errors.New("samba: DC is already running")
	}
	d.mu.Unlock()
	if err := d.start(); err != nil {
		d.mu.Lock()
		d.stopLocked()
		d.mu.Unlock()
		return err
	}
	return nil
}

// Restart stops the DC (Stop), waits down, and starts it again
// (StartAgain): a server restart in the middle of a client's work. The
// clients' TCP connections break at the stop; while the DC is down,
// connections are refused.
func (d *DC) Restart(down time.Duration) error {
	if err := d.Stop(); err != nil {
		return err
	}
	time.Sleep(down)
	return d.StartAgain()
}
