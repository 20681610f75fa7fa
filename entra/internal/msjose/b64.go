package msjose

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// decodeB64 decodes base64 in either alphabet, with or without padding.
// Microsoft writes ctx in standard base64 and JWE parts in base64url, and
// other clients have been seen sending either; the alphabet is chosen by the
// characters present, and mixing them is an error. Decoding is otherwise
// strict (no whitespace, no stray bits), so an encoding has one meaning.
// Errors never quote the input.
func decodeB64(s string) ([]byte, error) {
	// Go's decoders skip CR and LF even in strict mode; a token has none.
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("malformed base64: line break")
	}
	t := strings.TrimRight(s, "=")
	if pad := len(s) - len(t); pad > 0 && (pad > 2 || (len(t)+pad)%4 != 0) {
		return nil, errors.New("bad base64 padding")
	}
	enc := base64.RawURLEncoding
	if strings.ContainsAny(t, "+/") {
		enc = base64.RawStdEncoding
	}
	b, err := enc.Strict().DecodeString(t)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			// The offset is useful; the byte at it is not printed.
			return nil, errors.New("malformed base64 at offset " + strconv.FormatInt(int64(ce), 10))
		}
		return nil, errors.New("malformed base64")
	}
	return b, nil
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
