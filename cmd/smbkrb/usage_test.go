package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUsage: help, version and mistakes in the command line.
func TestUsage(t *testing.T) {
	c := newClient(t)
	r := c.fails(t, exitUsage, []string{"COMMANDS", "EXIT CODES"}, nil)
	if r.stdout != "" {
		t.Errorf("usage on stdout: %q", r.stdout)
	}
	help := c.ok(t, nil, "help").stdout
	for _, cmd := range commands {
		if !strings.Contains(help, "    "+cmd.name+" ") {
			t.Errorf("smbkrb help does not list %s", cmd.name)
		}
	}
	for _, code := range []string{"0    success", "2    usage", "3    authentication", "4    not found", "5    permission", "6    security policy", "7    network"} {
		if !strings.Contains(help, code) {
			t.Errorf("smbkrb help does not document exit code %q", code)
		}
	}
	if out := c.ok(t, nil, "--help").stdout; out != help {
		t.Error("smbkrb --help differs from smbkrb help")
	}
	for _, topic := range topics {
		out := c.ok(t, nil, "help", topic.name).stdout
		if !strings.HasPrefix(out, strings.ToUpper(topic.heading)+"\n\n") || len(out) < 200 {
			t.Errorf("help %s: %q", topic.name, out)
		}
	}
	if out := c.ok(t, nil, "help", "config").stdout; !strings.Contains(out, "kdc CORP.EXAMPLE.COM=") || !strings.Contains(out, "# ") {
		t.Errorf("help config has no example: %s", out)
	}
	all := c.ok(t, nil, "help", "all").stdout
	for _, topic := range topics {
		if !strings.Contains(all, "\n"+strings.ToUpper(topic.heading)+"\n") {
			t.Errorf("help all lacks %s", topic.heading)
		}
	}
	for _, cmd := range commands {
		out := c.ok(t, nil, cmd.name, "-h").stdout
		if !strings.HasPrefix(out, "Usage: smbkrb "+cmd.name) {
			t.Errorf("%s -h: %q", cmd.name, out)
		}
		if out2 := c.ok(t, nil, "help", cmd.name).stdout; out2 != out {
			t.Errorf("help %s differs from %s -h", cmd.name, cmd.name)
		}
	}
	if out := c.ok(t, nil, "ls", "--help").stdout; !strings.Contains(out, "-u, --user PRINCIPAL") || !strings.Contains(out, "  -l\n") {
		t.Errorf("ls --help: %s", out)
	}
	if out := c.ok(t, nil, "version").stdout; !strings.HasPrefix(out, "smbkrb ") {
		t.Errorf("version: %q", out)
	}

	for _, tc := range []struct {
		args    []string
		phrases []string
	}{
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`, "smbkrb help"}},
		{[]string{"ls"}, []string{"usage: smbkrb ls", "ls -h"}},
		{[]string{"ls", "--frob", "//a.example/s"}, []string{"--frob"}},
		{[]string{"ls", "a.example/share"}, []string{"//server/share"}},
		{[]string{"ls", "//a.example"}, []string{"names no share"}},
		{[]string{"ls", "//192.0.2.1/share"}, []string{"--addr NAME=192.0.2.1"}},
		{[]string{"ls", "--kdc", "EXAMPLE.COM", "//a.example/s"}, []string{"KEY=VALUE"}},
		{[]string{"ls", "--kdc", "EXAMPLE.COM=http://proxy.example/KdcProxy", "//a.example/s"}, []string{"https"}},
		{[]string{"get", "--chunk", "0", "//a.example/s/f"}, []string{"size"}},
		{[]string{"get", "//a.example/s"}, []string{"names a share"}},
		{[]string{"rm", "//a.example/s"}, []string{"is a share"}},
		{[]string{"mv", "//a.example/s1/x", "//a.example/s2/x"}, []string{"within one share"}},
		{[]string{"mv", "//a.example/s/x", "//b.example/s/x"}, []string{"within one share"}},
		{[]string{"kinit"}, []string{"name the principal"}},
		{[]string{"klist", "extra"}, []string{"takes no arguments"}},
		{[]string{"ls", "--ca", "/nonexistent/ca.pem", "//a.example/s"}, []string{"--ca"}},
		{[]string{"help", "nosuchtopic"}, []string{"nosuchtopic"}},
	} {
		c.fails(t, exitUsage, tc.phrases, nil, tc.args...)
	}
}

func TestParseRemote(t *testing.T) {
	for _, tc := range []struct {
		in                string
		host, share, path string
		port              string
		dir               bool
		s                 string
	}{
		{"//fs1.example.com/data", "fs1.example.com", "data", "", "", false, "//fs1.example.com/data"},
		{"//fs1.example.com/data/", "fs1.example.com", "data", "", "", false, "//fs1.example.com/data"},
		{"//fs1.example.com/data/a/b.txt", "fs1.example.com", "data", "a/b.txt", "", false, "//fs1.example.com/data/a/b.txt"},
		{"//fs1.example.com/data/a/../../b/", "fs1.example.com", "data", "b", "", true, "//fs1.example.com/data/b"},
		{`\\fs1.example.com\data\a\b.txt`, "fs1.example.com", "data", "a/b.txt", "", false, "//fs1.example.com/data/a/b.txt"},
		{"smb://fs1.example.com/data/x", "fs1.example.com", "data", "x", "", false, "//fs1.example.com/data/x"},
		{"//fs1.example.com:4450/data/x", "fs1.example.com", "data", "x", "4450", false, "//fs1.example.com:4450/data/x"},
	} {
		r, err := parseRemote("ls", tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if r.host != tc.host || r.share != tc.share || r.path != tc.path || r.port != tc.port || r.dirSyntax != tc.dir || r.String() != tc.s {
			t.Errorf("%s: %+v %s", tc.in, r, r)
		}
	}
	for _, bad := range []string{"fs1/data", "//", "///data", "//fs1", "//fs1/"} {
		if _, err := parseRemote("ls", bad); exitCode(err) != exitUsage {
			t.Errorf("%s: %v", bad, err)
		}
	}
	for addr, want := range map[string]bool{"//10.0.0.1/data": true, "//[::1]:445/data": true, "//fs1/data": false} {
		if r, err := parseRemote("ls", addr); err != nil || r.isAddress() != want {
			t.Errorf("%s: isAddress %v, err %v", addr, r.isAddress(), err)
		}
	}
	o := &options{}
	o.addrs.Set("fs1.example.com=10.1.2.3")
	r, _ := parseRemote("ls", "//FS1.example.com:4450/data")
	if s := r.server(o); s.Name != "FS1.example.com" || s.Addr != "10.1.2.3:4450" {
		t.Errorf("server: %+v", s)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"65536": 65536, "64K": 64 << 10, "64KiB": 64 << 10, "1MiB": 1 << 20, "2m": 2 << 20, "1GiB": 1 << 30, "100b": 100} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "-1", "2GiB", "1.5MiB", "lots"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 7 << 20: "7.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCommandLine(t *testing.T) {
	cmd, rest := splitCommand([]string{"--config", "x.conf", "-v", "--timeout=5s", "ls", "-l", "//a/b"})
	if cmd != "ls" || !slices.Equal(rest, []string{"--config", "x.conf", "-v", "--timeout=5s", "-l", "//a/b"}) {
		t.Errorf("splitCommand: %q %q", cmd, rest)
	}
	if cmd, rest := splitCommand([]string{"--lifetime", "1h", "kinit", "alice"}); cmd != "kinit" || !slices.Equal(rest, []string{"--lifetime", "1h", "alice"}) {
		t.Errorf("splitCommand with a command's own flag first: %q %q", cmd, rest)
	}
	if cmd, _ := splitCommand([]string{"-v"}); cmd != "" {
		t.Errorf("splitCommand without a command: %q", cmd)
	}
	var o options
	c := lookupCommand("put")
	fs := c.newFlagSet(&o)
	pos, err := parseArgs(fs, []string{"-", "--parallel", "8", "//a/b/c", "-q", "--", "-v"})
	if err != nil || !slices.Equal(pos, []string{"-", "//a/b/c", "-v"}) || o.parallel != 8 || !o.quiet || o.verbose {
		t.Errorf("parseArgs: %q %v %+v", pos, err, o)
	}
}

// TestConfigMerge: flags win over the file, per setting and, for lists,
// per key.
func TestConfigMerge(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config")
	if err := os.WriteFile(conf, []byte(`# comment
realm FILE.TEST
kdc FILE.TEST=kdc1.file.test
kdc FILE.TEST=kdc2.file.test:88
kdc OTHER.TEST=https://proxy.other.test/KdcProxy
map .file.test=FILE.TEST
addr fs1.file.test=10.0.0.1
addr fs2.file.test=10.0.0.2
timeout 5s
chunk 256KiB
encrypt
keytab host.keytab
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var o options
	c := lookupCommand("get")
	fs := c.newFlagSet(&o)
	if _, err := parseArgs(fs, []string{"--config", conf, "--kdc", "FILE.TEST=kdc9.file.test", "--addr", "FS1.file.test=10.9.9.9", "--timeout", "7s", "//a/b/c"}); err != nil {
		t.Fatal(err)
	}
	if err := loadConfig("get", fs, &o, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if o.realm != "FILE.TEST" || o.timeout != 7*time.Second || o.chunk.n != 256<<10 || !o.encrypt || o.keytab != filepath.Join(dir, "host.keytab") {
		t.Errorf("scalars: %+v", o)
	}
	if got := o.kdcs.String(); got != "FILE.TEST=kdc9.file.test,OTHER.TEST=https://proxy.other.test/KdcProxy" {
		t.Errorf("kdc: %s", got)
	}
	if got := o.addrs.String(); got != "FS1.file.test=10.9.9.9,fs2.file.test=10.0.0.2" {
		t.Errorf("addr: %s", got)
	}
	cfg, err := krb5Config("get", &o)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultRealm != "FILE.TEST" || len(cfg.Realms) != 2 || cfg.Realms[0].Name != "FILE.TEST" || len(cfg.Realms[0].KDCs) != 1 ||
		len(cfg.HostRealms) != 1 || cfg.UseEnvironment {
		t.Errorf("krb5 config: %+v", cfg)
	}

	// A setting the command has no flag for is ignored; klist has no kdc.
	var o2 options
	kl := lookupCommand("klist")
	fs2 := kl.newFlagSet(&o2)
	if _, err := parseArgs(fs2, []string{"--config", conf}); err != nil {
		t.Fatal(err)
	}
	if err := loadConfig("klist", fs2, &o2, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}

	// One realm with KDCs is the default realm.
	o3 := options{}
	o3.kdcs = kvList{name: "kdc", check: checkKDC}
	o3.kdcs.Set("ONLY.TEST=kdc.only.test")
	if cfg, err := krb5Config("ls", &o3); err != nil || cfg.DefaultRealm != "ONLY.TEST" {
		t.Errorf("default realm: %+v %v", cfg, err)
	}
}

// TestManual: every command and every exit code of the code is in the
// manual that help prints, and every flag of every command is in the
// manual's flag list.
func TestManual(t *testing.T) {
	intro, sections, order := manual()
	if !strings.HasPrefix(intro, "Smbkrb copies files") {
		t.Errorf("intro: %q", intro)
	}
	var headings []string
	for _, tp := range topics {
		headings = append(headings, tp.heading)
	}
	if !slices.Equal(order, headings) {
		t.Errorf("sections %q, topics %q", order, headings)
	}
	for _, code := range []int{exitOK, exitFailure, exitUsage, exitAuth, exitNotFound, exitPermission, exitPolicy, exitNetwork, exitInterrupted} {
		if !strings.Contains(sections["Exit codes"], "\n    "+strconv.Itoa(code)+" ") {
			t.Errorf("exit code %d is not documented", code)
		}
	}
	for _, c := range commands {
		var o options
		c.newFlagSet(&o).VisitAll(func(f *flag.Flag) {
			name := "--" + f.Name
			if len(f.Name) == 1 {
				name = "-" + f.Name
			}
			if !strings.Contains(sections["Flags"]+sections["Commands"], name) {
				t.Errorf("%s: flag %s is not in the manual", c.name, name)
			}
		})
	}
	for key := range configurable {
		if !strings.Contains(sections["Configuration file"], key) {
			t.Errorf("setting %s is not in the manual", key)
		}
	}
}
