package cli

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/assemble"
	"github.com/paddock/paddock/internal/config"
)

func TestAssembleConfig(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	load := func(t *testing.T, extra ...string) *config.Config {
		t.Helper()
		env := append([]string{"ZOO_DATA_DIR=" + t.TempDir(), "ZOO_DATA_LOG_DIR=" + t.TempDir(), "ZOO_CONF_DIR=" + t.TempDir()}, extra...)
		cfg, err := config.Load(config.LoadOptions{Env: env})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	t.Run("defaults", func(t *testing.T) {
		for _, k := range []string{"PADDOCK_EXPECT", "PADDOCK_ID", "PADDOCK_ROLE", "PADDOCK_PEER_SECRET", "PADDOCK_ORDINAL_START", "PADDOCK_ADVERTISE"} {
			t.Setenv(k, "")
		}
		cfg := load(t)
		ac, err := assembleConfig(cfg, "dns:tasks.zk", discard)
		if err != nil {
			t.Fatal(err)
		}
		if ac.Source.Name != "tasks.zk" || ac.Expect != 3 || ac.PeerPort != 2888 || ac.ClientPort != 2181 ||
			ac.AdminPort != 8080 || ac.Observer || ac.DataDir != cfg.DataDir || ac.LogDir != cfg.DataLogDir {
			t.Errorf("assembleConfig = %+v", ac)
		}
	})
	t.Run("settings", func(t *testing.T) {
		t.Setenv("PADDOCK_EXPECT", "5")
		t.Setenv("PADDOCK_ID", "4")
		t.Setenv("PADDOCK_ROLE", "observer")
		t.Setenv("PADDOCK_ORDINAL_START", "1")
		t.Setenv("PADDOCK_ADVERTISE", "zk-4.zk-hs")
		t.Setenv("PADDOCK_PEER_SECRET", "s3cret")
		ac, err := assembleConfig(load(t), "seeds:a,b", discard)
		if err != nil {
			t.Fatal(err)
		}
		if ac.Expect != 5 || ac.ExplicitID != "4" || !ac.Observer || ac.OrdinalStart != 1 || ac.Advertise != "zk-4.zk-hs" || string(ac.Secret) != "s3cret" {
			t.Errorf("assembleConfig = %+v", ac)
		}
	})
	for _, tc := range []struct {
		name, discover string
		env            map[string]string
		extra          []string
		want           string
	}{
		{name: "bad source", discover: "zk", want: "PADDOCK_DISCOVER"},
		{name: "bad expect", discover: "dns:zk", env: map[string]string{"PADDOCK_EXPECT": "0"}, want: "PADDOCK_EXPECT"},
		{name: "bad role", discover: "dns:zk", env: map[string]string{"PADDOCK_ROLE": "voter"}, want: "PADDOCK_ROLE"},
		{name: "no admin server", discover: "dns:zk", extra: []string{"ZOO_ADMINSERVER_ENABLED=false"}, want: "admin server"},
		{name: "own superDigest without its password", discover: "dns:zk",
			extra: []string{"JVMFLAGS=-Dzookeeper.DigestAuthenticationProvider.superDigest=" + acl.Digest("super:pw")}, want: "PADDOCK_SUPER_PASSWORD"},
		{name: "own superDigest, wrong password", discover: "dns:zk", env: map[string]string{"PADDOCK_SUPER_PASSWORD": "other"},
			extra: []string{"JVMFLAGS=-Dzookeeper.DigestAuthenticationProvider.superDigest=" + acl.Digest("super:pw")}, want: "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PADDOCK_EXPECT", "PADDOCK_ROLE", "PADDOCK_SUPER_PASSWORD"} {
				t.Setenv(k, tc.env[k])
			}
			_, err := assembleConfig(load(t, tc.extra...), tc.discover, discard)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("assembleConfig: %v; want a usage error about %s", err, tc.want)
			}
		})
	}
	t.Run("own superDigest with its password", func(t *testing.T) {
		t.Setenv("PADDOCK_SUPER_PASSWORD", "pw")
		cfg := load(t, "JVMFLAGS=-Dzookeeper.DigestAuthenticationProvider.superDigest="+acl.Digest("super:pw"))
		if ac, err := assembleConfig(cfg, "dns:zk", discard); err != nil || ac.SuperPassword != "pw" {
			t.Errorf("assembleConfig = %+v, %v", ac, err)
		}
	})
}

func TestLeaveNotAssembled(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := leave(nil, []string{"ZOO_DATA_DIR=" + dir, "ZOO_CONF_DIR=" + dir}, &out, &errOut)
	if !errors.Is(err, assemble.ErrNotAssembled) {
		t.Errorf("leave without assembly.json: %v", err)
	}
	if err := leave([]string{"--id", "300"}, nil, &out, &errOut); ExitCode(err) != 2 {
		t.Errorf("leave --id 300: %v, want a usage error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, assemble.StateFile)); !os.IsNotExist(err) {
		t.Errorf("leave wrote a state file: %v", err)
	}
}
