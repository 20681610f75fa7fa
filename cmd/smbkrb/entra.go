package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smbkrb/smbkrb/entra"
	"github.com/smbkrb/smbkrb/krb5"
	"github.com/smbkrb/smbkrb/platform/linux"
)

// entraConfigured reports whether the settings name an Entra tenant.
func (o *options) entraConfigured() bool { return o.entraTenant != "" }

// entraDir is the directory of the device identity and the saved
// sign-in: --entra-dir, else the platform's device directory.
func (o *options) entraDir() (string, error) {
	if o.entraDirFlag != "" {
		return o.entraDirFlag, nil
	}
	return linux.DeviceDir()
}

// entraDevice loads the device identity from its directory.
func (o *options) entraDevice() (string, *entra.Device, error) {
	dir, err := o.entraDir()
	if err != nil {
		return "", nil, err
	}
	d, err := entra.LoadDevice(dir)
	return dir, d, err
}

// entraCacheName is the credential cache of the Entra sign-in: --cache,
// else a FILE: cache in the device directory. It is kept apart from the
// default cache, whose tickets may be another realm's user's.
func (o *options) entraCacheName() (string, error) {
	if o.cache != "" {
		return o.cache, nil
	}
	dir, err := o.entraDir()
	if err != nil {
		return "", err
	}
	return "FILE:" + filepath.Join(dir, "krb5cc"), nil
}

// rootCAs is the --ca pool, or nil for the system's roots.
func rootCAs(cmd string, o *options) (*x509.CertPool, error) {
	if o.ca == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(o.ca)
	if err != nil {
		return nil, settingf(cmd, "", "--ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, settingf(cmd, "--ca takes CA certificates in PEM form", "--ca: %s holds no PEM certificate", o.ca)
	}
	return pool, nil
}

// entraClient is the Entra client the settings describe.
func (a *app) entraClient(cmd string, o *options) (*entra.Client, error) {
	if !o.entraConfigured() {
		return nil, settingf(cmd, "add a line 'entra-tenant TENANT-ID' to the configuration file, or pass --entra-tenant", "no Entra tenant is set")
	}
	pool, err := rootCAs(cmd, o)
	if err != nil {
		return nil, err
	}
	c, err := entra.NewClient(&entra.Config{
		Tenant:             o.entraTenant,
		Domain:             o.entraDomain,
		Authority:          o.entraAuthority,
		DeviceRegistration: o.entraDRS,
		KDCProxy:           o.entraKDC,
		RootCAs:            pool,
		Timeout:            o.timeout,
		UserAgent:          "smbkrb/" + strings.Fields(versionString())[1],
	})
	if err != nil {
		return nil, settingf(cmd, "check the entra-* settings", "%v", err)
	}
	return c, nil
}

// addEntraRealm adds the Entra Kerberos realm (its KDC the tenant's KDC
// proxy) and the Azure Files mapping to cfg, after the user's own
// mappings, which win for the hosts they name.
func (a *app) addEntraRealm(ctx context.Context, cmd string, o *options, cfg *krb5.Config) error {
	c, err := a.entraClient(cmd, o)
	if err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return c.AddRealm(tctx, cfg)
}

// entraSession loads the device identity and the saved sign-in.
func (a *app) entraSession(o *options) (*entra.SignIn, string, error) {
	dir, d, err := o.entraDevice()
	if err != nil {
		return nil, dir, err
	}
	s, err := entra.LoadSignIn(dir, d)
	return s, dir, err
}

func cmdEntra(ctx context.Context, a *app, o *options, args []string) error {
	action := args[0]
	rest := args[1:]
	a.what = "entra " + action
	want := func(n int) error {
		if len(rest) > n {
			return usagef("entra", "entra %s takes %s", action, map[int]string{0: "no arguments", 1: "at most one argument, the user principal name"}[n])
		}
		return nil
	}
	switch action {
	case "register":
		if err := want(0); err != nil {
			return err
		}
		return a.entraRegister(ctx, o)
	case "login":
		if err := want(1); err != nil {
			return err
		}
		user := o.user
		if len(rest) == 1 {
			user = rest[0]
		}
		return a.entraLogin(ctx, o, user)
	case "logout":
		if err := want(0); err != nil {
			return err
		}
		return a.entraLogout(o)
	case "status":
		if err := want(0); err != nil {
			return err
		}
		return a.entraStatus(o)
	case "unregister":
		if err := want(0); err != nil {
			return err
		}
		return a.entraUnregister(ctx, o)
	}
	return usagef("entra", "unknown entra action %q: register, login, logout, status or unregister", action)
}

// deviceCode runs a device-code sign-in, showing its instructions on
// stderr.
func (a *app) deviceCode(ctx context.Context, c *entra.Client) (*entra.DeviceCodeResult, error) {
	// The user needs time to complete the sign-in elsewhere: the code
	// lasts 15 minutes, not --timeout.
	dctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	return c.DeviceCodeSignIn(dctx, func(msg string) {
		fmt.Fprintf(a.stderr, "%s\n", msg)
	})
}

func (a *app) entraRegister(ctx context.Context, o *options) error {
	c, err := a.entraClient("entra", o)
	if err != nil {
		return err
	}
	dir, err := o.entraDir()
	if err != nil {
		return err
	}
	if d, err := entra.LoadDevice(dir); err == nil {
		return settingf("entra", "smbkrb entra unregister removes it (or use another --entra-dir)", "a device is already registered in %s: %s", dir, d.ID)
	}
	var token string
	if o.tokenFile != "" {
		b, err := readPasswordFile("entra", o.tokenFile)
		if err != nil {
			return err
		}
		token = string(b)
		clear(b)
	} else {
		res, err := a.deviceCode(ctx, c)
		if err != nil {
			return err
		}
		token = res.AccessToken
		a.logf("signed in as %s for the registration", res.User)
	}
	// Not bounded by --timeout as a whole: making two RSA keys takes
	// seconds on a small board. Each request is (Config.Timeout).
	d, err := c.Register(ctx, token, &entra.RegisterOptions{DisplayName: o.deviceName})
	if err != nil {
		return err
	}
	if err := d.Save(dir); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "registered device %s in tenant %s; its identity is in %s\n", d.ID, d.Tenant, dir)
	return nil
}

func (a *app) entraLogin(ctx context.Context, o *options, user string) error {
	c, err := a.entraClient("entra", o)
	if err != nil {
		return err
	}
	dir, d, err := o.entraDevice()
	if err != nil {
		return err
	}
	if !o.deviceCode && user == "" {
		return usagef("entra", "name the user (smbkrb entra login alice@contoso.com), or sign in with --device-code")
	}
	var pw []byte
	if !o.deviceCode {
		a.what = "entra login " + user
		if pw, err = a.readPassword("entra", o, user); err != nil {
			return err
		}
		defer clear(pw)
	}
	cfg, err := krb5Config("entra", o)
	if err != nil {
		return err
	}
	if err := a.addEntraRealm(ctx, "entra", o, cfg); err != nil {
		return err
	}
	k, err := krb5.NewContext(cfg)
	if err != nil {
		return err
	}
	defer k.Close()
	var s *entra.SignIn
	if o.deviceCode {
		res, err := a.deviceCode(ctx, c)
		if err != nil {
			return err
		}
		a.what = "entra login " + res.User
		tctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		s, err = c.SignInRefreshToken(tctx, d, res.RefreshToken)
		if err != nil {
			return err
		}
	} else {
		tctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		s, err = c.SignInPassword(tctx, d, user, pw)
		clear(pw)
		if err != nil {
			return err
		}
	}
	defer s.Close()
	if err := s.Save(dir); err != nil {
		return err
	}
	name, err := o.entraCacheName()
	if err != nil {
		return err
	}
	cc, err := k.OpenCCache(name)
	if err != nil {
		return err
	}
	defer cc.Close()
	if err := s.StoreTGT(cc); err != nil {
		return err
	}
	if err := tightenCache(cc.Name()); err != nil {
		return err
	}
	in := s.Info()
	fmt.Fprintf(a.stdout, "signed in as %s on device %s; cloud TGT for %s valid until %s\n",
		in.User, in.DeviceID, in.Client, in.TGTEnd.Local().Format(time.DateTime))
	a.logf("sign-in saved in %s (PRT until %s); tickets in %s", dir, in.PRTExpires.Local().Format(time.DateTime), cc.Name())
	return nil
}

func (a *app) entraLogout(o *options) error {
	dir, err := o.entraDir()
	if err != nil {
		return err
	}
	if err := entra.RemoveSignIn(dir); err != nil {
		return err
	}
	if name, err := o.entraCacheName(); err == nil && cacheFile(name) != "" {
		if err := os.Remove(cacheFile(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	a.logf("removed the saved sign-in from %s", dir)
	return nil
}

func (a *app) entraUnregister(ctx context.Context, o *options) error {
	dir, d, err := o.entraDevice()
	if err != nil {
		return err
	}
	if !o.localOnly {
		c, err := a.entraClient("entra", o)
		if err != nil {
			return err
		}
		tctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		err = c.Unregister(tctx, d)
		switch {
		case errors.Is(err, entra.ErrDeviceNotFound):
			fmt.Fprintf(a.stderr, "smbkrb: entra unregister: the directory no longer has device %s; removing it here\n", d.ID)
		case err != nil:
			return fmt.Errorf("%w (to forget the device here only, use --local)", err)
		}
	}
	if name, err := o.entraCacheName(); err == nil && cacheFile(name) != "" {
		os.Remove(cacheFile(name))
	}
	if err := entra.RemoveDevice(dir); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "unregistered device %s; removed its identity from %s\n", d.ID, dir)
	return nil
}

// entraStatusJSON is entra status --json.
type entraStatusJSON struct {
	Dir        string   `json:"dir"`
	Tenant     string   `json:"tenant"`
	DeviceID   string   `json:"device_id"`
	SignedIn   bool     `json:"signed_in"`
	User       string   `json:"user,omitempty"`
	PRTExpires string   `json:"prt_expires,omitempty"`
	Client     string   `json:"client,omitempty"`
	TGTStart   string   `json:"tgt_start,omitempty"`
	TGTEnd     string   `json:"tgt_end,omitempty"`
	TGTExpired bool     `json:"tgt_expired,omitempty"`
	TopLevel   []string `json:"kerberos_top_level_names,omitempty"`
}

// entraStatusOf describes the device d in dir and its saved sign-in.
func entraStatusOf(dir string, d *entra.Device, now time.Time) (entraStatusJSON, error) {
	out := entraStatusJSON{Dir: dir, Tenant: d.Tenant, DeviceID: d.ID}
	s, err := entra.LoadSignIn(dir, d)
	if errors.Is(err, entra.ErrNoSignIn) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	defer s.Close()
	in := s.Info()
	out.SignedIn, out.User = true, in.User
	out.PRTExpires = in.PRTExpires.UTC().Format(time.RFC3339)
	out.TopLevel = in.TopLevelNames
	if in.Client != "" {
		out.Client = in.Client
		out.TGTStart = in.TGTStart.UTC().Format(time.RFC3339)
		out.TGTEnd = in.TGTEnd.UTC().Format(time.RFC3339)
		out.TGTExpired = !now.Before(in.TGTEnd)
	}
	return out, nil
}

func (a *app) entraStatus(o *options) error {
	dir, d, err := o.entraDevice()
	if err != nil {
		return err
	}
	out, err := entraStatusOf(dir, d, time.Now())
	if err != nil {
		return err
	}
	if o.json {
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Device:\t%s (tenant %s)\n", out.DeviceID, out.Tenant)
	fmt.Fprintf(tw, "Identity in:\t%s\n", dir)
	if !out.SignedIn {
		fmt.Fprintf(tw, "Signed in:\tno (smbkrb entra login)\n")
		return tw.Flush()
	}
	fmt.Fprintf(tw, "Signed in:\t%s, PRT until %s\n", out.User, localTime(out.PRTExpires))
	if out.Client != "" {
		exp := ""
		if out.TGTExpired {
			exp = " (expired: the next command refreshes it)"
		}
		fmt.Fprintf(tw, "Cloud TGT:\t%s, valid %s to %s%s\n", out.Client, localTime(out.TGTStart), localTime(out.TGTEnd), exp)
	}
	return tw.Flush()
}

// localTime shows an RFC 3339 time in local time.
func localTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Local().Format(time.DateTime)
}

// entraCredentials is the credential source for a file command on a
// server in the Entra realm: the saved sign-in, refreshed (and saved
// again) when its TGT nears its end. It returns nil when no Entra tenant
// is configured.
func (a *app) entraCredentials(cmd string, o *options) (*entra.SignInCredentials, func(), error) {
	c, err := a.entraClient(cmd, o)
	if err != nil {
		return nil, nil, err
	}
	s, dir, err := a.entraSession(o)
	if err != nil {
		return nil, nil, err
	}
	creds := c.Credentials(s, dir)
	creds.OnRefresh = func(in entra.Info) {
		a.logf("refreshed the Entra sign-in: cloud TGT valid until %s", in.TGTEnd.Local().Format(time.DateTime))
	}
	return creds, s.Close, nil
}
