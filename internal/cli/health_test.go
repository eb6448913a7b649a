package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adminStub serves /readyz and /healthz with the given status codes and bodies, and counts
// the requests per path.
func adminStub(t *testing.T, ready, live int) (*httptest.Server, map[string]int) {
	t.Helper()
	hits := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		hits[r.URL.Path]++
		if ready != http.StatusOK {
			http.Error(w, "not ready: no leader", ready)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		hits[r.URL.Path]++
		if live != http.StatusOK {
			w.WriteHeader(live)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, hits
}

// zooEnv is the environment of the official image (as the scratch image sets it), pointed
// at a temporary data directory, plus extra.
func zooEnv(t *testing.T, extra ...string) []string {
	dir := t.TempDir()
	return append([]string{
		"ZOO_CONF_DIR=" + filepath.Join(dir, "conf"),
		"ZOO_DATA_DIR=" + filepath.Join(dir, "data"),
		"ZOO_DATA_LOG_DIR=" + filepath.Join(dir, "datalog"),
	}, extra...)
}

func port(t *testing.T, u string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHealth(t *testing.T) {
	ok, okHits := adminStub(t, http.StatusOK, http.StatusOK)
	notReady, _ := adminStub(t, http.StatusServiceUnavailable, http.StatusOK)
	dead, _ := adminStub(t, http.StatusServiceUnavailable, http.StatusInternalServerError)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedAddr := closed.Listener.Addr().String()
	closed.Close()

	cfgDir := t.TempDir()
	cfgFile := filepath.Join(cfgDir, "zoo.cfg")
	cfgText := "tickTime=2000\ndataDir=" + cfgDir + "\nclientPort=2181\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=" + port(t, ok.URL) + "\n"
	if err := os.WriteFile(cfgFile, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		env     []string
		wantErr string // "" = healthy
		wantOut string
	}{
		{name: "ready", args: []string{"--addr", ok.Listener.Addr().String()}, wantOut: "healthy: " + ok.URL + "/readyz: ready"},
		{name: "not ready", args: []string{"--addr", notReady.Listener.Addr().String()},
			wantErr: "not ready: " + notReady.URL + "/readyz: 503 not ready: no leader"},
		{name: "live while not ready", args: []string{"--live", "--addr", notReady.Listener.Addr().String()}, wantOut: "/healthz: ok"},
		{name: "not alive", args: []string{"--live", "--addr", dead.Listener.Addr().String()},
			wantErr: "not alive: " + dead.URL + "/healthz: 500 500 Internal Server Error"},
		{name: "nobody listening", args: []string{"--addr", closedAddr}, wantErr: "not ready: http://" + closedAddr + "/readyz: dial tcp"},
		{name: "url", args: []string{"--url", ok.URL + "/healthz"}, wantOut: "/healthz: ok"},
		{name: "url wins over live", args: []string{"--live", "--url", notReady.URL + "/readyz"}, wantErr: "not alive: " + notReady.URL + "/readyz: 503"},
		{
			// The image's HEALTHCHECK: no flags, the address from the ZOO_* variables,
			// admin.serverAddress 0.0.0.0 (the default) reached on loopback.
			name: "ZOO variables", env: zooEnv(t, "ZOO_CFG_EXTRA=admin.serverPort="+port(t, ok.URL)),
			wantOut: "healthy: http://127.0.0.1:" + port(t, ok.URL) + "/readyz: ready",
		},
		{
			name: "ZOO variables, ensemble member", env: zooEnv(t, "ZOO_MY_ID=2",
				"ZOO_SERVERS=server.1=zoo1:2888:3888;2181 server.2=zoo2:2888:3888;2181 server.3=zoo3:2888:3888;2181",
				"ZOO_CFG_EXTRA=admin.serverPort="+port(t, notReady.URL)),
			wantErr: "not ready: http://127.0.0.1:" + port(t, notReady.URL) + "/readyz: 503",
		},
		{
			name: "JVMFLAGS", env: zooEnv(t, "JVMFLAGS=-Xmx512m -Dzookeeper.admin.serverPort="+port(t, ok.URL)),
			wantOut: "healthy: http://127.0.0.1:" + port(t, ok.URL) + "/readyz",
		},
		{name: "config file", args: []string{"--config", cfgFile}, wantOut: "healthy: http://127.0.0.1:" + port(t, ok.URL) + "/readyz"},
		{name: "bad config", args: []string{"--config", filepath.Join(cfgDir, "missing.cfg")}, wantErr: "not ready: cannot tell where the server listens"},
		{name: "ZOO_MY_ID not listed", env: zooEnv(t, "ZOO_MY_ID=7", "ZOO_SERVERS=server.1=a:2888:3888;2181 server.2=b:2888:3888;2181 server.3=c:2888:3888;2181"),
			wantErr: "not ready: cannot tell where the server listens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := health(tt.args, tt.env, &out, io.Discard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("health(%q) = %v, want healthy", tt.args, err)
				}
				if got := out.String(); !strings.Contains(got, tt.wantOut) || strings.Count(got, "\n") != 1 {
					t.Errorf("output %q, want one line containing %q", got, tt.wantOut)
				}
				return
			}
			if err == nil {
				t.Fatalf("health(%q) healthy (%q), want %q", tt.args, out.String(), tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line starting %q", err, tt.wantErr)
			}
			if ExitCode(err) != 1 {
				t.Errorf("exit code %d, want 1", ExitCode(err))
			}
			if out.Len() != 0 {
				t.Errorf("printed %q on failure", out.String())
			}
		})
	}
	if okHits["/readyz"] == 0 || okHits["/healthz"] == 0 {
		t.Errorf("probes hit %v", okHits)
	}
}

func TestHealthUsage(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"--timeout", "0s"}, {"--bogus"}} {
		err := health(args, nil, io.Discard, io.Discard)
		if err == nil || ExitCode(err) != 2 {
			t.Errorf("health(%q) = %v (exit %d), want a usage error", args, err, ExitCode(err))
		}
	}
	if err := health([]string{"-h"}, nil, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// TestHealthTimeout: a server that accepts and never answers is unhealthy once --timeout
// has passed, not a hung health check.
func TestHealthTimeout(t *testing.T) {
	stuck := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stuck }))
	defer srv.Close()
	defer close(stuck)
	err := health([]string{"--timeout", "200ms", "--url", srv.URL + "/readyz"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "not ready: "+srv.URL+"/readyz: ") {
		t.Fatalf("health = %v, want not ready", err)
	}
}

// srvrStub answers every connection with reply, as a server answers a four-letter word.
func srvrStub(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 4)
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "srvr" {
					return
				}
				io.WriteString(c, reply)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestHealthSrvr: with the admin server off, the client port's srvr answer decides.
func TestHealthSrvr(t *testing.T) {
	leader := srvrStub(t, "Zookeeper version: 3.9.0-paddock\nZxid: 0x100000002\nMode: leader\nNode count: 5\n")
	readOnly := srvrStub(t, "READ-ONLY mode; serving only read-only clients\nMode: read-only\n")
	notServing := srvrStub(t, "This ZooKeeper instance is not currently serving requests\n")
	env := func(addr string) []string {
		_, p, _ := net.SplitHostPort(addr)
		return zooEnv(t, "ZOO_ADMINSERVER_ENABLED=false", "ZOO_SERVERS=server.1=localhost:2888:3888;127.0.0.1:"+p)
	}
	tests := []struct {
		name    string
		addr    string
		live    bool
		wantErr string
	}{
		{name: "leader", addr: leader},
		{name: "read-only", addr: readOnly, wantErr: "not ready: srvr at " + readOnly + ": Mode: read-only (not in a quorum)"},
		{name: "read-only is alive", addr: readOnly, live: true},
		{name: "not serving", addr: notServing, wantErr: "not ready: srvr at " + notServing + ": This ZooKeeper instance is not currently serving requests"},
		{name: "not serving is alive", addr: notServing, live: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if tt.live {
				args = []string{"--live"}
			}
			var out bytes.Buffer
			err := health(args, env(tt.addr), &out, io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("health = %v, want healthy", err)
			case tt.wantErr == "" && !strings.HasPrefix(out.String(), "healthy: srvr at "+tt.addr):
				t.Errorf("output %q", out.String())
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("health = %v, want %q", err, tt.wantErr)
			}
		})
	}
	t.Run("no client port", func(t *testing.T) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "zoo.cfg")
		text := "tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=" + dir + "\nadmin.enableServer=false\n" +
			"server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n"
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "myid"), []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := health([]string{"--config", cfg}, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "no client port") {
			t.Fatalf("health = %v", err)
		}
	})
}
