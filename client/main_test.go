package client_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/paddock/paddock/client"
)

// servers is the connect string of the paddock server TestMain starts for the examples, which
// have no *testing.T to start one with the harness.
var servers string

func TestMain(m *testing.M) {
	flag.Parse()
	if !examplesSelected() {
		os.Exit(m.Run())
	}
	stop, err := startExampleServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "client tests: starting a paddock server for the examples:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// examplesSelected reports whether -run selects an example (as a plain go test does).
func examplesSelected() bool {
	run := flag.Lookup("test.run").Value.String()
	if run == "" {
		return true
	}
	re, err := regexp.Compile(run)
	return err == nil && re.MatchString("Example")
}

// startExampleServer starts a standalone paddock on a free loopback port and sets servers. It
// builds cmd/paddock unless PADDOCK_BIN names a binary, and then sets PADDOCK_BIN so that the
// tests' harness uses the same binary instead of building it again.
func startExampleServer() (stop func(), err error) {
	dir, err := os.MkdirTemp("", "paddock-client-example-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	bin := os.Getenv("PADDOCK_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "paddock")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/paddock/paddock/cmd/paddock").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build: %v\n%s", err, out)
		}
		os.Setenv("PADDOCK_BIN", bin)
	}
	for attempt := 0; attempt < 5; attempt++ {
		var p *process
		p, err = startPaddock(bin, dir)
		if err == nil {
			return func() {
				p.stop()
				os.RemoveAll(dir)
			}, nil
		}
	}
	return nil, err
}

// process is a running server.
type process struct {
	cmd    *exec.Cmd
	exited chan error // receives cmd.Wait's result
}

// stop ends the server with SIGTERM, or SIGKILL after 10 s.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// startPaddock runs one attempt on a port that was free a moment ago, waiting until a client
// can connect.
func startPaddock(bin, dir string) (*process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	data := filepath.Join(dir, "data-"+strconv.Itoa(port))
	cfg := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n", data, port)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "paddock.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "server", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	connected := make(chan error, 1)
	go func() {
		c, err := client.Connect(ctx, addr, client.Options{})
		if err == nil {
			c.Close()
		}
		connected <- err
	}()
	select {
	case err := <-connected:
		if err != nil {
			_ = cmd.Process.Kill()
			<-p.exited
			return nil, err
		}
		servers = addr
		return p, nil
	case err := <-p.exited:
		cancel()
		<-connected
		return nil, fmt.Errorf("paddock exited: %v (log in %s)", err, dir)
	}
}
