package raftnode

import pb "go.etcd.io/raft/v3/raftpb"

// snapshotForNewMembers runs on the Ready loop when the change at index has been applied
// to raft, changing the membership from before to n.confState. raft refuses a snapshot whose
// membership lacks the recipient, so a member added after the newest snapshot could never
// catch up once the log before it is compacted: take a snapshot at index, as soon as it is
// applied (or when the one being written is done).
func (n *Node) snapshotForNewMembers(before *pb.ConfState, index uint64) {
	first, err := n.storage.FirstIndex()
	if err != nil || first <= 1 {
		return // the whole log is there to replicate
	}
	for _, ids := range [][]uint64{n.confState.Voters, n.confState.Learners, n.confState.LearnersNext} {
		for _, id := range ids {
			if isMember(before, id) {
				continue
			}
			if n.snapBusy {
				n.snapWanted = true
			} else {
				n.nextSnapAt = min(n.nextSnapAt, index)
			}
			return
		}
	}
}
