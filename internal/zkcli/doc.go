// Package zkcli is `paddock cli`: a command-line client for ZooKeeper-protocol servers that
// takes zkCli.sh's flags and commands and prints what zkCli.sh (ZooKeeper 3.8) prints, so
// that muscle memory and scripts carry over. It owns the command table, zkCli's parsing
// rules (its tokenizer and Apache Commons CLI's option parser), zkCli's output formats,
// --json output, the interactive shell with its line editor, history file and completion,
// and the printing of watch events. It talks to servers through the public client package
// only.
//
// Run is the entry point; ParseArgs turns the verb's arguments into Options and a command.
//
// Goroutines, each waited for before Run returns: Run's caller runs the commands and the
// line editor; each session has one goroutine that connects and then prints the client's
// state events until the client ends; one dispatcher goroutine per shell owns the watch
// table and prints watch events (see watchTable); while the line editor is in use, one
// goroutine turns Ctrl-C into the interruption of the running command. Output from all of
// them goes through one console, whose mutex keeps lines whole and lets event output go
// above the prompt.
//
// Locks: console.mu guards the output and the line being edited; session.mu and
// shell.intrMu are leaves, never held while taking another.
package zkcli
