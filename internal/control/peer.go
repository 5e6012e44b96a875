package control

import (
	"context"
	"net"

	"golang.org/x/sys/unix"
)

// Peer is the process at the other end of a control connection as the
// kernel reports it (SO_PEERCRED): unlike anything in a request, the client
// cannot forge it. Commands use it to record who did what.
type Peer struct {
	UID int
	PID int
}

type peerKey struct{}

// PeerFrom returns the peer of the connection a command came in on.
func PeerFrom(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// peerOf reads the peer credentials of c; a connection that is not a unix
// socket has none.
func peerOf(c net.Conn) (Peer, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, false
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return Peer{}, false
	}
	return Peer{UID: int(cred.Uid), PID: int(cred.Pid)}, true
}
