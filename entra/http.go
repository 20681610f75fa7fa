package entra

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/smbkrb/smbkrb/internal/aad"
)

// do sends req with the client's HTTP client and timeout.
func (c *Client) do(ctx context.Context, op string, req *http.Request) (int, []byte, error) {
	return aad.RoundTrip(ctx, c.http, c.cfg.timeout(), c.cfg.UserAgent, op, req)
}

// postForm posts form to u and decodes a 200 JSON reply into out; other
// statuses become classified errors.
func (c *Client) postForm(ctx context.Context, op, u string, form url.Values, out any) error {
	req, err := newFormRequest(u, form)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	status, body, err := c.do(ctx, op, req)
	if err != nil {
		return err
	}
	return decodeReply(op, status, body, out)
}

// decodeReply decodes a JSON reply: 200 into out, anything else into a
// classified error.
func decodeReply(op string, status int, body []byte, out any) error {
	if status != http.StatusOK {
		return aad.ReplyError(op, status, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return aad.DecodeError(op, "the JSON reply", err)
	}
	return nil
}

// newFormRequest is a form POST to u.
func newFormRequest(u string, form url.Values) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}
