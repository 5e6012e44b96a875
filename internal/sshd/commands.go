package sshd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"

	"bartleby/internal/control"
)

// UnblockArgs names the address `bartleby sftp unblock` lets in again.
type UnblockArgs struct {
	Addr string `json:"addr"`
}

// Commands answers "ssh.blocked" and "ssh.unblock" on the control socket.
func (s *Server) Commands() map[string]control.Handler {
	return map[string]control.Handler{
		"ssh.blocked": func(context.Context, json.RawMessage) (any, error) {
			list := s.defender.List()
			for i := range list {
				if list[i].From == "" && s.blocks != nil {
					list[i].From = s.blocks.f.Node()
				}
			}
			sort.Slice(list, func(i, j int) bool { return list[i].Addr < list[j].Addr })
			return list, nil
		},
		"ssh.unblock": func(_ context.Context, raw json.RawMessage) (any, error) {
			var args UnblockArgs
			if err := json.Unmarshal(raw, &args); err != nil {
				return nil, fmt.Errorf("ssh.unblock: %w", err)
			}
			addr, err := netip.ParseAddr(args.Addr)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address", args.Addr)
			}
			was := s.defender.Unblock(addr)
			s.log.Info("address unblocked by the operator", "addr", addr, "was_blocked", was)
			if s.blocks != nil {
				if err := s.blocks.remove(addr); err != nil {
					return nil, err
				}
			}
			return map[string]bool{"was_blocked": was}, nil
		},
	}
}
