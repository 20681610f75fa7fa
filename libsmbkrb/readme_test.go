package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEExample: README.md's C example is test/example.c, the program
// TestExample builds and runs, byte for byte.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("test/example.c")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```c\n"+string(example)+"```\n") {
		t.Fatal("README.md's C example differs from libsmbkrb/test/example.c: copy the file into the README's ```c block")
	}
	if n := strings.Count(string(example), "\n"); n > 25 {
		t.Errorf("the example has %d lines: keep it short", n)
	}
}

// TestHeaderDeclaresExports: every //export of this package is declared
// in include/smbkrb.h (the compiler checks the types of those it finds;
// this finds the ones missing), and the header declares nothing that is
// neither exported here nor defined in capi.c.
func TestHeaderDeclaresExports(t *testing.T) {
	header, err := os.ReadFile("include/smbkrb.h")
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	files, _ := os.ReadDir(".")
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "//export "); ok {
				exported[name] = true
			}
		}
	}
	capi, err := os.ReadFile("capi.c")
	if err != nil {
		t.Fatal(err)
	}
	for name := range exported {
		if !strings.Contains(string(header), " "+name+"(") && !strings.Contains(string(header), "*"+name+"(") {
			t.Errorf("%s is exported but not declared in include/smbkrb.h", name)
		}
	}
	for _, line := range strings.Split(string(header), "\n") {
		line = strings.TrimSpace(line)
		i := strings.Index(line, "smbkrb_")
		j := strings.Index(line, "(")
		if i < 0 || j < i || strings.HasPrefix(line, "typedef") || strings.HasPrefix(line, "/*") || strings.HasPrefix(line, "*") {
			continue
		}
		name := line[i:j]
		if strings.ContainsAny(name, " *") {
			continue
		}
		if !exported[name] && !strings.Contains(string(capi), name+"(") {
			t.Errorf("include/smbkrb.h declares %s, which nothing defines", name)
		}
	}
}
