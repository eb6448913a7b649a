//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package zkcli

import (
	"errors"
	"os"
)

// Without termios the shell reads plain lines.

func isTerminal(*os.File) bool { return false }

func makeRaw(*os.File) (func(), error) { return nil, errors.New("zkcli: no raw terminal mode") }

func termWidth(*os.File) int { return 80 }
