package loadclient

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Events is a WebSocket client of an event stream that reads as a load
// tool would: one read system call takes whatever the server has sent into
// a buffer of up to 64 KiB (4 KiB while the stream is slow), and frames are cut from it in place, without an
// allocation per frame. It answers pings with pongs. It is for the
// benchmarks' listeners, whose cost shares the cores with the server's: a
// general client (gorilla/websocket's) allocates a reader per message and
// reads through a 4 KiB buffer, several system calls for one batch of
// events.
//
// Only Close may be called concurrently with Next.
type Events struct {
	c    net.Conn
	wmu  sync.Mutex // guards writes: pongs (Next) and the close frame (Close)
	buf  []byte
	r, w int // buf[r:w] is read and not yet taken
}

// An Events' read buffer starts at minEventsBuf and doubles, up to
// maxEventsBuf, each time a read fills it; it grows further for a larger
// frame.
const (
	minEventsBuf = 4 << 10
	maxEventsBuf = 64 << 10
)

// ErrClosed is what Next returns after the server's close frame; errors.As
// finds its *CloseError.
var ErrClosed = errors.New("websocket closed")

// CloseError is the server's close frame.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket closed: %d %s", e.Code, e.Reason)
}

func (e *CloseError) Unwrap() error { return ErrClosed }

// DialEvents connects over network ("tcp" or "unix") to addr and opens the
// WebSocket at target (a path with its query, such as
// "/1.0/events?type=lifecycle").
func DialEvents(network, addr, target string) (*Events, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	e := &Events{c: c, buf: make([]byte, minEventsBuf)}
	req := "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	// The answer ends at its blank line; frames may follow it in the same
	// read, and stay in the buffer.
	for {
		if i := bytes.Index(e.buf[:e.w], []byte("\r\n\r\n")); i >= 0 {
			head := e.buf[:i]
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
				c.Close()
				line, _, _ := bytes.Cut(head, []byte("\r\n"))
				return nil, fmt.Errorf("websocket handshake: %q, want 101", line)
			}
			e.r = i + 4
			return e, nil
		}
		if e.w == maxEventsBuf {
			c.Close()
			return nil, errors.New("websocket handshake: answer headers over 64 KiB")
		}
		err := e.read()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("websocket handshake: %w", err)
		}
	}
}

// Next returns the payload of the next text frame, valid until the next
// call. Pings are answered and pongs skipped on the way. A close frame
// ends the stream with a *CloseError; anything else a server must not send
// (a masked or fragmented frame, a binary one) is an error.
func (e *Events) Next() ([]byte, error) {
	for {
		if err := e.fill(2); err != nil {
			return nil, err
		}
		b0, b1 := e.buf[e.r], e.buf[e.r+1]
		if b1&0x80 != 0 {
			return nil, errors.New("websocket: masked frame from the server")
		}
		head, n := 2, int(b1&0x7f)
		switch n {
		case 126:
			head = 4
			if err := e.fill(head); err != nil {
				return nil, err
			}
			n = int(binary.BigEndian.Uint16(e.buf[e.r+2:]))
		case 127:
			head = 10
			if err := e.fill(head); err != nil {
				return nil, err
			}
			n64 := binary.BigEndian.Uint64(e.buf[e.r+2:])
			if n64 > 1<<30 {
				return nil, fmt.Errorf("websocket: frame of %d bytes", n64)
			}
			n = int(n64)
		}
		if err := e.fill(head + n); err != nil {
			return nil, err
		}
		p := e.buf[e.r+head : e.r+head+n]
		e.r += head + n
		if b0&0x80 == 0 {
			return nil, errors.New("websocket: fragmented frame")
		}
		switch op := b0 & 0x0f; op {
		case 1: // text
			return p, nil
		case 9: // ping
			if err := e.write(0xA, p); err != nil {
				return nil, err
			}
		case 10: // pong
		case 8: // close
			ce := &CloseError{Code: 1005}
			if len(p) >= 2 {
				ce.Code, ce.Reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
			}
			e.write(0x8, p[:min(len(p), 2)])
			return nil, ce
		default:
			return nil, fmt.Errorf("websocket: frame of opcode %d", op)
		}
	}
}

// fill makes buf[r:] hold at least n read bytes.
func (e *Events) fill(n int) error {
	if e.w-e.r >= n {
		return nil
	}
	if len(e.buf)-e.r < n {
		if n > len(e.buf) {
			e.buf = append(e.buf, make([]byte, n-len(e.buf))...)
		}
		e.w = copy(e.buf, e.buf[e.r:e.w])
		e.r = 0
	}
	for e.w-e.r < n {
		if err := e.read(); err != nil && e.w-e.r < n {
			return err
		}
	}
	return nil
}

// read reads once into the free end of buf, and doubles buf (up to
// maxEventsBuf) when the read filled it.
func (e *Events) read() error {
	m, err := e.c.Read(e.buf[e.w:])
	e.w += m
	if e.w == len(e.buf) && len(e.buf) < maxEventsBuf {
		e.buf = append(e.buf, make([]byte, len(e.buf))...)
	}
	return err
}

// write sends a control frame, masked as a client's must be, with a zero
// key, which leaves the payload as it is. RFC 6455 section 5.3 wants an
// unpredictable key, to protect proxies from crafted payloads; a server
// only unmasks, and these frames are pongs and a close.
func (e *Events) write(op byte, p []byte) error {
	if len(p) > 125 {
		p = p[:125]
	}
	f := append([]byte{0x80 | op, 0x80 | byte(len(p)), 0, 0, 0, 0}, p...)
	e.wmu.Lock()
	defer e.wmu.Unlock()
	_, err := e.c.Write(f)
	return err
}

// Close sends a normal close frame and hangs up.
func (e *Events) Close() error {
	e.write(0x8, []byte{0x03, 0xe8}) // 1000
	return e.c.Close()
}
