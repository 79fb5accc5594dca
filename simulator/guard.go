package simulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Who may call the control API. It can reset the simulation and inject
// events, so a request is answered only when the server can tell who sent
// it:
//
//   - over the LXD unix socket, whoever may open the socket file (mode
//     0660), as LXD trusts it;
//   - over LXD's TLS listener, a client whose certificate is trusted (the
//     LXD server checks it before the request gets here);
//   - over plain HTTP (the Linode listener, and the LXD TCP listener without
//     TLS), a caller that sends the control token as
//     "Authorization: Bearer TOKEN". Browsers never send that header
//     cross-origin without a CORS preflight, and no preflight is ever
//     allowed, so a web page cannot drive the fake.
//
// Over TCP (plain or TLS), the Host header must also name a loopback host
// (localhost, 127.0.0.0/8, [::1]) or the address the client connected to
// or the one the listener was given, and an Origin header, if sent, the
// same: a DNS-rebound page names its own host and gets 403. A request with
// a body must say it is JSON (or YAML, for a scenario sent to run): the
// content types a browser may send cross-origin without a preflight
// (text/plain, forms) get 415.

// ControlTokenHeader is how the control token is sent: "Bearer TOKEN".
const ControlTokenHeader = "Authorization"

// newControlToken makes a random control token.
func newControlToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "eventsim-control-" + hex.EncodeToString(b)
}

// ControlToken is the token control requests over plain HTTP must send as
// "Authorization: Bearer TOKEN": Options.ControlToken, or the one generated.
func (s *Server) ControlToken() string { return s.ctlToken }

// Media types a request body may have: JSON everywhere, YAML too for run.
var (
	jsonTypes = []string{"application/json"}
	yamlTypes = []string{"application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
)

// guardControl admits a control request only from a caller it can tell
// (see above); others get 403, 401 or 415 in the control API's error shape.
func (s *Server) guardControl(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		overUnix := local != nil && local.Network() == "unix"
		if !overUnix {
			if !s.allowedHost(r.Host, local) {
				controlError(w, &controlErr{errForbidden, fmt.Errorf("host %.64q is not allowed: the control API answers only requests to a loopback name (localhost, 127.0.0.1, [::1]) or the address it listens on", r.Host)})
				return
			}
			if o := r.Header.Get("Origin"); o != "" && !s.allowedOrigin(o, local) {
				controlError(w, &controlErr{errForbidden, fmt.Errorf("origin %.64q is not allowed: the control API answers no cross-origin requests", o)})
				return
			}
		}
		if !overUnix && r.TLS == nil {
			if err := s.checkControlToken(r); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="eventsim control"`)
				controlError(w, &controlErr{errUnauthorized, err})
				return
			}
		}
		if r.ContentLength != 0 { // a body, or one of unknown length (chunked)
			allowed := jsonTypes
			if r.URL.Path == "/eventsim/v1/run" {
				allowed = yamlTypes
			}
			ct := r.Header.Get("Content-Type")
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || !slices.Contains(allowed, mt) {
				controlError(w, &controlErr{errMediaType, fmt.Errorf("content type %.64q is not accepted: send the body as %s", ct, strings.Join(allowed, " or "))})
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// checkControlToken checks "Authorization: Bearer TOKEN".
func (s *Server) checkControlToken(r *http.Request) error {
	v := r.Header.Get(ControlTokenHeader)
	if v == "" {
		return errors.New("the control API needs the control token over plain HTTP: send Authorization: Bearer TOKEN (eventsim serve prints the token; --control-token sets it)")
	}
	scheme, tok, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.ctlToken)) != 1 {
		return errors.New("invalid control token: send Authorization: Bearer TOKEN with the token eventsim serve printed (or set with --control-token)")
	}
	return nil
}

// allowedHost reports whether a Host header names a loopback host, the
// address the client connected to (local), or a listener's configured host.
func (s *Server) allowedHost(host string, local net.Addr) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() {
			return true
		}
		if ta, ok := local.(*net.TCPAddr); ok && ta.IP.Equal(ip) {
			return true
		}
	}
	for _, addr := range []string{s.opts.LXD.Addr, s.opts.Linode.Addr} {
		if h, _, err := net.SplitHostPort(addr); err == nil && h != "" && strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
}

// allowedOrigin reports whether an Origin header names an allowed host.
func (s *Server) allowedOrigin(origin string, local net.Addr) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return s.allowedHost(u.Host, local)
}
