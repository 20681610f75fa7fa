package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/smbkrb/smbkrb/krb5"
)

// cacheName is the cache the Kerberos commands work on: --cache, else
// the environment's default.
func (a *app) cacheName(o *options) string {
	if o.cache != "" {
		return o.cache
	}
	return defaultCacheName(a.getenv)
}

func cmdKinit(ctx context.Context, a *app, o *options, args []string) error {
	principal := o.user
	if len(args) == 1 {
		if o.user != "" && o.user != args[0] {
			return usagef("kinit", "two principals given: %s and --user %s", args[0], o.user)
		}
		principal = args[0]
	}
	if principal == "" {
		return usagef("kinit", "name the principal to log in as: smbkrb kinit alice@EXAMPLE.COM")
	}
	a.what = "kinit " + principal
	a.hints.principal = principal
	if o.keytab != "" && (o.passwordFile != "" || o.passwordStdin) {
		return usagef("kinit", "--keytab excludes --password-file and --password-stdin")
	}
	cfg, err := krb5Config("kinit", o)
	if err != nil {
		return err
	}
	if err := checkPrincipal("kinit", principal, cfg); err != nil {
		return err
	}
	var pw []byte
	if o.keytab == "" {
		if pw, err = a.readPassword("kinit", o, principal); err != nil {
			return err
		}
		defer clear(pw)
	}
	k, err := krb5.NewContext(cfg)
	if err != nil {
		return err
	}
	defer k.Close()
	cc, err := k.OpenCCache(a.cacheName(o))
	if err != nil {
		return err
	}
	defer cc.Close()
	a.hints.cache = cc.Name()
	opts := &krb5.InitCredsOptions{Enterprise: o.enterprise, Lifetime: o.lifetime}
	tctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var canon string
	if o.keytab != "" {
		canon, err = k.GetInitCredsKeytab(tctx, cc, principal, o.keytab, opts)
	} else {
		canon, err = k.GetInitCredsPassword(tctx, cc, principal, pw, opts)
		clear(pw)
	}
	if err != nil {
		return err
	}
	if err := tightenCache(cc.Name()); err != nil {
		return err
	}
	a.logf("logged in as %s; tickets in %s", canon, cc.Name())
	if a.verbose {
		if tickets, err := cc.Credentials(); err == nil {
			for _, t := range tickets {
				a.logf("ticket %s: session key %v, flags %s, valid until %s", t.Server, t.KeyEnctype, t.Flags, t.EndTime.Local().Format(time.DateTime))
			}
		}
	}
	return nil
}

// ticketJSON is a ticket in klist --json output. Times are RFC 3339;
// renew_till is null for a ticket that is not renewable.
type ticketJSON struct {
	Server        string  `json:"server"`
	Client        string  `json:"client"`
	Start         string  `json:"start"`
	End           string  `json:"end"`
	RenewTill     *string `json:"renew_till"`
	KeyEnctype    string  `json:"key_enctype"`
	TicketEnctype string  `json:"ticket_enctype"`
	Flags         string  `json:"flags"`
	Expired       bool    `json:"expired"`
}

type klistJSON struct {
	Cache     string       `json:"cache,omitempty"`
	Principal string       `json:"principal,omitempty"`
	Tickets   []ticketJSON `json:"tickets"`
	// Entra is the saved Microsoft Entra sign-in and its cache, when an
	// Entra tenant is configured and there is one.
	Entra *klistEntraJSON `json:"entra,omitempty"`
	// SMBOAuth are the SMB OAuth tickets, when there are any.
	SMBOAuth *klistOAuthJSON `json:"smb_oauth,omitempty"`
}

type klistOAuthJSON struct {
	Cache   string       `json:"cache"`
	Tickets []ticketJSON `json:"tickets"`
}

type klistEntraJSON struct {
	entraStatusJSON
	Cache   string       `json:"cache"`
	Tickets []ticketJSON `json:"tickets"`
}

func enctypeName(e krb5.Enctype) string {
	if e == 0 {
		return ""
	}
	return e.String()
}

func startTime(t krb5.CredentialInfo) time.Time {
	if t.StartTime.IsZero() {
		return t.AuthTime
	}
	return t.StartTime
}

// readCache opens a cache and lists it.
func readCache(k *krb5.Context, name string) (full, principal string, tickets []krb5.CredentialInfo, err error) {
	cc, err := k.OpenCCache(name)
	if err != nil {
		return "", "", nil, err
	}
	defer cc.Close()
	full = cc.Name()
	if principal, err = cc.Principal(); err != nil {
		return full, "", nil, err
	}
	tickets, err = cc.Credentials()
	return full, principal, tickets, err
}

func ticketsJSON(tickets []krb5.CredentialInfo, now time.Time) []ticketJSON {
	out := []ticketJSON{}
	for _, t := range tickets {
		j := ticketJSON{
			Server:        t.Server,
			Client:        t.Client,
			Start:         startTime(t).UTC().Format(time.RFC3339),
			End:           t.EndTime.UTC().Format(time.RFC3339),
			KeyEnctype:    enctypeName(t.KeyEnctype),
			TicketEnctype: enctypeName(t.TicketEnctype),
			Flags:         t.Flags.String(),
			Expired:       t.Expired(now),
		}
		if !t.RenewTill.IsZero() {
			s := t.RenewTill.UTC().Format(time.RFC3339)
			j.RenewTill = &s
		}
		out = append(out, j)
	}
	return out
}

func (a *app) printTickets(tickets []krb5.CredentialInfo, now time.Time) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Valid starting\tExpires\tRenew until\tFlags\tSession key / ticket enctype\tService principal")
	const layout = "2006-01-02 15:04:05"
	for _, t := range tickets {
		renew := "-"
		if !t.RenewTill.IsZero() {
			renew = t.RenewTill.Local().Format(layout)
		}
		end := t.EndTime.Local().Format(layout)
		if t.Expired(now) {
			end += " (expired)"
		}
		et := enctypeName(t.KeyEnctype)
		if t.TicketEnctype != 0 {
			et += " / " + enctypeName(t.TicketEnctype)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", startTime(t).Local().Format(layout), end, renew, t.Flags, et, t.Server)
	}
	return tw.Flush()
}

// klistEntra is the Entra part of klist: the saved sign-in and its
// cache; nil when there is no Entra tenant configured or no device.
func (a *app) klistEntra(k *krb5.Context, o *options, now time.Time) (*klistEntraJSON, error) {
	if o.cache != "" || !o.entraConfigured() {
		return nil, nil
	}
	dir, d, err := o.entraDevice()
	if err != nil {
		return nil, nil
	}
	st, err := entraStatusOf(dir, d, now)
	if err != nil {
		return nil, err
	}
	out := &klistEntraJSON{entraStatusJSON: st, Tickets: []ticketJSON{}}
	name, err := o.entraCacheName()
	if err != nil {
		return out, nil
	}
	full, _, tickets, err := readCache(k, name)
	out.Cache = full
	if err == nil {
		out.Tickets = ticketsJSON(tickets, now)
	}
	return out, nil
}

func cmdKlist(ctx context.Context, a *app, o *options, args []string) error {
	k, err := a.kerberos("klist", o)
	if err != nil {
		return err
	}
	defer k.Close()
	name := a.cacheName(o)
	a.what = "klist " + name
	now := time.Now()
	full, principal, tickets, cacheErr := readCache(k, name)
	if full != "" {
		a.hints.cache = full
	}
	ent, err := a.klistEntra(k, o, now)
	if err != nil {
		return err
	}
	var oauth *klistOAuthJSON
	if name, tickets := a.klistOAuth(k, o); name != "" {
		oauth = &klistOAuthJSON{Cache: name, Tickets: tickets}
	}
	if cacheErr != nil && ent == nil && oauth == nil {
		return cacheErr
	}
	if o.json {
		out := klistJSON{Tickets: []ticketJSON{}, Entra: ent, SMBOAuth: oauth}
		if cacheErr == nil {
			out.Cache, out.Principal, out.Tickets = full, principal, ticketsJSON(tickets, now)
		}
		return a.printJSON(out)
	}
	if cacheErr == nil {
		fmt.Fprintf(a.stdout, "Ticket cache: %s\nDefault principal: %s\n\n", full, principal)
		if err := a.printTickets(tickets, now); err != nil {
			return err
		}
	}
	if oauth != nil {
		if cacheErr == nil {
			fmt.Fprintln(a.stdout)
		}
		fmt.Fprintf(a.stdout, "SMB OAuth tickets (exchanged for access tokens): %s\n\n", oauth.Cache)
		if _, _, t, err := readCache(k, oauth.Cache); err == nil {
			if err := a.printTickets(t, now); err != nil {
				return err
			}
		}
	}
	if ent == nil {
		return nil
	}
	if cacheErr == nil || oauth != nil {
		fmt.Fprintln(a.stdout)
	}
	fmt.Fprintf(a.stdout, "Microsoft Entra: device %s of tenant %s\n", ent.DeviceID, ent.Tenant)
	if !ent.SignedIn {
		fmt.Fprintf(a.stdout, "Not signed in (smbkrb entra login)\n")
		return nil
	}
	fmt.Fprintf(a.stdout, "Signed in as %s; PRT until %s\n", ent.User, localTime(ent.PRTExpires))
	if ent.Client != "" {
		note := ""
		if ent.TGTExpired {
			note = " (expired: the next command refreshes it)"
		}
		fmt.Fprintf(a.stdout, "Cloud TGT: %s, valid until %s%s\n", ent.Client, localTime(ent.TGTEnd), note)
	}
	fmt.Fprintf(a.stdout, "Ticket cache: %s\n\n", ent.Cache)
	if len(ent.Tickets) == 0 {
		fmt.Fprintf(a.stdout, "(no tickets)\n")
		return nil
	}
	var infos []krb5.CredentialInfo
	if _, _, t, err := readCache(k, ent.Cache); err == nil {
		infos = t
	}
	return a.printTickets(infos, now)
}

func cmdKdestroy(ctx context.Context, a *app, o *options, args []string) error {
	k, err := a.kerberos("kdestroy", o)
	if err != nil {
		return err
	}
	defer k.Close()
	name := a.cacheName(o)
	a.what = "kdestroy " + name
	cc, err := k.OpenCCache(name)
	if err != nil {
		return err
	}
	full := cc.Name()
	if err := cc.Destroy(); err != nil {
		if errors.Is(err, krb5.ErrNoCredentials) {
			a.logf("no cache %s to destroy", full)
			return nil
		}
		return err
	}
	a.logf("destroyed %s", full)
	return nil
}
