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

// withPeer reads the peer credentials of c into ctx; a connection that is
// not a unix socket (a test pipe) has none.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, Peer{UID: int(cred.Uid), PID: int(cred.Pid)})
}
