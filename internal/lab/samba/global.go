package samba

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// checkGlobal validates Options.Global: each line must be one
// "key = value" smb.conf parameter (the value may be empty, as in
// "dns forwarder ="). Samba has no trailing comments (a "# ..." after a
// value becomes part of the value) and a trailing backslash continues the
// line, so '#', ';', newlines and a final backslash are refused.
func checkGlobal(lines []string) error {
	for _, l := range lines {
		key, _, ok := strings.Cut(l, "=")
		switch {
		case !ok:
			return fmt.Errorf("samba: global line %q is not \"key = value\"", l)
		case strings.TrimSpace(key) == "":
			return fmt.Errorf("samba: global line %q has no parameter name", l)
		case strings.ContainsAny(l, "\r\n"):
			return fmt.Errorf("samba: global line %q spans lines", l)
		case strings.ContainsAny(l, "#;"):
			return fmt.Errorf("samba: global line %q holds a comment character (smb.conf has no trailing comments)", l)
		case strings.ContainsAny(key, "[]"):
			return fmt.Errorf("samba: global line %q looks like a section header", l)
		case strings.HasSuffix(strings.TrimSpace(l), "\\"):
			return fmt.Errorf("samba: global line %q ends in a line continuation", l)
		}
	}
	return nil
}

// paramKey is the name of a "key = value" line as Samba compares
// parameter names: case and white space do not count ("Server Min
// Protocol" and "server min protocol" are one parameter).
func paramKey(line string) string {
	key, _, _ := strings.Cut(line, "=")
	return strings.Join(strings.Fields(strings.ToLower(key)), "")
}

// paramLine writes a line as "key = value", the key's spaces collapsed
// and the value's trimmed.
func paramLine(line string) string {
	key, value, _ := strings.Cut(line, "=")
	key, value = strings.Join(strings.Fields(key), " "), strings.TrimSpace(value)
	if value == "" {
		return key + " ="
	}
	return key + " = " + value
}

// mergeGlobal returns the fixed [global] lines with each extra line
// replacing the fixed line of the same parameter in place, and the extra
// lines that set new parameters appended in their order. A parameter set
// twice in extra keeps its last value (as Samba itself would). Synonyms
// (such as "min protocol" for "server min protocol") are not recognised,
// but they come after the fixed lines, and in smb.conf the last setting
// wins.
func mergeGlobal(fixed, extra []string) []string {
	out := append([]string(nil), fixed...)
	at := map[string]int{}
	for i, l := range out {
		at[paramKey(l)] = i
	}
	for _, l := range extra {
		k := paramKey(l)
		if i, ok := at[k]; ok {
			out[i] = paramLine(l)
			continue
		}
		at[k] = len(out)
		out = append(out, paramLine(l))
	}
	return out
}

// Parameter returns the value of an smb.conf parameter (such as "server
// min protocol") as Samba reads the DC's configuration, defaults
// included: testparm -s --parameter-name. It is how a test proves that an
// Options.Global line took effect. Values come in Samba's canonical
// spelling: "server min protocol = SMB3_11" reads back as "SMB3", "server
// signing = mandatory" as "required". It does not need the DC to run.
func (d *DC) Parameter(name string) (string, error) {
	tool, err := lookTool("testparm")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, "-s", "--parameter-name="+name, d.Config)
	cmd.Env = cleanEnv()
	// testparm writes its notes ("Loaded services file OK.") to stderr
	// and the value alone to stdout.
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("samba: testparm --parameter-name=%q: %v: %s", name, err, tail([]byte(stderr.String()), 2000))
	}
	return strings.TrimSpace(string(out)), nil
}
