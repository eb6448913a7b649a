// Package cli holds the verbs of the paddock binary, one file per verb. Run dispatches on the
// first argument; each verb parses its own flags.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

type verb struct {
	summary string
	run     func(args []string) error
}

var verbs = map[string]verb{}

func register(name, summary string, run func(args []string) error) {
	verbs[name] = verb{summary: summary, run: run}
}

// usageError marks an error caused by bad arguments (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// ExitCode maps an error from Run to a process exit code.
func ExitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// Run runs the verb named by args[0].
func Run(args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(os.Stdout)
		return nil
	}
	v, ok := verbs[args[0]]
	if !ok {
		usage(os.Stderr)
		return &usageError{fmt.Sprintf("unknown verb %q", args[0])}
	}
	err := v.run(args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: paddock <verb> [flags]")
	fmt.Fprintln(w, "\nverbs:")
	names := make([]string, 0, len(verbs))
	for n := range verbs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, verbs[n].summary)
	}
}
