package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// options are the settings of one run: from the command line, then the
// configuration file for what the command line left unset.
type options struct {
	// Kerberos and connection settings.
	config      string
	realm       string
	kdcs        kvList // REALM=KDC
	ca          string
	maps        kvList // host or .suffix=REALM
	addrs       kvList // NAME=ADDRESS
	spn         string
	encrypt     bool
	parallel    int
	chunk       sizeValue
	timeout     time.Duration
	clockSkew   time.Duration
	useKrb5Conf bool
	cache       string

	// Credentials.
	user          string
	keytab        string
	passwordFile  string
	passwordStdin bool
	enterprise    bool

	// Output.
	verbose bool
	quiet   bool

	// Microsoft Entra.
	entraTenant    string
	entraDomain    string
	entraAuthority string
	entraDRS       string
	entraKDC       string
	entraDirFlag   string
	deviceCode     bool
	tokenFile      string
	deviceName     string
	localOnly      bool

	// Azure Files SMB OAuth.
	oauthClientID   string
	oauthCert       string
	oauthSecretFile string
	managedIdentity bool
	managedID       string
	oauthEndpoint   string

	// Command-specific.
	long     bool
	json     bool
	parents  bool
	inPlace  bool
	lifetime time.Duration

	// Trees (get -r, put -r, ls -R).
	recursive bool
	update    bool
	dryRun    bool
	files     int

	// mount.
	readOnly    bool
	uid, gid    int
	fileMode    modeValue
	dirMode     modeValue
	attrTimeout time.Duration
	stagingDir  string
	allowOther  bool
	fuseDebug   bool
	// keepLogin keeps the password after the dial, for logins to come
	// (set by mount, not a flag).
	keepLogin bool

	// configDir is the directory of the configuration file read, for
	// relative paths in it.
	configDir string
}

// Flag groups; a command registers the groups it uses.
const (
	groupKerberos  = 1 << iota // config, realm, kdc, ca, map, timeout, cache, ...
	groupLogin                 // user, keytab, password-file, password-stdin, enterprise
	groupServer                // addr, spn, encrypt
	groupTransfer              // parallel, chunk, quiet
	groupCacheOnly             // config, cache (klist, kdestroy)
	groupEntra                 // entra-tenant, entra-authority, entra-dir, ...
	groupOAuth                 // oauth-client-id, oauth-cert, managed-identity, ...
)

// shortNames maps a long flag to its one-letter alias.
var shortNames = map[string]string{
	"user":    "u",
	"verbose": "v",
	"quiet":   "q",
	"help":    "h",
}

// configurable lists the flags that may appear as keys in the
// configuration file.
var configurable = map[string]bool{
	"realm": true, "kdc": true, "ca": true, "map": true, "addr": true, "spn": true,
	"encrypt": true, "parallel": true, "chunk": true, "timeout": true, "clock-skew": true,
	"use-krb5-conf": true, "cache": true, "user": true, "keytab": true,
	"password-file": true, "enterprise": true, "verbose": true, "quiet": true,
	"entra-tenant": true, "entra-domain": true, "entra-authority": true, "entra-drs": true,
	"entra-kdc": true, "entra-dir": true,
	"oauth-client-id": true, "oauth-cert": true, "oauth-secret-file": true,
	"managed-identity": true, "managed-identity-id": true, "oauth-endpoint": true,
}

// register adds the flags of groups, and the common ones, to fs.
func (o *options) register(fs *flag.FlagSet, groups int) {
	str := func(p *string, name, arg, usage string) {
		fs.StringVar(p, name, "", "`"+arg+"`: "+usage)
		if s, ok := shortNames[name]; ok {
			fs.StringVar(p, s, "", "`"+arg+"`: "+usage)
		}
	}
	boolean := func(p *bool, name, usage string) {
		fs.BoolVar(p, name, false, usage)
		if s, ok := shortNames[name]; ok {
			fs.BoolVar(p, s, false, usage)
		}
	}
	fs.StringVar(&o.config, "config", "", "`FILE`: the configuration file (default $SMBKRB_CONFIG, else ~/.config/smbkrb/config if it exists)")
	boolean(&o.verbose, "verbose", "say on stderr what happens: principal, tickets, server, dialect, signing, encryption, bytes, time, sha256")
	if groups&(groupKerberos|groupCacheOnly) != 0 {
		str(&o.cache, "cache", "NAME", "the credential cache: FILE:/path, DIR:/path, KEYRING:..., MEMORY:name (see 'smbkrb help credentials')")
	}
	if groups&groupKerberos != 0 {
		str(&o.realm, "realm", "REALM", "the default realm, for principal names without one")
		o.kdcs = kvList{name: "kdc", check: checkKDC}
		fs.Var(&o.kdcs, "kdc", "`REALM=KDC`: a KDC of REALM, host:port or https://proxy/KdcProxy (repeatable)")
		str(&o.ca, "ca", "FILE", "PEM file of the roots trusted for https KDC proxies and Microsoft Entra (default: the system roots)")
		o.maps = kvList{name: "map", check: checkMap}
		fs.Var(&o.maps, "map", "`HOST=REALM`: server host HOST, or every host under .SUFFIX, is in REALM (repeatable)")
		fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "`DURATION`: bound for login, connect and each metadata operation")
		fs.DurationVar(&o.clockSkew, "clock-skew", 0, "`DURATION`: the clock difference to tolerate (default 5m)")
		fs.BoolVar(&o.useKrb5Conf, "use-krb5-conf", false, "also read the MIT configuration of the environment ($KRB5_CONFIG or /etc/krb5.conf)")
	}
	if groups&groupLogin != 0 {
		str(&o.user, "user", "PRINCIPAL", "log in as PRINCIPAL (user@REALM) instead of using the cache's tickets")
		str(&o.keytab, "keytab", "FILE", "log in with the key in this keytab instead of a password")
		str(&o.passwordFile, "password-file", "FILE", "read the password from the first line of FILE (mode 0600 or stricter)")
		fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
		fs.BoolVar(&o.enterprise, "enterprise", false, "the principal is an enterprise name (a UPN such as alice@example.com)")
	}
	if groups&groupServer != 0 {
		o.addrs = kvList{name: "addr", check: checkAddr}
		fs.Var(&o.addrs, "addr", "`NAME=ADDRESS`: connect to ADDRESS (host or host:port) for server NAME (repeatable)")
		str(&o.spn, "spn", "SPN", "the service principal to ask a ticket for (default cifs/SERVER)")
		fs.BoolVar(&o.encrypt, "encrypt", false, "encrypt the whole session, every share included (fails if the server has no cipher in common)")
	}
	if groups&groupEntra != 0 {
		fs.StringVar(&o.entraTenant, "entra-tenant", "", "`TENANT`: the Microsoft Entra tenant ID (or a verified domain): Azure Files accounts under .file.core.windows.net use Entra Kerberos")
		fs.StringVar(&o.entraDomain, "entra-domain", "", "`DOMAIN`: the domain whose device registration service registers this device (default: the tenant, when it is a domain)")
		fs.StringVar(&o.entraAuthority, "entra-authority", "", "`URL`: the Entra login service (default https://login.microsoftonline.com)")
		fs.StringVar(&o.entraDRS, "entra-drs", "", "`URL`: the device registration service (default https://enterpriseregistration.windows.net)")
		fs.StringVar(&o.entraKDC, "entra-kdc", "", "`URL`: the Entra KDC proxy (default AUTHORITY/TENANT/kerberos)")
		fs.StringVar(&o.entraDirFlag, "entra-dir", "", "`DIR`: where the device identity and the sign-in are kept (default /var/lib/smbkrb/device for root, else ~/.local/state/smbkrb/device)")
	}
	if groups&groupOAuth != 0 {
		fs.StringVar(&o.oauthClientID, "oauth-client-id", "", "`ID`: SMB OAuth as this application (client ID), with --oauth-cert or --oauth-secret-file; needs --entra-tenant")
		fs.StringVar(&o.oauthCert, "oauth-cert", "", "`FILE`: PEM certificate and private key of the application (mode 0600)")
		fs.StringVar(&o.oauthSecretFile, "oauth-secret-file", "", "`FILE`: the application's client secret, first line (mode 0600); or set $SMBKRB_OAUTH_SECRET")
		fs.BoolVar(&o.managedIdentity, "managed-identity", false, "SMB OAuth as the host's system-assigned managed identity")
		fs.StringVar(&o.managedID, "managed-identity-id", "", "`ID`: SMB OAuth as this user-assigned managed identity (client ID)")
		fs.StringVar(&o.oauthEndpoint, "oauth-endpoint", "", "`URL`: the file endpoint of the ticket exchange, {account} for the server name (default https://{account})")
	}
	if groups&groupTransfer != 0 {
		fs.IntVar(&o.parallel, "parallel", 0, "`N`: requests in flight per transfer at most (default 4; a long transfer keeps 1 when that measures faster)")
		o.chunk = sizeValue{}
		fs.Var(&o.chunk, "chunk", "`SIZE`: the size of each request, such as 1MiB or 256KiB (default 4MiB)")
		boolean(&o.quiet, "quiet", "no progress bar")
	}
}

// kvList is a repeatable KEY=VALUE flag.
type kvList struct {
	name  string
	check func(k, v string) error
	items []kv
}

type kv struct{ k, v string }

func (l *kvList) String() string {
	if l == nil {
		return ""
	}
	var s []string
	for _, it := range l.items {
		s = append(s, it.k+"="+it.v)
	}
	return strings.Join(s, ",")
}

func (l *kvList) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || k == "" || v == "" {
		return fmt.Errorf("%q is not KEY=VALUE", s)
	}
	if l.check != nil {
		if err := l.check(k, v); err != nil {
			return err
		}
	}
	l.items = append(l.items, kv{k, v})
	return nil
}

// has reports whether key is in the list (case-insensitively).
func (l *kvList) has(key string) bool {
	for _, it := range l.items {
		if strings.EqualFold(it.k, key) {
			return true
		}
	}
	return false
}

// lookup returns the first value of key (case-insensitively).
func (l *kvList) lookup(key string) (string, bool) {
	for _, it := range l.items {
		if strings.EqualFold(it.k, key) {
			return it.v, true
		}
	}
	return "", false
}

func checkKDC(realm, kdc string) error {
	if strings.ContainsAny(realm, " \t/@") {
		return fmt.Errorf("%q is not a realm name", realm)
	}
	if strings.Contains(kdc, "://") {
		u, err := url.Parse(kdc)
		if err != nil {
			return fmt.Errorf("KDC proxy URL %q: %v", kdc, err)
		}
		if u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("KDC proxy URL %q: only https://host/path is allowed (Kerberos must not cross the network over plain HTTP)", kdc)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(kdc)
	if err != nil {
		host, port = kdc, "88"
	}
	if n, err := strconv.Atoi(port); host == "" || err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("KDC %q is not host, host:port or an https:// URL", kdc)
	}
	return nil
}

func checkMap(host, realm string) error {
	if host == "." || strings.ContainsAny(host, " \t/@:") {
		return fmt.Errorf("%q is not a host name or .domain suffix", host)
	}
	if strings.ContainsAny(realm, " \t/@") {
		return fmt.Errorf("%q is not a realm name", realm)
	}
	return nil
}

func checkAddr(name, addr string) error {
	if strings.ContainsAny(name, " \t/@") {
		return fmt.Errorf("%q is not a server name", name)
	}
	if strings.ContainsAny(addr, " \t/@") {
		return fmt.Errorf("%q is not an address (host or host:port)", addr)
	}
	return nil
}

// sizeValue is a byte count flag: 65536, 64K, 64KiB, 1M, 1MiB (binary
// units either way).
type sizeValue struct{ n int }

func (s *sizeValue) String() string {
	if s == nil || s.n == 0 {
		return ""
	}
	return formatBytes(int64(s.n))
}

func (s *sizeValue) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	s.n = n
	return nil
}

func parseSize(v string) (int, error) {
	t := strings.TrimSpace(v)
	mult := 1
	lower := strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(lower, u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 || n > (1<<30)/mult {
		return 0, fmt.Errorf("%q is not a size such as 65536, 256KiB or 1MiB (at most 1GiB)", v)
	}
	return n * mult, nil
}

// parseArgs parses args with fs, letting flags and positional arguments
// mix ("ls //srv/share -l"); "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// splitCommand finds the command among args: the first argument that is
// neither a flag nor a flag's value. It returns the command and the other
// arguments.
func splitCommand(args []string) (string, []string) {
	// Every flag of every command, to know which take a value.
	var sets []*flag.FlagSet
	for _, c := range commands {
		var o options
		sets = append(sets, c.newFlagSet(&o))
	}
	lookup := func(name string) *flag.Flag {
		for _, fs := range sets {
			if f := fs.Lookup(name); f != nil {
				return f
			}
		}
		return nil
	}
	without := func(i, n int) []string { return append(append([]string{}, args[:i]...), args[i+n:]...) }
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--" && i+1 < len(args):
			return args[i+1], without(i, 2)
		case a == "--":
			return "", args[:i]
		case a == "-" || !strings.HasPrefix(a, "-"):
			return a, without(i, 1)
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		i++ // the flag's value
	}
	return "", args
}

// printFlags writes fs's flags, with one-letter aliases next to their long
// names, in the style "  -u, --user PRINCIPAL".
func printFlags(w io.Writer, fs *flag.FlagSet) {
	alias := map[string]string{}
	for long, short := range shortNames {
		alias[short] = long
	}
	type entry struct{ name, head, usage string }
	var list []entry
	fs.VisitAll(func(f *flag.Flag) {
		if _, isAlias := alias[f.Name]; isAlias && fs.Lookup(alias[f.Name]) != nil {
			return
		}
		arg, usage := flag.UnquoteUsage(f)
		usage = strings.TrimPrefix(usage, arg+": ")
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			arg = ""
		}
		head := "  "
		if s, ok := shortNames[f.Name]; ok && fs.Lookup(s) != nil {
			head += "-" + s + ", "
		}
		if len(f.Name) == 1 {
			head += "-" + f.Name
		} else {
			head += "--" + f.Name
		}
		if arg != "" {
			head += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			usage += " (default " + f.DefValue + ")"
		}
		list = append(list, entry{f.Name, head, usage})
	})
	sort.SliceStable(list, func(i, j int) bool { return list[i].name < list[j].name })
	for _, e := range list {
		fmt.Fprintf(w, "%s\n    \t%s\n", e.head, e.usage)
	}
}

// usageError marks a mistake in how the command was called or set up
// (exit code 2).
type usageError struct {
	cmd  string
	msg  string
	hint string
}

func (e *usageError) Error() string { return e.msg }

// usagef is a mistake in the command line.
func usagef(cmd, format string, args ...any) error {
	hint := "smbkrb help shows the commands"
	if cmd != "" {
		hint = "smbkrb " + cmd + " -h shows the usage"
	}
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...), hint: hint}
}

// settingf is a mistake in a setting, in the configuration file or a
// file a setting names; hint says what to do, "" when msg does.
func settingf(cmd, hint, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...), hint: hint}
}
