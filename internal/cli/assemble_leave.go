package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/paddock/paddock/internal/assemble"
	"github.com/paddock/paddock/internal/config"
)

func init() {
	register("leave", "remove this member from its self-assembled ensemble for good, before a scale-down (refused if it would lose quorum)", runLeave)
}

func runLeave(args []string) error {
	return leave(args, os.Environ(), os.Stdout, os.Stderr)
}

// leave removes a member that assembled (PADDOCK_DISCOVER) from its ensemble. It runs in
// the member's container, next to the server, and reads the same configuration.
func leave(args, env []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("paddock leave", flag.ContinueOnError)
	fs.SetOutput(errOut)
	id := fs.Int("id", 0, "the member to remove (default: this one)")
	cfgPath := fs.String("config", "", "the `zoo.cfg` the server runs with (default: what paddock server reads)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: paddock leave [flags]

Removes this member (or --id N) from its self-assembled ensemble for good: run it before
scaling the ensemble down, in each container that goes away:

  docker compose exec --index 5 zk /paddock leave
  kubectl exec paddock-5 -- /paddock leave

It refuses, and says why, when the participants that remain would not have a majority that
is up and in the quorum. A member that left stops serving; restarted, it joins again.

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{"paddock leave: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{"paddock leave: unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if *id < 0 || *id > assemble.MaxID {
		return &usageError{"paddock leave: --id is from 1 to 255"}
	}
	cfg, err := config.Load(config.LoadOptions{ConfigPath: *cfgPath, Env: env})
	if err != nil {
		return err
	}
	secret, err := peerSecret(cfg)
	if err != nil {
		return err
	}
	port := cfg.ClientPort
	if port == 0 {
		port = 2181
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	err = assemble.Leave(ctx, assemble.LeaveOptions{
		DataDir:       cfg.DataDir,
		ID:            int64(*id),
		Local:         net.JoinHostPort(localHost(cfg.ClientPortAddress), strconv.Itoa(port)),
		Secret:        secret,
		SuperPassword: envValue(env, "PADDOCK_SUPER_PASSWORD"),
		Out:           out,
	})
	if err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}

func envValue(env []string, k string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], k+"="); ok {
			return v
		}
	}
	return ""
}
