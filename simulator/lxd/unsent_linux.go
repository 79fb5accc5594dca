//go:build linux

package lxd

import (
	"net"
	"syscall"
	"unsafe"
)

// unsentBytes reports how many bytes written to c its peer has not read
// yet (the socket's SIOCOUTQ), through the wrappers of c that name the
// connection below (NetConn, as tls.Conn and netguard's have), or false
// where the socket cannot tell.
func unsentBytes(c net.Conn) (int, bool) {
	for {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var n int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&n)))
	}); err != nil || errno != 0 {
		return 0, false
	}
	return int(n), true
}
