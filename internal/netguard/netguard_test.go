package netguard

import (
	"net"
	"testing"
	"time"
)

// TestLimit: past the cap a connection is closed at accept; closing an
// accepted one (twice, even) frees exactly one slot.
func TestLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := Limit(raw, 2, "test", nil)
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial()
	dial()
	a, b := <-accepted, <-accepted
	third := dial()
	third.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("third connection past a cap of 2: read %v, want it closed at once", err)
	}
	if ln.Active() != 2 || ln.Refused() != 1 {
		t.Errorf("active %d refused %d, want 2 and 1", ln.Active(), ln.Refused())
	}
	a.Close()
	a.Close()
	if ln.Active() != 1 {
		t.Errorf("active %d after closing one twice, want 1", ln.Active())
	}
	dial()
	select {
	case <-accepted:
	case <-time.After(2 * time.Second):
		t.Fatal("a freed slot was not given to the next connection")
	}
	b.Close()
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
