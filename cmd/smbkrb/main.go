package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/smbkrb/smbkrb/internal/errclass"
)

// longFlag finds a multi-letter flag name in the flag package's errors.
var longFlag = regexp.MustCompile(`(flag|defined:) -([a-z][a-z0-9-]+)`)

// interruptGrace bounds the cleanup after Ctrl-C or SIGTERM.
const interruptGrace = 15 * time.Second

func main() {
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(a.run(os.Args[1:]))
}

// app is one run of the tool.
type app struct {
	stdin  *os.File
	stdout io.Writer
	stderr *os.File
	getenv func(string) string

	// ctx is canceled by Ctrl-C or SIGTERM.
	ctx     context.Context
	verbose bool
	// what names the operation for error messages, such as
	// "get //fs1/data/report.pdf".
	what  string
	hints hintInfo
}

// command is one subcommand.
type command struct {
	name    string
	args    string // the synopsis of the arguments
	summary string
	groups  int
	// flags registers the command's own flags.
	flags            func(fs *flag.FlagSet, o *options)
	minArgs, maxArgs int
	run              func(ctx context.Context, a *app, o *options, args []string) error
}

var commands []*command

func init() {
	commands = []*command{
		{name: "ls", args: "//server/share[/dir]", summary: "list a directory (or describe one file); -R everything below it",
			groups: groupKerberos | groupLogin | groupServer | groupEntra | groupOAuth, minArgs: 1, maxArgs: 1, run: cmdLs,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.long, "l", false, "long listing: mode, size, modification time, name")
				fs.BoolVar(&o.json, "json", false, "print a JSON array of {name, size, mode, dir, mtime} (with -R, also path)")
				fs.BoolVar(&o.recursive, "R", false, "list everything below the directory, by path")
			}},
		{name: "stat", args: "//server/share/path", summary: "describe a file or directory",
			groups: groupKerberos | groupLogin | groupServer | groupEntra | groupOAuth, minArgs: 1, maxArgs: 1, run: cmdStat,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.json, "json", false, "print a JSON object {name, path, size, mode, dir, mtime}")
			}},
		{name: "get", args: "[-r] //server/share/path [LOCAL|-]", summary: "download a file (to its base name, into a directory, or to stdout with -); -r a directory tree",
			groups: groupKerberos | groupLogin | groupServer | groupTransfer | groupEntra | groupOAuth, minArgs: 1, maxArgs: 2, run: cmdGet,
			flags: treeFlags},
		{name: "put", args: "[-r] LOCAL|- //server/share/path", summary: "upload a file (or stdin with -); the target is replaced only when complete; -r a directory tree",
			groups: groupKerberos | groupLogin | groupServer | groupTransfer | groupEntra | groupOAuth, minArgs: 2, maxArgs: 2, run: cmdPut,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.inPlace, "in-place", false, "write straight into the target instead of a temporary file renamed over it (a failed upload leaves a partial file)")
				treeFlags(fs, o)
			}},
		{name: "rm", args: "//server/share/path", summary: "remove a file or an empty directory",
			groups: groupKerberos | groupLogin | groupServer | groupEntra | groupOAuth, minArgs: 1, maxArgs: 1, run: cmdRm},
		{name: "mkdir", args: "//server/share/dir", summary: "make a directory",
			groups: groupKerberos | groupLogin | groupServer | groupEntra | groupOAuth, minArgs: 1, maxArgs: 1, run: cmdMkdir,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.parents, "p", false, "make missing parents too; an existing directory is no error")
			}},
		{name: "mv", args: "//server/share/from //server/share/to", summary: "rename or move within one share",
			groups: groupKerberos | groupLogin | groupServer | groupEntra | groupOAuth, minArgs: 2, maxArgs: 2, run: cmdMv},
		{name: "mount", args: "//server/share[/dir] MOUNTPOINT", summary: "serve a share as a local file system (FUSE) until Ctrl-C, SIGTERM or fusermount3 -u",
			groups: groupKerberos | groupLogin | groupServer | groupEntra | groupOAuth, minArgs: 2, maxArgs: 2, run: cmdMount,
			flags: mountFlags},
		{name: "kinit", args: "[PRINCIPAL]", summary: "log in and store the ticket-granting ticket in the cache",
			groups: groupKerberos | groupLogin, minArgs: 0, maxArgs: 1, run: cmdKinit,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.DurationVar(&o.lifetime, "lifetime", 0, "`DURATION`: the ticket lifetime to ask for (default 10h; the KDC may grant less)")
			}},
		{name: "klist", args: "", summary: "show the cache's principal and tickets",
			groups: groupCacheOnly | groupEntra, minArgs: 0, maxArgs: 0, run: cmdKlist,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.json, "json", false, "print JSON: {cache, principal, tickets: [...]}")
			}},
		{name: "kdestroy", args: "", summary: "destroy the cache",
			groups: groupCacheOnly, minArgs: 0, maxArgs: 0, run: cmdKdestroy},
		{name: "entra", args: "register|login [UPN]|logout|status|unregister", summary: "register this device with Microsoft Entra ID, sign in for a cloud TGT, show or remove it (smbkrb help entra-kerberos)",
			groups: groupKerberos | groupLogin | groupEntra, minArgs: 1, maxArgs: 2, run: cmdEntra,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.deviceCode, "device-code", false, "login: sign in in a browser on another device (works with MFA) instead of with a password")
				fs.StringVar(&o.tokenFile, "token-file", "", "`FILE`: register: an access token for the device registration service (mode 0600), instead of a device-code sign-in")
				fs.StringVar(&o.deviceName, "name", "", "`NAME`: register: the device's name in the directory (default: the host name)")
				fs.BoolVar(&o.localOnly, "local", false, "unregister: only forget the device here, without deleting it from the directory")
				fs.BoolVar(&o.json, "json", false, "status: print JSON")
			}},
		{name: "doctor", args: "[//server/share]", summary: "check step by step what the file commands need (settings, KDCs, clock, port 445, tickets, login, session) and say what to do",
			groups: groupKerberos | groupLogin | groupServer | groupEntra | groupOAuth, minArgs: 0, maxArgs: 1, run: cmdDoctor,
			flags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.json, "json", false, "print JSON: {server, checks: [{name, status, detail, try}], exit}")
			}},
		{name: "help", args: "[COMMAND|TOPIC]", summary: "show the manual, a command's usage or a topic",
			minArgs: 0, maxArgs: 1, run: cmdHelp},
		{name: "version", args: "", summary: "print the version",
			minArgs: 0, maxArgs: 0, run: cmdVersion},
	}
}

func lookupCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// newFlagSet returns the flag set of c, bound to o.
func (c *command) newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("smbkrb "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if c.name != "help" && c.name != "version" {
		o.register(fs, c.groups)
	}
	if c.flags != nil {
		c.flags(fs, o)
	}
	return fs
}

// usage writes c's synopsis and flags.
func (c *command) usage(w io.Writer) {
	var o options
	fs := c.newFlagSet(&o)
	fmt.Fprintf(w, "Usage: smbkrb %s [flags] %s\n\n%s.\n", c.name, c.args, upperFirst(c.summary))
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		printFlags(w, fs)
	}
	fmt.Fprintf(w, "\nSettings can also come from a configuration file: smbkrb help config.\n")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// run runs the command line args and returns the exit code.
func (a *app) run(args []string) int {
	name, rest := splitCommand(args)
	if name == "" {
		for _, r := range rest {
			if r == "-h" || r == "--help" || r == "-help" {
				a.overview(a.stdout)
				return exitOK
			}
			if r == "--version" || r == "-version" {
				return a.report(cmdVersion(context.Background(), a, nil, nil))
			}
		}
		a.overview(a.stderr)
		return exitUsage
	}
	c := lookupCommand(name)
	if c == nil {
		return a.report(usagef("", "unknown command %q", name))
	}
	o := &options{}
	fs := c.newFlagSet(o)
	pos, err := parseArgs(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(a.stdout)
		return exitOK
	}
	if err != nil {
		// The flag package writes -name; the manual writes --name.
		msg := longFlag.ReplaceAllString(err.Error(), "$1 --$2")
		return a.report(usagef(c.name, "%s", msg))
	}
	a.verbose = o.verbose
	if c.name != "help" && c.name != "version" {
		if err := loadConfig(c.name, fs, o, a.getenv); err != nil {
			return a.report(err)
		}
		a.verbose = o.verbose
	}
	if len(pos) < c.minArgs || len(pos) > c.maxArgs {
		if c.args == "" {
			return a.report(usagef(c.name, "%s takes no arguments", c.name))
		}
		return a.report(usagef(c.name, "usage: smbkrb %s [flags] %s", c.name, c.args))
	}
	a.hints.cmd = c.name
	a.hints.keytab = o.keytab
	a.hints.encrypt = o.encrypt
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		// A second signal now ends the process at once; without one,
		// cleaning up (removing temporary files) gets a grace period.
		stop()
		select {
		case <-finished:
		case <-time.After(interruptGrace):
			fmt.Fprintf(a.stderr, "smbkrb: %s: interrupted; cleanup did not finish within %v\n", c.name, interruptGrace)
			os.Exit(exitInterrupted)
		}
	}()
	a.ctx = ctx
	err = c.run(ctx, a, o, pos)
	if err != nil && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		// Interrupted: whatever failed, failed because of it.
		err = fmt.Errorf("%w: %v", context.Canceled, err)
	}
	return a.report(err)
}

// report prints err with a hint and returns the exit code for it.
func (a *app) report(err error) int {
	code := exitCode(err)
	if err == nil {
		return code
	}
	// One remedy per failure, worded for a shell user: where the command
	// has its own, the library's (in Go API terms) is left out.
	h := hint(err, a.hints)
	if h != "" {
		errclass.ClearRemedies(err)
	}
	var ue *usageError
	switch {
	case errors.As(err, &ue) && ue.cmd != "":
		fmt.Fprintf(a.stderr, "smbkrb: %s: %v\n", ue.cmd, err)
	case errors.Is(err, context.Canceled):
		what := a.what
		if what == "" {
			what = a.hints.cmd
		}
		fmt.Fprintf(a.stderr, "smbkrb: %s: interrupted\n", what)
	case a.what != "":
		fmt.Fprintf(a.stderr, "smbkrb: %s: %v\n", a.what, err)
	case a.hints.cmd != "":
		fmt.Fprintf(a.stderr, "smbkrb: %s: %v\n", a.hints.cmd, err)
	default:
		fmt.Fprintf(a.stderr, "smbkrb: %v\n", err)
	}
	if h != "" {
		fmt.Fprintf(a.stderr, "try: %s\n", h)
	}
	return code
}

// logf writes a line on stderr with --verbose.
func (a *app) logf(format string, args ...any) {
	if a.verbose {
		fmt.Fprintf(a.stderr, "smbkrb: "+format+"\n", args...)
	}
}
