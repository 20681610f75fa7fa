// Command libsmbkrb is smbkrb as a C library: built with
// -buildmode=c-archive (libsmbkrb.a) or -buildmode=c-shared
// (libsmbkrb.so), it exports the functions that include/smbkrb.h
// declares. That header, written by hand, is the contract; cgo's
// generated one is not installed. The compiler checks each exported
// function here against its declaration there (capi.h includes it).
//
// The Go side keeps every object in a table and gives C an opaque handle
// (a small C allocation holding the object's id and a magic number of
// its kind), so that C never holds a Go pointer. Every exported function
// clears this thread's last error, recovers from a panic into
// SMBKRB_ERR_FAILURE, and turns an error into its class (internal/errclass,
// the CLI's exit codes) and a message that says what to do.
//
// `make lib` builds it; README.md's "C library" section says how to link
// it and what the Go runtime does inside a C program.
package main

/*
#include "capi.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"unsafe"
)

// abiVersion is SMBKRB_ABI_VERSION of the header this library implements.
const abiVersion = 1

// main is never called: a c-archive or c-shared build has no main.
func main() {}

// version is set at link time (-X main.version=...) by release builds;
// otherwise the module's version from the build information.
var version string

var versionC = func() *C.char {
	v := version
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		} else {
			v = "(devel)"
		}
	}
	// Allocated once and never freed: smbkrb_version's result is static.
	return C.CString(fmt.Sprintf("smbkrb %s (libsmbkrb ABI %d, %s)", v, abiVersion, runtime.Version()))
}()

//export smbkrb_version
func smbkrb_version() *C.smbkrb_cchar {
	begin()
	return (*C.smbkrb_cchar)(unsafe.Pointer(versionC))
}

//export smbkrb_abi_version
func smbkrb_abi_version() C.int {
	begin()
	return abiVersion
}
