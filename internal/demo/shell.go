package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/smbkrb/smbkrb/internal/lab/labtool"
	"github.com/smbkrb/smbkrb/internal/lab/netns"
)

// commandTimeout bounds one run of the CLI.
const commandTimeout = 90 * time.Second

// shell runs the smbkrb binary the way a user at a terminal would, and
// prints a transcript: the command line, then its output (stdout and
// stderr, in the order the program wrote them) indented.
type shell struct {
	bin  string // the smbkrb binary
	home string // the user's home directory, the working directory
	env  []string
	// secrets must never show up on a command line or in any output.
	secrets []string
}

func newShell(bin, home string) *shell {
	env := labtool.Env("KRB5", "SMBKRB", "HOME=", "XDG_", "STATE_DIRECTORY=", "IDENTITY_")
	env = append(env,
		"HOME="+home,
		"KRB5CCNAME=FILE:"+home+"/krb5cc",
		// An empty MIT profile: nothing of the machine's /etc/krb5.conf
		// can help (smbkrb does not read it anyway).
		"KRB5_CONFIG="+home+"/.empty-krb5.conf",
		// smbkrb's state (device identity, SMB OAuth tickets) under the
		// demo's home, not /var/lib/smbkrb.
		"STATE_DIRECTORY="+home+"/.local/state/smbkrb",
	)
	return &shell{bin: bin, home: home, env: env}
}

// cmd is one command of the transcript.
type cmd struct {
	// step names the command in a failure report.
	step string
	args []string
	// password is fed on standard input (for --password-stdin).
	password string
	// ns runs the command inside this network namespace.
	ns *netns.NS
	// code is the exit code the step expects.
	code int
	// want are phrases the output must contain.
	want []string
	// onLine, if set, sees every output line as it comes (the demo plays
	// the user of a device-code sign-in with it).
	onLine func(line string)
	// env are more environment variables, shown on the command line.
	env []string
}

// result is what a command gave.
type result struct {
	out  string
	code int
	took time.Duration
}

// stepError is a step that did not go as expected.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return fmt.Sprintf("step %q: %v", e.step, e.err) }
func (e *stepError) Unwrap() error { return e.err }

func fail(step string, format string, args ...any) error {
	return &stepError{step: step, err: fmt.Errorf(format, args...)}
}

// show shortens what the transcript prints: the home directory is $HOME.
func (s *shell) show(text string) string {
	return strings.ReplaceAll(text, s.home, "$HOME")
}

// printLine prints a line of a command's output, indented, with $HOME
// shown as such and passwords masked.
func (s *shell) printLine(line string) {
	for _, secret := range s.secrets {
		line = strings.ReplaceAll(line, secret, "********")
	}
	fmt.Printf("    %s\n", s.show(line))
}

// printCommand prints "$ command line".
func (s *shell) printCommand(c cmd) {
	line := "smbkrb " + strings.Join(c.args, " ")
	if len(c.env) > 0 {
		var names []string
		for _, e := range c.env {
			names = append(names, e[:strings.IndexByte(e, '=')]+"=...")
		}
		line = strings.Join(names, " ") + " " + line
	}
	if c.ns != nil {
		line = "ip netns exec " + c.ns.Name + " " + line
	}
	if c.password != "" {
		line += "   # password on stdin"
	}
	fmt.Printf("$ %s\n", s.show(line))
}

// run runs the CLI with c's arguments, prints the transcript and checks
// the exit code and the output.
func (s *shell) run(ctx context.Context, c cmd) (result, error) {
	for _, a := range c.args {
		for _, secret := range s.secrets {
			if strings.Contains(a, secret) {
				return result{}, fail(c.step, "a password would be on the command line")
			}
		}
	}
	s.printCommand(c)
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var x *exec.Cmd
	if c.ns != nil {
		x = c.ns.Command(ctx, s.bin, c.args...)
	} else {
		x = exec.CommandContext(ctx, s.bin, c.args...)
	}
	x.Env = append(append([]string{}, s.env...), c.env...)
	x.Dir = s.home
	// Stopped (Ctrl-C, timeout) the way a user stops it: SIGINT, on
	// which the CLI cleans up (a half-written temporary file); killed if
	// it has not ended 5 s later. Under ip netns exec, which execs the
	// program, the signal reaches smbkrb itself.
	x.Cancel = func() error { return x.Process.Signal(os.Interrupt) }
	x.WaitDelay = 5 * time.Second
	if c.password != "" {
		x.Stdin = strings.NewReader(c.password + "\n")
	}
	// One pipe for stdout and stderr keeps the order in which the
	// program wrote its lines.
	r, w, err := os.Pipe()
	if err != nil {
		return result{}, fail(c.step, "%v", err)
	}
	x.Stdout, x.Stderr = w, w
	begin := time.Now()
	err = x.Start()
	w.Close()
	if err != nil {
		r.Close()
		return result{}, fail(c.step, "cannot run smbkrb: %v", err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if c.onLine != nil {
			c.onLine(line)
		}
		s.printLine(line)
	}
	io.Copy(io.Discard, r)
	r.Close()
	err = x.Wait()
	res := result{out: out.String(), took: time.Since(begin)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		what := "interrupted"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			what = fmt.Sprintf("timed out after %v", commandTimeout)
		}
		fmt.Printf("    [%s]\n", what)
		return res, fail(c.step, "smbkrb %s: %s", c.args[0], what)
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		res.code = ee.ExitCode()
	default:
		return res, fail(c.step, "smbkrb %s: %v", c.args[0], err)
	}
	if res.code != 0 {
		note := ""
		if res.code == c.code {
			note = ": " + exitMeaning[res.code] + ", as expected"
		}
		fmt.Printf("    [exit %d after %v%s]\n", res.code, res.took.Round(time.Millisecond), note)
	}
	for _, secret := range s.secrets {
		if strings.Contains(res.out, secret) {
			return res, fail(c.step, "smbkrb %s printed a password", c.args[0])
		}
	}
	if res.code != c.code {
		return res, fail(c.step, "smbkrb %s exited %d (%s), want %d", c.args[0], res.code, exitMeaning[res.code], c.code)
	}
	for _, w := range c.want {
		if !strings.Contains(res.out, w) {
			return res, fail(c.step, "the output of smbkrb %s does not say %q", c.args[0], s.show(w))
		}
	}
	return res, nil
}

// exitMeaning names the CLI's exit codes (cmd/smbkrb/doc.go).
var exitMeaning = map[int]string{
	0: "success", 1: "failure", 2: "usage error", 3: "authentication failure",
	4: "not found", 5: "permission denied", 6: "security policy refused",
	7: "network failure", 130: "interrupted",
}

// note prints a comment line of the transcript.
func note(format string, args ...any) {
	fmt.Printf("# "+format+"\n", args...)
}

// heading starts an act.
func heading(title string) {
	fmt.Printf("\n=== %s ===\n\n", title)
}

// proved prints the one-line summary of an act.
func proved(format string, args ...any) {
	fmt.Printf("\n=> "+format+"\n", args...)
}

var (
	sha256Line = regexp.MustCompile(`sha256 ([0-9a-f]{64})`)
	serverLine = regexp.MustCompile(`: SMB (\S+), signing (\S+), cipher ([^,]+), session encrypted (\w+)`)
)

// reportedSum is the sha256 the CLI reported with -v.
func reportedSum(out string) string {
	m := sha256Line.FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// session is what the CLI reported about an SMB session with -v.
type session struct {
	dialect, signing, cipher string
	encrypted                bool // the share (or the whole session) is encrypted
}

func (s session) String() string {
	prot := "signed with " + s.signing
	if s.encrypted {
		prot = "encrypted with " + s.cipher + " (and signed with " + s.signing + ")"
	}
	return "SMB " + s.dialect + ", " + prot
}

func reportedSession(out string) (session, bool) {
	m := serverLine.FindStringSubmatch(out)
	if m == nil {
		return session{}, false
	}
	s := session{dialect: m[1], signing: m[2], cipher: m[3], encrypted: m[4] == "true"}
	if strings.Contains(out, ": encrypted\n") {
		s.encrypted = true
	}
	return s, true
}

// fileSum is the size and sha256 of a local file.
func fileSum(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
