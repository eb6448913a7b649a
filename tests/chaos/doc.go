// Package chaos runs a three-member paddock ensemble of real processes on loopback under
// faults and checks what clients observed.
//
// Every directed peer link goes through a TCP proxy in the test process, so the test cuts
// and heals links deterministically without root: member i's zoo.cfg names member j at the
// address of proxy(i→j), and all members share one paddock.clusterID. The faults are kill -9
// of the leader and of a follower (then a restart), SIGSTOP of a member for longer than the
// session timeout (then SIGCONT), the leader isolated from the majority, a follower isolated,
// a member restarted with a wiped data directory, a follower killed while the other follower
// is cut off (no quorum until it returns), and, when the server implements it, reconfig under
// load. Longer runs add a one-way link cut and a crash of every member at once.
//
// Worker goroutines, each with its own session, run create, setData with a version, delete,
// multi and sync+getData on a small key space while the faults happen; a connection loss
// moves the session to another member. The histories are checked with porcupine for
// linearizability (writes, and reads that follow sync), acknowledged creates must survive on
// every member, and ephemerals of abandoned sessions must be gone after the session timeout.
//
// TestWipedMemberRejoins and TestSessionsAfterSnapshotCatchUp are the smallest forms of
// failures the chaos runs found, kept as focused tests.
//
// Environment:
//
//	CHAOS_ITERATIONS  runs of TestChaos (default 1: every fault once, in a fixed order); more
//	                  runs use random fault schedules (make chaos)
//	CHAOS_SEED        seed of the random choices (default: the time)
//	CHAOS_ARTIFACTS   directory for what a failed linearizability check leaves: porcupine's
//	                  HTML visualisation and the group's history as text
//	CHAOS_RECHECK     a saved history (.txt) for TestRecheckSavedHistory to check again
//
// The package holds tests only.
package chaos
