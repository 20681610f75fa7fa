package samba

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// loopbackLit matches a loopback address written as a Go string literal
// (with or without a port), such as "127.0.0.20" or "127.0.0.20:445".
var loopbackLit = regexp.MustCompile(`"(127\.0\.0\.[0-9]{1,3})[":]`)

// TestLoopbackAddressesUnique guards the rule that lets `go test ./...` run
// packages at the same time: every package that starts a server on its own
// loopback address owns that address. Two packages on one address fail only
// when their tests overlap in time (Samba then cannot bind port 135), which is
// how this once broke CI. The test reads the module's test files and the demo
// lab, the only places that pick addresses, and names every address two
// packages share.
func TestLoopbackAddressesUnique(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from the samba package: %v", err)
	}
	owners := map[string]map[string]bool{} // address -> package dirs
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if !strings.HasSuffix(path, "_test.go") && !strings.HasPrefix(rel, "internal/demo/") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, "//") {
				continue
			}
			for _, m := range loopbackLit.FindAllStringSubmatch(line, -1) {
				addr := m[1]
				if addr == "127.0.0.1" {
					continue // ephemeral ports only, shared by design
				}
				if owners[addr] == nil {
					owners[addr] = map[string]bool{}
				}
				owners[addr][filepath.Dir(rel)] = true
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) < 10 {
		t.Fatalf("found only %d loopback addresses in the module's tests; the scan is broken", len(owners))
	}
	for addr, dirs := range owners {
		if len(dirs) > 1 {
			var list []string
			for d := range dirs {
				list = append(list, d)
			}
			sort.Strings(list)
			t.Errorf("%s is used by %d packages (%s); give each package its own address", addr, len(list), strings.Join(list, ", "))
		}
	}
}
