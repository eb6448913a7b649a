package thirdparty

import (
	"maps"
	"testing"

	"github.com/paddock/paddock/tests/harness"
)

// reference is the target whose output the transcripts record.
const reference = "zookeeper"

// serverOpts are the options a test needs from either server; both get the same zoo.cfg.
type serverOpts struct {
	Properties map[string]string
	Config     []string
}

// target is a server the same test body runs against.
type target struct {
	name  string
	start func(t *testing.T, o serverOpts) *harness.Server
}

var targets = []target{
	{"zookeeper", func(t *testing.T, o serverOpts) *harness.Server {
		return harness.StartZooKeeper(t, harness.ZKOptions{Properties: maps.Clone(o.Properties), Config: o.Config})
	}},
	{"paddock", func(t *testing.T, o serverOpts) *harness.Server {
		return harness.StartPaddock(t, harness.PaddockOptions{Properties: maps.Clone(o.Properties), Config: o.Config})
	}},
}

// forEachTarget runs body in a subtest per target, each with a fresh server.
func forEachTarget(t *testing.T, o serverOpts, body func(t *testing.T, tg string, srv *harness.Server)) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			body(t, tg.name, tg.start(t, o))
		})
	}
}
