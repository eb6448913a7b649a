package raftnode

import (
	"errors"
	"fmt"
)

var (
	// ErrStopped is returned by Propose and ReadIndex once the node has stopped,
	// cleanly or because of a fatal error (see Node.Err).
	ErrStopped = errors.New("raftnode: node stopped")

	// ErrProposalDropped is returned by Propose when raft refused the proposal,
	// typically because no leader is known at the moment. The caller may retry.
	ErrProposalDropped = errors.New("raftnode: proposal dropped (no leader?)")

	// ErrEmptyProposal is returned by Propose for empty data: raft uses empty
	// entries internally and they are never handed to StateMachine.Apply.
	ErrEmptyProposal = errors.New("raftnode: empty proposal")

	// ErrNoTransport is returned by Start when the configuration names other
	// members but no Transport is available to reach them.
	ErrNoTransport = errors.New("raftnode: multi-member ensemble needs a peer transport")

	// ErrNotLeader is returned by TransferLeadership on a member that does not
	// lead.
	ErrNotLeader = errors.New("raftnode: not the leader")

	// ErrNoTransferee is returned by TransferLeadership when there is no
	// other voter to hand leadership to, or the member named is not a voter.
	ErrNoTransferee = errors.New("raftnode: no voter to transfer leadership to")

	// ErrInvalidConfChange is returned (wrapped with the reason) by
	// ProposeConfChange for a membership change that is malformed or that
	// raft refuses, such as one that leaves no voter.
	ErrInvalidConfChange = errors.New("raftnode: invalid membership change")

	// ErrConfChangeInProgress is returned by ProposeConfChange while an
	// earlier membership change is not yet applied or its joint
	// configuration not yet left. The caller may retry.
	ErrConfChangeInProgress = errors.New("raftnode: another membership change is in progress")
)

// CorruptError reports a write-ahead log record that cannot be trusted: a bad
// CRC, a malformed record, or data where none may be. It is never repaired
// automatically (only a torn tail of the last segment is).
type CorruptError struct {
	File   string // path of the segment
	Offset int64  // byte offset of the record within the segment
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt record in %s at offset %d: %s", e.File, e.Offset, e.Reason)
}
