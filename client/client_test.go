package client_test

import (
	"testing"
)

// body is one test body of TestServers. It gets a server shared with the other bodies of its
// target and works under its own root node.
type body struct {
	name string
	fn   func(t *testing.T, e *env)
}

var bodies = []body{
	{"Create", testCreate},
	{"Data", testData},
	{"Children", testChildren},
	{"ACL", testACL},
	{"Misc", testMisc},
	{"Multi", testMulti},
	{"MultiRead", testMultiRead},
	{"OneShotWatches", testOneShotWatches},
	{"WatchOrdering", testWatchOrdering},
	{"PersistentWatches", testPersistentWatches},
	{"RemoveWatches", testRemoveWatches},
	{"Chroot", testChroot},
	{"Auth", testAuth},
	{"AuthFailed", testAuthFailed},
	{"Reconnect", testReconnect},
	{"Expiry", testExpiry},
	{"Cancel", testCancel},
	{"Pipelining", testPipelining},
	{"Close", testClose},
}

// TestServers runs every body against Apache ZooKeeper 3.8 and against paddock, one server of
// each kind for all the bodies, the two kinds in parallel.
func TestServers(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			srv := tg.start(t)
			e := &env{kind: tg.name, addr: srv.Addr()}
			for _, b := range bodies {
				t.Run(b.name, func(t *testing.T) { b.fn(t, e) })
			}
		})
	}
}
