//go:build crosstest

package crosstest

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ARM EABI header flags (ELF for the Arm Architecture, 5.2).
const (
	efARMEABIMask   = 0xff000000
	efARMEABIv5     = 0x05000000
	efARMABIHardFlt = 0x00000400
)

// TestBinaries checks each binary's ELF header and reports its size and
// what it needs at run time: for a static binary, nothing (no program
// interpreter, no DT_NEEDED); for a dynamic one, the shared libraries,
// resolved in the target's sysroot the way the dynamic loader would, none
// of them OpenSSL.
func TestBinaries(t *testing.T) {
	dir := crossDir(t)
	for _, b := range append(binaries, cprograms...) {
		t.Run(b.name(), func(t *testing.T) {
			p := b.path(t, dir)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != b.machine || f.Class != b.class || f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
				t.Fatalf("ELF header: %v %v %v, want %v %v", f.Class, f.Machine, f.Type, b.class, b.machine)
			}
			if b.machine == elf.EM_ARM {
				flags := elfFlags(t, p)
				if flags&efARMEABIMask != efARMEABIv5 || b.hardFloat && flags&efARMABIHardFlt == 0 {
					t.Errorf("ARM flags %#x: want EABI version 5, hard float", flags)
				}
			}
			stripped := f.Section(".symtab") == nil && f.Section(".debug_info") == nil
			if !stripped {
				t.Errorf("not stripped: the toolchain scripts build with -ldflags '-s -w'")
			}
			interp := ""
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP {
					data := make([]byte, prog.Filesz)
					if _, err := prog.ReadAt(data, 0); err != nil {
						t.Fatal(err)
					}
					interp = strings.TrimRight(string(data), "\x00")
				}
			}
			needed, err := f.ImportedLibraries()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes (%.1f MiB), stripped", b.name(), fi.Size(), float64(fi.Size())/(1<<20))
			if b.static {
				if interp != "" || len(needed) > 0 {
					t.Fatalf("not static: interpreter %q, needs %v", interp, needed)
				}
				t.Logf("%s needs at run time: nothing but the kernel (no program interpreter, no shared library)", b.name())
				return
			}
			if interp == "" {
				t.Fatalf("a dynamic binary without a program interpreter")
			}
			sr := b.sysroot(t, dir)
			libs, err := closure(sr, append([]string{filepath.Base(interp)}, needed...))
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range libs {
				lines = append(lines, fmt.Sprintf("\t%s => %s", l.name, l.path))
				if strings.HasPrefix(l.name, "libssl") || strings.HasPrefix(l.name, "libcrypto") {
					t.Errorf("%s needs %s: smbkrb's TLS is Go's, no OpenSSL should be loaded", b.name(), l.name)
				}
			}
			t.Logf("%s needs at run time (interpreter %s; resolved in the sysroot):\n%s", b.name(), interp, strings.Join(lines, "\n"))
		})
	}
}

// elfFlags reads e_flags, which debug/elf does not export.
func elfFlags(t *testing.T, path string) uint32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 40 || data[elf.EI_CLASS] != byte(elf.ELFCLASS32) || data[elf.EI_DATA] != byte(elf.ELFDATA2LSB) {
		t.Fatal("not a 32-bit little-endian ELF file")
	}
	// e_flags is at offset 36 in a 32-bit ELF header.
	return uint32(data[36]) | uint32(data[37])<<8 | uint32(data[38])<<16 | uint32(data[39])<<24
}

// lib is a shared library found in a sysroot.
type lib struct {
	name string // the DT_NEEDED name, such as libkrb5.so.3
	path string // where it is, relative to the sysroot
}

// closure resolves names and everything they need in turn in the
// sysroot's library directories (those of a Debian multiarch system), as
// the dynamic loader under QEMU_LD_PREFIX does, and returns them in the
// order found. A library that is not there is an error.
func closure(sysroot string, names []string) ([]lib, error) {
	var dirs []string
	for _, pattern := range []string{"lib/*-linux-gnu*", "usr/lib/*-linux-gnu*", "lib", "usr/lib"} {
		m, _ := filepath.Glob(filepath.Join(sysroot, pattern))
		dirs = append(dirs, m...)
	}
	seen := map[string]bool{}
	var out []lib
	for len(names) > 0 {
		n := names[0]
		names = names[1:]
		if seen[n] {
			continue
		}
		seen[n] = true
		var found string
		for _, d := range dirs {
			p := filepath.Join(d, n)
			if _, err := os.Stat(p); err == nil {
				found = p
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("%s is needed but not in the sysroot %s", n, sysroot)
		}
		rel, _ := filepath.Rel(sysroot, found)
		out = append(out, lib{name: n, path: "/" + rel})
		f, err := elf.Open(found)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", found, err)
		}
		more, err := f.ImportedLibraries()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", found, err)
		}
		names = append(names, more...)
	}
	return out, nil
}
