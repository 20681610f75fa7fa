package krb5

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
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
// call). It needs no KDC and no cache.
func (k *Context) Encrypt(enctype Enctype, key []byte, usage KeyUsage, plaintext []byte) ([]byte, error) {
	return k.crypt(false, enctype, key, usage, plaintext)
}

// Decrypt decrypts and checks ciphertext, the cipher field of an
// EncryptedData, with key, a raw key of type enctype, for usage. A wrong
// key, usage or a modified ciphertext gives an error (MIT's integrity
// check), never garbage. The plaintext may hold secrets (session keys):
// clear it when done.
func (k *Context) Decrypt(enctype Enctype, key []byte, usage KeyUsage, ciphertext []byte) ([]byte, error) {
	return k.crypt(true, enctype, key, usage, ciphertext)
}

func (k *Context) crypt(decrypt bool, enctype Enctype, key []byte, usage KeyUsage, in []byte) ([]byte, error) {
	what := "encrypt"
	dec := C.int(0)
	if decrypt {
		what, dec = "decrypt", 1
	}
	op := fmt.Sprintf("%s with a %s key (key usage %d)", what, enctype, usage)
	if n := enctype.KeySize(); n == 0 || len(key) != n {
		return nil, &Error{Op: op, Message: fmt.Sprintf("a %s key is %d bytes, got %d", enctype, n, len(key))}
	}
	// C copies of the key and the input, zeroed and freed below.
	ck := C.CBytes(key)
	defer C.smbkrb_free_secret(ck, C.size_t(len(key)))
	var cin unsafe.Pointer
	if len(in) > 0 {
		cin = C.CBytes(in)
		defer C.smbkrb_free_secret(cin, C.size_t(len(in)))
	}
	var out []byte
	err := k.call(context.Background(), op, func() (C.krb5_error_code, *C.char) {
		var p *C.uint8_t
		var n C.size_t
		var errmsg *C.char
		code := C.smbkrb_c_crypt(k.c, dec, C.int32_t(enctype), (*C.uint8_t)(ck), C.size_t(len(key)),
			C.int32_t(usage), (*C.uint8_t)(cin), C.size_t(len(in)), &p, &n, &errmsg)
		if code == 0 {
			out = C.GoBytes(unsafe.Pointer(p), C.int(n))
			C.smbkrb_free_secret(unsafe.Pointer(p), n)
		}
		return code, errmsg
	})
	return out, err
}
