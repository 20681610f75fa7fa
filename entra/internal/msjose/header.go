package msjose

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// checkJSONObject accepts exactly one JSON object whose member names are
// unique, and nothing after it. JOSE headers with a repeated member (two
// "alg"s, two "ctx"s) are ambiguous: RFC 7515 section 4 lets a parser
// refuse them, and two parsers that pick different members are how
// signature checks get bypassed, so they are refused.
func checkJSONObject(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := make(map[string]bool)
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return errors.New("not a JSON object")
		}
		k, ok := tok.(string)
		if !ok {
			return errors.New("not a JSON object")
		}
		if seen[k] {
			return fmt.Errorf("member %q appears twice", clip(k))
		}
		seen[k] = true
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return errors.New("not a JSON object")
		}
	}
	if tok, err := d.Token(); err != nil || tok != json.Delim('}') {
		return errors.New("not a JSON object")
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}
