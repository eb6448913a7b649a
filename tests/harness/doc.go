// Package harness starts real servers for tests: Apache ZooKeeper 3.8 (the reference the
// conformance tests compare against) and built paddock binaries, both from the same
// generated zoo.cfg, on ephemeral loopback ports, in the test's temporary directory.
//
// It owns the server processes it starts: every Start* registers a t.Cleanup that kills the
// process and waits for it, and a failing test gets the tail of the server's log. It also
// holds the polling helpers the tests use instead of sleeps (WaitFor, CheckFor) and
// FreePort.
//
// The harness does not use any ZooKeeper client library: readiness is checked with the
// "ruok" four-letter word and a hand-encoded ConnectRequest, so a broken client cannot make
// a server look healthy or broken.
//
// Environment:
//
//	PADDOCK_BIN   path of a paddock binary to use instead of building cmd/paddock once per
//	              test process
//
// A missing java or ZooKeeper jar makes StartZooKeeper skip the test ("run make deps").
// StartPaddock skips while cmd/paddock, or a package of this module it imports, has no Go
// files yet; any other build error fails the test.
package harness
