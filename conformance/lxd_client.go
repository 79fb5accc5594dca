package conformance

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/gorilla/websocket"
)

// lxdClient speaks HTTP and WebSocket to one LXD target.
type lxdClient struct {
	base   string // http://unix.socket, http://host:port or https://host:port
	wsBase string
	http   *http.Client
	dialer *websocket.Dialer
	unix   bool
}

// newLXDClient parses a target: unix:///path/unix.socket, https://HOST:PORT
// (with client cert and key, optionally insecure) or http://HOST:PORT.
func newLXDClient(o LXDOptions) (*lxdClient, error) {
	u, err := url.Parse(o.Target)
	if err != nil || o.Target == "" {
		return nil, &ConfigError{Field: "target", Msg: fmt.Sprintf("%q, must be unix:///path/unix.socket, https://HOST:PORT or http://HOST:PORT", o.Target)}
	}
	c := &lxdClient{dialer: &websocket.Dialer{HandshakeTimeout: 5 * time.Second}}
	tr := &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 4}
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Opaque
		}
		if path == "" {
			return nil, &ConfigError{Field: "target", Msg: fmt.Sprintf("%q names no socket path", o.Target)}
		}
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		tr.DialContext = dial
		c.dialer.NetDialContext = dial
		c.base, c.wsBase, c.unix = "http://unix.socket", "ws://unix.socket", true
	case "http", "https":
		if u.Host == "" {
			return nil, &ConfigError{Field: "target", Msg: fmt.Sprintf("%q names no host", o.Target)}
		}
		c.base = u.Scheme + "://" + u.Host
		c.wsBase = strings.Replace(c.base, "http", "ws", 1)
		if u.Scheme == "https" {
			cfg := &tls.Config{InsecureSkipVerify: o.Insecure} //nolint:gosec // the user asked for it
			if o.Cert != "" || o.Key != "" {
				if o.Cert == "" || o.Key == "" {
					return nil, &ConfigError{Field: "cert", Msg: "--cert and --key go together"}
				}
				pair, err := tls.LoadX509KeyPair(o.Cert, o.Key)
				if err != nil {
					return nil, &ConfigError{Field: "cert", Msg: err.Error()}
				}
				cfg.Certificates = []tls.Certificate{pair}
			}
			tr.TLSClientConfig = cfg
			c.dialer.TLSClientConfig = cfg
		} else if o.Cert != "" || o.Insecure {
			return nil, &ConfigError{Field: "target", Msg: "--cert, --key and --insecure need an https:// target"}
		}
	default:
		return nil, &ConfigError{Field: "target", Msg: fmt.Sprintf("scheme %q, must be unix, https or http", u.Scheme)}
	}
	c.http = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	return c, nil
}

// lxdResponse is LXD's response envelope, its metadata left raw.
type lxdResponse = events.LXDResponse[json.RawMessage]

// httpExchange is one request and its answer, kept for findings.
type httpExchange struct {
	status int
	header http.Header
	body   []byte
	env    lxdResponse
	envErr error
}

func (x *httpExchange) subject(method, path string) []byte {
	return fmt.Appendf(nil, "%s %s -> %d %s", method, path, x.status, bytes.TrimSpace(x.body))
}

func (c *lxdClient) do(ctx context.Context, method, path string, body any, hdr http.Header) (*httpExchange, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	x := &httpExchange{status: resp.StatusCode, header: resp.Header, body: b}
	x.envErr = json.Unmarshal(b, &x.env)
	return x, nil
}

// frame is one WebSocket message as received.
type frame struct {
	binary bool
	data   []byte
	at     time.Time
}

// listener is one /1.0/events connection and what it received.
type listener struct {
	name  string
	query string
	conn  *websocket.Conn

	mu     sync.Mutex
	frames []frame
	pings  int
	err    error
	done   chan struct{}
}

const (
	wsWriteWait = 5 * time.Second
)

// listen opens /1.0/events?query and reads it until closed.
func (c *lxdClient) listen(ctx context.Context, name, query string) (*listener, *httpExchange, error) {
	u := c.wsBase + "/1.0/events"
	if query != "" {
		u += "?" + query
	}
	conn, resp, err := c.dialer.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			x := &httpExchange{status: resp.StatusCode, header: resp.Header, body: b}
			x.envErr = json.Unmarshal(b, &x.env)
			return nil, x, err
		}
		return nil, nil, err
	}
	l := &listener{name: name, query: query, conn: conn, done: make(chan struct{})}
	conn.SetPingHandler(func(data string) error {
		l.mu.Lock()
		l.pings++
		l.mu.Unlock()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wsWriteWait))
		if err == websocket.ErrCloseSent {
			return nil
		}
		return err
	})
	go l.read()
	return l, nil, nil
}

func (l *listener) read() {
	defer close(l.done)
	for {
		mt, data, err := l.conn.ReadMessage()
		if err != nil {
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
			return
		}
		l.mu.Lock()
		l.frames = append(l.frames, frame{binary: mt == websocket.BinaryMessage, data: data, at: time.Now()})
		l.mu.Unlock()
	}
}

// close ends the connection politely and waits for the reader.
func (l *listener) close() {
	_ = l.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(wsWriteWait))
	select {
	case <-l.done:
	case <-time.After(time.Second):
	}
	_ = l.conn.Close()
	<-l.done
}

func (l *listener) snapshot() ([]frame, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]frame(nil), l.frames...), l.pings
}
