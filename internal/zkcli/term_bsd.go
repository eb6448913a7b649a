//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package zkcli

import "syscall"

const (
	ioctlGetTermios = syscall.TIOCGETA
	ioctlSetTermios = syscall.TIOCSETA
)
