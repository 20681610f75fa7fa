//go:build arm || 386 || mips || mipsle

package main

import (
	"context"
	"errors"
)

// cmdMount on a 32-bit target: github.com/hanwen/go-fuse (v2.12.1 and
// earlier) does not build there.
func cmdMount(ctx context.Context, a *app, o *options, args []string) error {
	return usagef("mount", "%v", errors.New("this build has no mount: the FUSE module smbkrb uses does not build for 32-bit targets (ARMv7, 386); the other commands, and get -r/put -r, work here"))
}
