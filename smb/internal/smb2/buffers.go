package smb2

import "sync"

// Frame buffers come from pools in a few size classes, so that a transfer
// in its steady state allocates none: a READ response is received,
// verified or decrypted in place and copied to the caller (or handed to it:
// Tree.ReadOwned); a WRITE
// request is built, signed or sealed in place and sent.
var bufClasses = [...]int{4 << 10, 72 << 10, 1<<20 + 4<<10, 4<<20 + 64<<10, 8<<20 + 64<<10, 16<<20 + 64<<10}

var bufPools [len(bufClasses)]sync.Pool

// maxFrame bounds what a server may send in one frame; larger frames end
// the connection (MaxReadSize is at most 8 MiB on the servers we know).
const maxFrame = 16<<20 + 64<<10

// getBuf returns a buffer of length n (n <= maxFrame) from the pools.
func getBuf(n int) *[]byte {
	for i, c := range bufClasses {
		if n <= c {
			if p, ok := bufPools[i].Get().(*[]byte); ok {
				*p = (*p)[:n]
				return p
			}
			b := make([]byte, n, c)
			return &b
		}
	}
	b := make([]byte, n)
	return &b
}

// putBuf returns a buffer to its pool. Buffers whose capacity matches no
// class are dropped.
func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	c := cap(*p)
	for i, cl := range bufClasses {
		if c == cl {
			*p = (*p)[:0]
			bufPools[i].Put(p)
			return
		}
	}
}
