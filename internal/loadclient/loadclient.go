// Package loadclient is a minimal HTTP/1.1 keep-alive client for the
// servers' benchmarks: it writes a request as given and reads the answer
// by its Content-Length, as load tools such as wrk do, so that a figure
// measures the server rather than net/http's client (which costs about as
// much CPU per request as the servers' fast paths, on the same cores).
package loadclient

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
)

// Conn is one keep-alive connection. It is not safe for concurrent use.
type Conn struct {
	c   net.Conn
	br  *bufio.Reader
	buf []byte
}

// Dial connects to addr over network ("tcp" or "unix").
func Dial(network, addr string) (*Conn, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, br: bufio.NewReaderSize(c, 64<<10)}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// Do sends one request (a whole HTTP/1.1 message) and reads the answer,
// returning its status and body. The body is valid until the next call.
// It allocates nothing once its buffer has grown to the largest body. An
// answer without a Content-Length (chunked) is an error.
func (c *Conn) Do(req []byte) (int, []byte, error) {
	if _, err := c.c.Write(req); err != nil {
		return 0, nil, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	code := atoi(line[9:12])
	n := -1
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && bytes.EqualFold(line[:15], []byte("Content-Length:")) {
			n = atoi(bytes.TrimSpace(line[15:]))
		}
	}
	if n < 0 {
		return code, nil, fmt.Errorf("status %d without a Content-Length", code)
	}
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	_, err = io.ReadFull(c.br, c.buf)
	return code, c.buf, err
}

// atoi reads a non-negative decimal number; -1 if b is not one.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
