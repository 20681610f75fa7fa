package krb5

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// KeyUsage numbers the purposes a Kerberos key is used for (RFC 4120
// 7.5.1): the same key gives different ciphertexts for different usages.
type KeyUsage int32

// Key usages of RFC 4120 7.5.1 that callers of Encrypt and Decrypt need.
const (
	// KeyUsageASRepEncPart is the enc-part of an AS-REP, under the
	// client's key (or the key Entra hands out with its cloud TGT).
	KeyUsageASRepEncPart KeyUsage = 3
	// KeyUsageKRBCredEncPart is the enc-part of a KRB-CRED.
	KeyUsageKRBCredEncPart KeyUsage = 14
)

// Encrypt encrypts plaintext with key, a raw key of type enctype, for
// usage, as RFC 3961 defines it; the result is the cipher field of an
// EncryptedData. MIT does the cryptography (a fresh confounder each
// call), in a context of its own that reads no configuration: it needs no
// Context, no KDC and no cache. Messages MIT does not build itself need
// it: the cloud TGT's AS-REP that Entra wraps in JSON (decrypted by
// package entra) and the emulator's (entra/entratest).
func Encrypt(enctype Enctype, key []byte, usage KeyUsage, plaintext []byte) ([]byte, error) {
	return crypt(false, enctype, key, usage, plaintext)
}

// Decrypt decrypts and checks ciphertext, the cipher field of an
// EncryptedData, with key, a raw key of type enctype, for usage, like
// Encrypt with no Context. A wrong key, usage or a modified ciphertext
// gives an error (MIT's integrity check), never garbage. The plaintext
// may hold secrets (session keys): clear it when done.
func Decrypt(enctype Enctype, key []byte, usage KeyUsage, ciphertext []byte) ([]byte, error) {
	return crypt(true, enctype, key, usage, ciphertext)
}

// cryptoContext is the process's MIT context for Encrypt and Decrypt:
// an empty profile, no send hook, made on first use and kept. MIT's
// contexts are used by one thread at a time, hence the mutex.
var cryptoContext struct {
	once sync.Once
	mu   sync.Mutex
	c    C.krb5_context
	err  error
}

func crypt(decrypt bool, enctype Enctype, key []byte, usage KeyUsage, in []byte) ([]byte, error) {
	what := "encrypt"
	dec := C.int(0)
	if decrypt {
		what, dec = "decrypt", 1
	}
	op := fmt.Sprintf("%s with a %s key (key usage %d)", what, enctype, usage)
	if n := enctype.KeySize(); n == 0 || len(key) != n {
		return nil, &Error{Op: op, Message: fmt.Sprintf("a %s key is %d bytes, got %d", enctype, n, len(key))}
	}
	cc := &cryptoContext
	cc.once.Do(func() {
		var errmsg *C.char
		if code := C.smbkrb_init_crypto_context(&cc.c, &errmsg); code != 0 {
			cc.err = newError("initialize a context for cryptography", code, errmsg)
		} else if errmsg != nil {
			C.free(unsafe.Pointer(errmsg))
		}
	})
	if cc.err != nil {
		return nil, cc.err
	}
	// C copies of the key and the input, zeroed and freed below.
	ck := C.CBytes(key)
	defer C.smbkrb_free_secret(ck, C.size_t(len(key)))
	var cin unsafe.Pointer
	if len(in) > 0 {
		cin = C.CBytes(in)
		defer C.smbkrb_free_secret(cin, C.size_t(len(in)))
	}
	var p *C.uint8_t
	var n C.size_t
	var errmsg *C.char
	cc.mu.Lock()
	code := C.smbkrb_c_crypt(cc.c, dec, C.int32_t(enctype), (*C.uint8_t)(ck), C.size_t(len(key)),
		C.int32_t(usage), (*C.uint8_t)(cin), C.size_t(len(in)), &p, &n, &errmsg)
	cc.mu.Unlock()
	if code != 0 {
		return nil, newError(op, code, errmsg)
	}
	if errmsg != nil {
		C.free(unsafe.Pointer(errmsg))
	}
	out := C.GoBytes(unsafe.Pointer(p), C.int(n))
	C.smbkrb_free_secret(unsafe.Pointer(p), n)
	return out, nil
}
