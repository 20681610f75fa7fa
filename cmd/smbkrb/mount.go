package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

// mountGrace is how long a mount ended by a signal keeps serving the
// files programs still hold open (within interruptGrace).
const mountGrace = 5 * time.Second

// modeValue is a permission mode flag in octal, such as 0640.
type modeValue struct{ m os.FileMode }

func (v *modeValue) String() string {
	if v == nil || v.m == 0 {
		return ""
	}
	return fmt.Sprintf("%#o", uint32(v.m))
}

func (v *modeValue) Set(s string) error {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 || n == 0 {
		return fmt.Errorf("%q is not a permission mode such as 0644", s)
	}
	v.m = os.FileMode(n)
	return nil
}

func mountFlags(fs *flag.FlagSet, o *options) {
	fs.BoolVar(&o.readOnly, "read-only", false, "mount read-only: every change fails with EROFS")
	fs.IntVar(&o.uid, "uid", -1, "`UID`: the owner of every file (default: the user mounting)")
	fs.IntVar(&o.gid, "gid", -1, "`GID`: the group of every file (default: the user's group)")
	fs.Var(&o.fileMode, "file-mode", "`MODE`: permission bits of files, in octal (default 0644; read-only files lose the write bits)")
	fs.Var(&o.dirMode, "dir-mode", "`MODE`: permission bits of directories, in octal (default 0755)")
	fs.DurationVar(&o.attrTimeout, "attr-timeout", time.Second, "`DURATION`: how long attributes and listings are cached (0: not at all)")
	fs.StringVar(&o.stagingDir, "staging-dir", "", "`DIR`: where files open for writing are staged until uploaded (default $TMPDIR or /tmp)")
	fs.BoolVar(&o.allowOther, "allow-other", false, "let other users use the mount (FUSE allow_other)")
	fs.DurationVar(&o.lifetime, "lifetime", 0, "`DURATION`: with --user and a password, the ticket lifetime to ask for (default 10h); the mount logs in again before tickets end")
	fs.BoolVar(&o.fuseDebug, "debug-fuse", false, "log every FUSE request (very verbose)")
}
