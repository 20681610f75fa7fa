package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxReply bounds every reply body: the largest Entra replies (a PRT
// response with two TGTs) are a few tens of KiB.
const maxReply = 1 << 20

// do sends req with the client's HTTP client and timeout.
func (c *Client) do(ctx context.Context, op string, req *http.Request) (int, []byte, error) {
	return roundTrip(ctx, c.http, c.cfg.timeout(), c.cfg.UserAgent, op, req)
}

// roundTrip sends req with hc, bounded by timeout unless ctx has an
// earlier deadline, and returns the status and the body (bounded).
// Network errors name the host, never the query.
func roundTrip(ctx context.Context, hc *http.Client, timeout time.Duration, userAgent, op string, req *http.Request) (int, []byte, error) {
	var cancel context.CancelFunc
	if _, ok := ctx.Deadline(); ok {
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	req = req.WithContext(ctx)
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		} else {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
		}
		return 0, nil, &Error{Op: op, Err: fmt.Errorf("%s %s://%s%s: %w", req.Method, req.URL.Scheme, req.URL.Host, req.URL.Path, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return resp.StatusCode, nil, &Error{Op: op, Status: resp.StatusCode, Err: fmt.Errorf("reading the reply of %s: %w", req.URL.Host, err)}
	}
	if len(body) > maxReply {
		return resp.StatusCode, nil, decodeError(op, fmt.Sprintf("the reply of %s is larger than %d bytes", req.URL.Host, maxReply), nil)
	}
	return resp.StatusCode, body, nil
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
		return replyError(op, status, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return decodeError(op, "the JSON reply", err)
	}
	return nil
}

// replyError is the error of a reply whose status is not 200: the OAuth
// error body when there is one.
func replyError(op string, status int, body []byte) error {
	var oe oauthError
	if json.Unmarshal(body, &oe) == nil && (oe.Error != "" || oe.Description != "") {
		return classify(op, status, oe)
	}
	e := &Error{Op: op, Status: status, Err: fmt.Errorf("HTTP %d %s", status, http.StatusText(status))}
	if status == http.StatusUnauthorized {
		e.Err = fmt.Errorf("HTTP 401: %w", ErrUnauthorized)
	}
	return e
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
