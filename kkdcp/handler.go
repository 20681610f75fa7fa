package kkdcp

import (
	"context"
	"errors"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// defaultMaxMessageSize bounds a request body at the proxy.
	defaultMaxMessageSize = 64 << 10

	// Application tags of the first byte of a KDC-REQ (RFC 4120 section 5.4.1).
	tagASReq  = 0x6a // [APPLICATION 10]
	tagTGSReq = 0x6c // [APPLICATION 12]
)

// Handler is an [http.Handler] that is a KDC proxy (MS-KKDCP): it accepts
// a KDC-PROXY-MESSAGE posted over HTTPS, forwards the AS-REQ or TGS-REQ in it
// to a KDC of the target realm over TCP, and answers with the KDC's reply in
// a KDC-PROXY-MESSAGE.
//
// Serve it with TLS only (for example [http.ListenAndServeTLS]); clients
// refuse plain HTTP. A Handler is safe for concurrent use; its fields must
// not be changed while it serves.
//
// It answers:
//
//   - 200 OK with the reply, Content-Type application/kerberos;
//   - 405 Method Not Allowed for anything but POST;
//   - 415 Unsupported Media Type for a Content-Type other than
//     application/kerberos, application/octet-stream or none;
//   - 413 Request Entity Too Large for a body over MaxMessageSize;
//   - 400 Bad Request for a body that is not a DER KDC-PROXY-MESSAGE, that
//     has no target-domain, or whose message is not an AS-REQ or TGS-REQ;
//   - 403 Forbidden for a target-domain that is not a key of Realms: the
//     proxy does not relay for realms it was not configured with;
//   - 503 Service Unavailable when no KDC of the realm answered.
type Handler struct {
	// Realms maps a realm to the TCP addresses ("host:port") of its KDCs,
	// tried in order until one answers. Realm names match without regard
	// to case, as MS-KKDCP says of target-domain.
	Realms map[string][]string

	// MaxMessageSize bounds a request body in bytes. 0 means 64 KiB.
	MaxMessageSize int64

	// KDCTimeout bounds the exchange with each KDC. 0 means 10 seconds.
	KDCTimeout time.Duration

	// DialContext opens TCP connections to KDCs. nil means a zero
	// [net.Dialer].
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// ErrorLog receives a line for each KDC that fails to answer. nil means
	// the log package's standard logger. Messages are never logged.
	ErrorLog *log.Logger
}

// ServeHTTP proxies one Kerberos request; see [Handler] for its answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "kkdcp: only POST is allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != contentType && mt != "application/octet-stream") {
			http.Error(w, "kkdcp: Content-Type must be "+contentType, http.StatusUnsupportedMediaType)
			return
		}
	}

	limit := h.MaxMessageSize
	if limit <= 0 {
		limit = defaultMaxMessageSize
	}
	if r.ContentLength > limit {
		http.Error(w, "kkdcp: request too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "kkdcp: request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "kkdcp: cannot read request", http.StatusBadRequest)
		return
	}

	m, err := Unmarshal(body)
	if err != nil {
		http.Error(w, "kkdcp: request is not a DER KDC-PROXY-MESSAGE", http.StatusBadRequest)
		return
	}
	if m.TargetDomain == "" {
		http.Error(w, "kkdcp: request has no target-domain", http.StatusBadRequest)
		return
	}
	if t := m.KerbMessage[0]; t != tagASReq && t != tagTGSReq {
		http.Error(w, "kkdcp: only AS-REQ and TGS-REQ are proxied", http.StatusBadRequest)
		return
	}
	realm, kdcs, ok := h.lookup(m.TargetDomain)
	if !ok {
		http.Error(w, "kkdcp: realm not served by this proxy", http.StatusForbidden)
		return
	}

	reply, ok := h.forward(r.Context(), realm, kdcs, m.KerbMessage)
	if !ok {
		http.Error(w, "kkdcp: no KDC of the realm answered", http.StatusServiceUnavailable)
		return
	}
	out, err := (&Message{KerbMessage: reply}).Marshal()
	if err != nil {
		h.logf("kkdcp: realm %q: cannot encode the KDC reply: %v", realm, err)
		http.Error(w, "kkdcp: cannot encode the KDC reply", http.StatusBadGateway)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(out)))
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// lookup finds the configured realm name and KDCs for a target-domain.
func (h *Handler) lookup(target string) (string, []string, bool) {
	if kdcs, ok := h.Realms[target]; ok {
		return target, kdcs, true
	}
	for realm, kdcs := range h.Realms {
		if strings.EqualFold(realm, target) {
			return realm, kdcs, true
		}
	}
	return "", nil, false
}

// forward tries the KDCs in order and returns the first reply.
func (h *Handler) forward(ctx context.Context, realm string, kdcs []string, req []byte) ([]byte, bool) {
	timeout := h.KDCTimeout
	if timeout <= 0 {
		timeout = defaultKDCTimeout
	}
	if len(kdcs) == 0 {
		h.logf("kkdcp: realm %q: no KDCs configured", realm)
	}
	for _, addr := range kdcs {
		if ctx.Err() != nil {
			return nil, false // the client has gone
		}
		kctx, cancel := context.WithTimeout(ctx, timeout)
		reply, err := ExchangeTCP(kctx, h.DialContext, addr, req, defaultMaxReply)
		cancel()
		if err == nil {
			return reply, true
		}
		// err names the KDC and the step; it never holds message bytes.
		h.logf("kkdcp: realm %q: %v", realm, err)
	}
	return nil, false
}

func (h *Handler) logf(format string, args ...any) {
	if h.ErrorLog != nil {
		h.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}
