package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/paddock/paddock/internal/server"
	"github.com/paddock/paddock/internal/zkcli"
)

func init() {
	register("cli", "zkCli.sh-compatible shell: the same flags, commands and output; --json for scripts", runZkCli)
}

// runZkCli is `paddock cli`. A failed command has already printed its error, as zkCli.sh
// does, so the exit status is set here rather than through an error for main to print.
func runZkCli(args []string) error {
	o, cmd, err := zkcli.ParseArgs(args)
	if errors.Is(err, zkcli.ErrHelp) {
		fmt.Fprint(os.Stdout, zkcli.Usage)
		return nil
	}
	if err != nil {
		return &usageError{err.Error() + " (paddock cli -h for help)"}
	}
	o.Version = "3.9.0-paddock-" + server.Version + ", built on " + runtime.Version()
	if home, err := os.UserHomeDir(); err == nil {
		o.HistoryFile = filepath.Join(home, ".paddock_cli_history")
	}
	if code := zkcli.Run(o, cmd); code != 0 {
		os.Exit(code)
	}
	return nil
}
