//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package zkcli

import (
	"os"
	"syscall"
	"unsafe"
)

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	var t syscall.Termios
	return ioctl(f, ioctlGetTermios, unsafe.Pointer(&t)) == nil
}

// makeRaw puts the terminal in raw mode, as linenoise does: no echo, no line buffering, no
// signals from ^C and ^Z, no CR translation on input; output processing stays on, so "\n"
// still starts a new line. restore undoes it.
func makeRaw(f *os.File) (restore func(), err error) {
	var old syscall.Termios
	if err := ioctl(f, ioctlGetTermios, unsafe.Pointer(&old)); err != nil {
		return nil, err
	}
	raw := old
	raw.Iflag &^= syscall.BRKINT | syscall.ICRNL | syscall.INPCK | syscall.ISTRIP | syscall.IXON
	raw.Cflag |= syscall.CS8
	raw.Lflag &^= syscall.ECHO | syscall.ICANON | syscall.IEXTEN | syscall.ISIG
	raw.Cc[syscall.VMIN] = 1
	raw.Cc[syscall.VTIME] = 0
	if err := ioctl(f, ioctlSetTermios, unsafe.Pointer(&raw)); err != nil {
		return nil, err
	}
	return func() { ioctl(f, ioctlSetTermios, unsafe.Pointer(&old)) }, nil
}

// termWidth returns the terminal's width in columns, 80 if unknown.
func termWidth(f *os.File) int {
	var ws struct{ row, col, x, y uint16 }
	if err := ioctl(f, syscall.TIOCGWINSZ, unsafe.Pointer(&ws)); err != nil || ws.col == 0 {
		return 80
	}
	return int(ws.col)
}
