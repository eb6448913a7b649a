package containers

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paddock/paddock/tests/harness"
)

// TestImage checks the image's configuration, then runs it as the official zookeeper image
// is run (no arguments, ZOO_* and JVMFLAGS variables) with a read-only root file system:
// it serves on every interface, its HEALTHCHECK passes, its health probe follows the
// configured admin port, and docker stop shuts it down cleanly.
func TestImage(t *testing.T) {
	t.Parallel()
	img := image(t)

	var cfg struct {
		User         string
		Entrypoint   []string
		Cmd          []string
		WorkingDir   string
		Env          []string
		Volumes      map[string]struct{}
		ExposedPorts map[string]struct{}
		Healthcheck  struct{ Test []string }
	}
	if err := json.Unmarshal([]byte(mustDocker(t, "image", "inspect", "--format", "{{json .Config}}", img)), &cfg); err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("image %s = %v, want %v", what, got, want)
		}
	}
	check("user", cfg.User, "1000:1000")
	check("entrypoint", cfg.Entrypoint, []string{"/paddock"})
	check("cmd", cfg.Cmd, []string{"server"})
	check("volumes", sortedKeys(cfg.Volumes), []string{"/data", "/datalog"})
	check("exposed ports", sortedKeys(cfg.ExposedPorts), []string{"2181/tcp", "2888/tcp", "3888/tcp", "8080/tcp"})
	check("healthcheck", cfg.Healthcheck.Test, []string{"CMD", "/paddock", "health", "--live"})
	for _, kv := range []string{"ZOO_CONF_DIR=/conf", "ZOO_DATA_DIR=/data", "ZOO_DATA_LOG_DIR=/datalog", "ZOO_TICK_TIME=2000"} {
		if !slices.Contains(cfg.Env, kv) {
			t.Errorf("image env %v lacks %s", cfg.Env, kv)
		}
	}

	id := mustDocker(t, "run", "--detach", "--read-only", "--publish-all",
		"--env", "ZOO_TICK_TIME=500",
		"--env", "ZOO_4LW_COMMANDS_WHITELIST=srvr, ruok, conf",
		"--env", "JVMFLAGS=-Xmx256m -Dzookeeper.admin.serverPort=9090",
		img)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dockerCmd("logs", "--tail", "50", id)
			t.Logf("container log:\n%s", out)
		}
		dockerCmd("rm", "--force", "--volumes", id)
	})

	// The probe finds the admin server on 9090 from the same variables the server read.
	harness.CheckFor(t, readyTimeout, func() error { return containerHealth(id) })
	harness.CheckFor(t, readyTimeout, func() error {
		s := mustDocker(t, "inspect", "--format", "{{.State.Health.Status}}", id)
		if s != "healthy" {
			return fmt.Errorf("HEALTHCHECK status %s", s)
		}
		return nil
	})

	// Published ports reach the server through the container's own address: it listens
	// on every interface, not on loopback.
	client, err := hostPort(id, 2181)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := srvrMode(client); err != nil || m != "standalone" {
		t.Errorf("srvr: Mode %q, %v; want standalone", m, err)
	}
	if out := fourLetter(t, client, "ruok"); out != "imok" {
		t.Errorf("ruok (whitelisted by ZOO_4LW_COMMANDS_WHITELIST) = %q", out)
	}
	conf := fourLetter(t, client, "conf")
	for _, want := range []string{"tickTime=500", "clientPort=2181", "clientPortAddress=0.0.0.0", "dataDir=/data", "dataLogDir=/datalog", "admin.serverPort=9090"} {
		if !strings.Contains(conf, want+"\n") {
			t.Errorf("conf lacks %q:\n%s", want, conf)
		}
	}
	if _, err := hostPort(id, 9090); err == nil {
		t.Errorf("port 9090 is published, but only EXPOSEd ports should be")
	}

	s := connect(t, func(string) (string, error) { return client, nil }, "standalone")
	if _, err := s.Create("/image", []byte("ok"), 0, openACL); err != nil {
		t.Fatalf("create: %v", err)
	}
	s.Close()

	// docker stop sends SIGTERM: a clean shutdown, exit status 0.
	mustDocker(t, "stop", "--time", "30", id)
	if code := mustDocker(t, "inspect", "--format", "{{.State.ExitCode}}", id); code != "0" {
		t.Errorf("exit status after docker stop: %s", code)
	}
}

// TestImageAdminPort checks that the admin server (and so /readyz for Kubernetes probes)
// listens on every interface too, on the port the image exposes.
func TestImageAdminPort(t *testing.T) {
	t.Parallel()
	img := image(t)
	id := mustDocker(t, "run", "--detach", "--publish-all", img)
	t.Cleanup(func() { dockerCmd("rm", "--force", "--volumes", id) })
	admin, err := hostPort(id, 8080)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	for _, path := range []string{"/healthz", "/readyz"} {
		harness.CheckFor(t, readyTimeout, func() error {
			resp, err := c.Get("http://" + admin + path)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %s %s", path, resp.Status, body)
			}
			return nil
		})
	}
}

func fourLetter(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, cmd)
	out, _ := io.ReadAll(c)
	return string(out)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestImageMemoryLimit: a container's memory limit becomes the Go runtime's soft limit (90%
// of it), and JVMFLAGS' -Xmx takes precedence, as docs/containers.md (Memory) says.
func TestImageMemoryLimit(t *testing.T) {
	t.Parallel()
	img := image(t)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"cgroup", []string{"--memory", "256m"}, "bytes=241591910"},
		{"-Xmx", []string{"--memory", "256m", "--env", "JVMFLAGS=-Xmx100m"}, "bytes=104857600"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", "--detach"}, c.args...)
			id := mustDocker(t, append(args, img)...)
			t.Cleanup(func() { dockerCmd("rm", "--force", "--volumes", id) })
			harness.CheckFor(t, readyTimeout, func() error {
				logs, err := dockerCmd("logs", id)
				if err != nil {
					return err
				}
				for _, l := range strings.Split(logs, "\n") {
					if strings.Contains(l, `msg="memory limit"`) {
						if !strings.Contains(l, c.want) {
							t.Fatalf("the limit logged is not %s: %s", c.want, l)
						}
						t.Logf("%s", l)
						return nil
					}
				}
				return fmt.Errorf("no memory limit logged yet:\n%s", tail(logs, 5))
			})
		})
	}
}
