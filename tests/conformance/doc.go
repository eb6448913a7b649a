// Package conformance is the differential conformance suite: every scenario runs against
// Apache ZooKeeper 3.8 (started by tests/harness from the Debian package) and against the
// built paddock binary, standalone and as a 3-member ensemble with the scenario's sessions
// spread over the members; each run produces a normalized transcript of what the server
// answered, and paddock's transcripts must equal ZooKeeper's line for line.
//
// A transcript line is one reply (session, op, request arguments, error code name, every
// response field including every Stat field, and the reply header's zxid), one watch event
// (in the position it arrived relative to the replies), or a connection state ("closed").
// Zxids and times are replaced by their rank within the scenario (Z1 < Z2 < ..., T1 < T2 <
// ...), session ids by their order of first appearance (S1, S2, ...), so the comparison is
// exact about order and equality and blind to absolute values.
//
// The reference is always the live ZooKeeper run of the same test process, never a golden
// file. Where ZooKeeper 3.9 behaves differently from the installed 3.8 (paddock follows
// 3.9), the scenario says so and supplies the 3.9 answer for that one line.
//
// The package holds tests only; see README.md for how to run it and add scenarios.
package conformance
