package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// docSource is the package documentation: the manual that help prints.
//
//go:embed doc.go
var docSource string

// version is the release, set at build time with
// -ldflags "-X main.version=v1.2.3"; otherwise the module's build
// information is shown.
var version = ""

// topics maps help topics to the manual's section headings.
var topics = []struct{ name, heading string }{
	{"commands", "Commands"},
	{"paths", "Paths"},
	{"flags", "Flags"},
	{"config", "Configuration file"},
	{"credentials", "Credentials and caches"},
	{"entra-kerberos", "Microsoft Entra"},
	{"smb-oauth", "SMB OAuth"},
	{"output", "Output"},
	{"exit-codes", "Exit codes"},
	{"examples", "Examples"},
}

// manual is the text of doc.go's package comment, split into the part
// before the first heading and one part per heading (which starts with
// the heading in capitals).
func manual() (intro string, sections map[string]string, order []string) {
	sections = map[string]string{}
	heading := ""
	var b strings.Builder
	flush := func() {
		text := strings.Trim(b.String(), "\n") + "\n"
		if heading == "" {
			intro = text
		} else {
			sections[heading] = strings.ToUpper(heading) + "\n\n" + text
		}
		b.Reset()
	}
	for _, line := range strings.Split(docSource, "\n") {
		if strings.HasPrefix(line, "package ") {
			break
		}
		text, ok := strings.CutPrefix(line, "//")
		if !ok || strings.HasPrefix(text, "go:") {
			continue
		}
		switch {
		case strings.HasPrefix(text, " # "):
			flush()
			heading = strings.TrimPrefix(text, " # ")
			order = append(order, heading)
			continue
		case strings.HasPrefix(text, "\t"):
			text = "    " + text[1:]
		default:
			text = strings.TrimPrefix(text, " ")
		}
		b.WriteString(text)
		b.WriteString("\n")
	}
	flush()
	return intro, sections, order
}

// overview is what plain "smbkrb help" prints: the introduction, the
// commands and the exit codes.
func (a *app) overview(w io.Writer) {
	intro, sections, _ := manual()
	fmt.Fprintf(w, "%s\n%s\n%s\n", intro, sections["Commands"], sections["Exit codes"])
	var names []string
	for _, t := range topics {
		names = append(names, t.name)
	}
	fmt.Fprintf(w, "More: smbkrb COMMAND -h for a command's flags; smbkrb help TOPIC, TOPIC one of %s, or all.\n", strings.Join(names, ", "))
}

func cmdHelp(ctx context.Context, a *app, o *options, args []string) error {
	if len(args) == 0 {
		a.overview(a.stdout)
		return nil
	}
	if c := lookupCommand(args[0]); c != nil {
		c.usage(a.stdout)
		return nil
	}
	intro, sections, order := manual()
	if args[0] == "all" {
		fmt.Fprint(a.stdout, intro)
		for _, h := range order {
			fmt.Fprintf(a.stdout, "\n%s", sections[h])
		}
		return nil
	}
	for _, t := range topics {
		if t.name == args[0] {
			fmt.Fprint(a.stdout, sections[t.heading])
			return nil
		}
	}
	return usagef("help", "no command or topic %q: smbkrb help lists them", args[0])
}

func cmdVersion(ctx context.Context, a *app, o *options, args []string) error {
	fmt.Fprintln(a.stdout, versionString())
	return nil
}

func versionString() string {
	v := version
	var rev string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return fmt.Sprintf("smbkrb %s%s (%s, %s/%s)", v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
