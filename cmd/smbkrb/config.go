package main

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/smbkrb/smbkrb/krb5"
)

// configPath is the configuration file to read: --config, else
// $SMBKRB_CONFIG, else the default file if it exists; "" means none.
func configPath(o *options, getenv func(string) string) (string, bool) {
	if o.config != "" {
		return o.config, true
	}
	if p := getenv("SMBKRB_CONFIG"); p != "" {
		return p, true
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", false
	}
	p := filepath.Join(dir, "smbkrb", "config")
	if _, err := os.Stat(p); err != nil {
		return "", false
	}
	return p, false
}

// loadConfig applies the configuration file to the flags of fs that the
// command line left unset. A list setting (kdc, map, addr) given on the
// command line for a key (a realm, host or server name) replaces the
// file's entries for that key; the file's other entries stay.
func loadConfig(cmd string, fset *flag.FlagSet, o *options, getenv func(string) string) error {
	path, explicit := configPath(o, getenv)
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return settingf(cmd, "", "configuration file: %v", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		o.configDir = filepath.Dir(abs)
	}
	onCommandLine := map[string]bool{}
	fset.Visit(func(f *flag.Flag) {
		name := f.Name
		for long, short := range shortNames {
			if short == name {
				name = long
			}
		}
		onCommandLine[name] = true
	})
	lists := map[string]*kvList{"kdc": &o.kdcs, "map": &o.maps, "addr": &o.addrs}
	fromFlags := map[string]kvList{}
	for name, l := range lists {
		fromFlags[name] = kvList{items: append([]kv(nil), l.items...)}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			key, value = line[:i], strings.TrimSpace(line[i+1:])
		}
		where := fmt.Sprintf("%s:%d", path, n)
		if !configurable[key] {
			return settingf(cmd, "smbkrb help config lists the settings", "%s: unknown setting %q", where, key)
		}
		f := fset.Lookup(key)
		if f == nil {
			continue // a setting this command does not use
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && value == "" {
			value = "true"
		}
		if value == "" {
			return settingf(cmd, "smbkrb help config describes the file", "%s: %s needs a value", where, key)
		}
		switch key {
		case "ca", "keytab", "password-file", "entra-dir", "oauth-cert", "oauth-secret-file":
			if !filepath.IsAbs(value) && !strings.Contains(value, ":") {
				value = filepath.Join(o.configDir, value)
			}
		}
		if l, ok := lists[key]; ok {
			tmp := kvList{name: l.name, check: l.check}
			if err := tmp.Set(value); err != nil {
				return settingf(cmd, "smbkrb help config describes the file", "%s: %s: %v", where, key, err)
			}
			flagged := fromFlags[key]
			if flagged.has(tmp.items[0].k) {
				continue
			}
			l.items = append(l.items, tmp.items[0])
			continue
		}
		if onCommandLine[key] {
			continue
		}
		if err := fset.Set(key, value); err != nil {
			return settingf(cmd, "smbkrb help config describes the file", "%s: %s: %v", where, key, err)
		}
	}
	return sc.Err()
}

// krb5Config builds the library configuration from the settings.
func krb5Config(cmd string, o *options) (*krb5.Config, error) {
	cfg := &krb5.Config{
		DefaultRealm:   o.realm,
		ClockSkew:      o.clockSkew,
		UseEnvironment: o.useKrb5Conf,
	}
	index := map[string]int{}
	for _, it := range o.kdcs.items {
		i, ok := index[it.k]
		if !ok {
			i = len(cfg.Realms)
			index[it.k] = i
			cfg.Realms = append(cfg.Realms, krb5.Realm{Name: it.k})
		}
		cfg.Realms[i].KDCs = append(cfg.Realms[i].KDCs, it.v)
	}
	if cfg.DefaultRealm == "" && len(cfg.Realms) == 1 {
		cfg.DefaultRealm = cfg.Realms[0].Name
	}
	for _, it := range o.maps.items {
		cfg.HostRealms = append(cfg.HostRealms, krb5.HostRealm{Host: it.k, Realm: it.v})
	}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, settingf(cmd, "", "--ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, settingf(cmd, "--ca takes the CA certificate of the KDC proxy in PEM form", "--ca: %s holds no PEM certificate", o.ca)
		}
		cfg.RootCAs = pool
	}
	if err := cfg.Validate(); err != nil {
		return nil, settingf(cmd, "check the --kdc, --map and --realm settings", "%v", err)
	}
	return cfg, nil
}
