// Package thirdparty drives real third-party ZooKeeper clients (zkCli.sh, the C client's
// cli_mt, go-zookeeper) through scripted sessions and checks what they print or return.
//
// Every test runs the same body against each target in targets: "zookeeper" (Apache
// ZooKeeper 3.8, the reference) and "paddock" (the built binary, skipped while cmd/paddock
// cannot be built for want of Go files). The CLI sessions are transcripts under testdata/: commands and the
// normalized output ZooKeeper gives for them; `go test ./tests/thirdparty -rewrite`
// regenerates them from the zookeeper target, and paddock must print the same.
// `-run /zookeeper` or `-run /paddock` runs one target alone.
//
// The package holds tests only; this file exists for its documentation.
package thirdparty
