package harness

import "syscall"

// sysProcAttr makes the kernel kill a server when the test process dies, so an interrupted
// `go test` leaves no server holding a port.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
