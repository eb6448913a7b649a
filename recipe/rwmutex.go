package recipe

import (
	"strings"
)

// Curator's read-write lock node names; they must have the same length.
const (
	readLockName  = "__READ__"
	writeLockName = "__WRIT__"
)

// RWMutex is Curator's InterProcessReadWriteLock: readers and writers queue as protected
// ephemeral sequential nodes "_c_<uuid>-__READ__<seq>" and "_c_<uuid>-__WRIT__<seq>" under
// one path, sorted by sequence number across both kinds. A writer holds the lock when its node
// is first; a reader when no writer's node comes before its own (it watches the first
// writer's node), so readers share it and a waiting writer keeps later readers out.
//
// As in Curator, the holder of the write lock may take the read lock too (downgrading by
// then releasing the write lock). The read and write locks are Mutexes, with the same
// guarantees and loss semantics.
type RWMutex struct {
	read  *Mutex
	write *Mutex
}

// NewRWMutex returns the read-write lock at path; its nodes hold the Session's default data.
func NewRWMutex(s *Session, path string) *RWMutex {
	key := func(n string) string {
		return fixForSorting(fixForSorting(n, readLockName), writeLockName)
	}
	write := newMutex(s, path, writeLockName, nil, 1)
	write.l.sortKey = key
	write.l.only = true
	read := newMutex(s, path, readLockName, nil, 1)
	read.l.sortKey = key
	read.l.only = true
	read.l.gets = func(kids []string, ours string) (bool, string, error) {
		if write.IsHeld() {
			return true, "", nil
		}
		firstWrite, i := -1, -1
		for j, k := range kids {
			if strings.Contains(k, writeLockName) {
				if firstWrite < 0 {
					firstWrite = j
				}
			} else if strings.HasPrefix(k, ours) {
				i = j
				break
			}
		}
		if i < 0 {
			return false, "", errNodeGone
		}
		if firstWrite < 0 || i < firstWrite {
			return true, "", nil
		}
		return false, kids[firstWrite], nil
	}
	return &RWMutex{read: read, write: write}
}

// ReadLock returns the read lock.
func (rw *RWMutex) ReadLock() *Mutex { return rw.read }

// WriteLock returns the write lock.
func (rw *RWMutex) WriteLock() *Mutex { return rw.write }
