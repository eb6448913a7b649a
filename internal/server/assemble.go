package server

import (
	"context"
	"errors"
	"net/http"
)

// What self-assembly (internal/assemble, wired by internal/cli) needs of a running member.

// AdminHandlers are extra admin endpoints, by ServeMux pattern.
type AdminHandlers map[string]http.Handler

// Ready reports whether this member is in a quorum and caught up with it: what /readyz
// answers. The error says why not.
func (s *Server) Ready(ctx context.Context) error {
	st := s.node.Status()
	switch {
	case st.Leader == 0:
		return errors.New("no leader")
	case s.readOnly():
		return errors.New("read-only, cut off from the quorum")
	}
	if err := s.node.ReadIndex(ctx); err != nil {
		return errors.New("not caught up with a quorum: " + err.Error())
	}
	return nil
}

// Membership returns the data of /zookeeper/config as this member has applied it: one
// server.N line per member, then version=<hex>; empty before the ensemble's first leader
// recorded it. The caller owns the slice.
func (s *Server) Membership() []byte {
	data, _ := s.configData()
	return append([]byte(nil), data...)
}
