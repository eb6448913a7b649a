// Command paddock is a coordination service that speaks Apache ZooKeeper's client protocol.
// Run `paddock help` for its verbs.
package main

import (
	"fmt"
	"os"

	"github.com/paddock/paddock/internal/cli"
)

func main() {
	if err := cli.Run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "paddock:", err)
		os.Exit(cli.ExitCode(err))
	}
}
