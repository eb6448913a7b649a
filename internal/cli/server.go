package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/paddock/paddock/internal/config"
	"github.com/paddock/paddock/internal/raftnode"
	"github.com/paddock/paddock/internal/server"
)

func init() {
	register("server", "run the coordination server (reads a standard zoo.cfg)", runServer)
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("paddock server", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "path of a ZooKeeper zoo.cfg (default: ZOO_* variables, else a local standalone server)")
	dataDir := fs.String("data-dir", "", "data directory (overrides dataDir)")
	port := fs.Int("client-port", 0, "client port (overrides clientPort)")
	addr := fs.String("client-address", "", "client listen address (overrides clientPortAddress)")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	format := fs.String("log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// zkServer.sh-style invocations pass the config as a positional argument.
		if *cfgPath == "" && fs.NArg() == 1 {
			*cfgPath = fs.Arg(0)
		} else {
			return &usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
		}
	}
	log, err := newLogger(*level, *format)
	if err != nil {
		return &usageError{err.Error()}
	}
	slog.SetDefault(log)

	cfg, err := config.Load(config.LoadOptions{
		ConfigPath: *cfgPath, Env: os.Environ(), DataDir: *dataDir, ClientPort: *port, ClientPortAddress: *addr,
	})
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	for _, k := range cfg.Ignored {
		log.Info("ignoring a setting that names a Java class", "setting", k)
	}
	for _, k := range cfg.Unsupported {
		log.Warn("ignoring a ZooKeeper feature paddock does not implement", "setting", k)
	}
	for _, k := range cfg.Unknown {
		log.Info("unknown setting kept as a property", "setting", k)
	}
	applyMemoryLimit(cfg, log)   // memlimit.go
	startGCFloor(os.Getenv, log) // gcfloor.go
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	if discover := setting(cfg, "PADDOCK_DISCOVER", "paddock.discover"); discover != "" {
		return runAssembled(cfg, discover, log, sigc) // assemble.go
	}
	opts := serverOptions(cfg, log)
	if !cfg.Standalone() {
		if err := ensembleOptions(cfg, &opts, log, sigc); err != nil {
			if errors.Is(err, errStopped) {
				log.Info("stopped before serving")
				return nil
			}
			return err
		}
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	select {
	case sig := <-sigc:
		log.Info("shutting down", "signal", sig.String())
		err = srv.Close()
		<-errc
		return err
	case err := <-errc:
		return err
	}
}

// serverOptions maps the validated configuration onto the server's options.
func serverOptions(cfg *config.Config, log *slog.Logger) server.Options {
	id := uint64(cfg.MyID)
	if id == 0 {
		id = 1
	}
	adminAddr := ""
	if cfg.Admin.EnableServer {
		adminAddr = net.JoinHostPort(cfg.Admin.ServerAddress, strconv.Itoa(cfg.Admin.ServerPort))
	}
	metricsAddr := ""
	if cfg.Metrics.Prometheus {
		metricsAddr = net.JoinHostPort(cfg.Metrics.HTTPHost, strconv.Itoa(cfg.Metrics.HTTPPort))
	}
	return server.Options{
		MetricsAddr:            metricsAddr,
		ServerID:               id,
		ClientAddr:             net.JoinHostPort(cfg.ClientPortAddress, strconv.Itoa(cfg.ClientPort)),
		AdminAddr:              adminAddr,
		AdminCommandURL:        cfg.Admin.CommandURL,
		DataDir:                cfg.DataDir,
		LogDir:                 cfg.DataLogDir,
		TickTime:               cfg.TickTime,
		MinSessionTimeout:      cfg.MinSessionTimeout,
		MaxSessionTimeout:      cfg.MaxSessionTimeout,
		MaxClientCnxns:         cfg.MaxClientCnxns,
		MaxBuffer:              cfg.JuteMaxBuffer,
		FourLetterWords:        cfg.FourLetterWords,
		SuperDigest:            cfg.SuperDigest,
		DigestEnabled:          cfg.DigestEnabled,
		SkipACL:                cfg.SkipACL,
		ExtendedTypes:          cfg.ExtendedTypesEnabled,
		ReconfigEnabled:        cfg.ReconfigEnabled,
		ReadOnlyMode:           cfg.ReadOnlyMode,
		StandaloneDisabled:     !cfg.StandaloneEnabled,
		Pprof:                  propTrue(cfg, "paddock.pprof"),
		SnapCount:              uint64(cfg.SnapCount),
		SnapRetain:             cfg.AutopurgeSnapRetainCount,
		FsyncWarningThreshold:  max(cfg.FsyncWarningThreshold, time.Nanosecond), // 0: every fsync
		PurgeInterval:          cfg.AutopurgePurgeInterval,
		ContainerCheckInterval: cfg.ContainerCheckInterval,
		ContainerMaxPerMinute:  cfg.ContainerMaxPerMinute,
		ContainerMaxNeverUsed:  cfg.ContainerMaxNeverUsedInterval,
		ConfigLines:            strings.Split(strings.TrimRight(cfg.Format(), "\n"), "\n"),
		Logger:                 log,
	}
}

// errStopped: a signal arrived while the server was still getting ready.
var errStopped = errors.New("stopped")

// ensembleOptions adds the members and the peer transport of a replicated ensemble.
func ensembleOptions(cfg *config.Config, opts *server.Options, log *slog.Logger, stop <-chan os.Signal) error {
	self, ok := cfg.Self()
	if !ok {
		return fmt.Errorf("%s: this server's id (myid %d) is not among the server.N lines", cfg.Source, cfg.MyID)
	}
	peers := make([]raftnode.Peer, 0, len(cfg.Servers))
	for _, sv := range cfg.Servers {
		peers = append(peers, raftnode.Peer{
			ID:      uint64(sv.ID),
			Addr:    net.JoinHostPort(sv.Host, strconv.Itoa(sv.PeerPort)),
			Learner: sv.Role == config.Observer,
		})
	}
	listenHost := self.Host
	// A configuration made from the official image's ZOO_* variables runs in a container,
	// where the member's own name may not resolve yet (Swarm, Kubernetes) or may resolve to
	// a virtual IP: listen on every address unless quorumListenOnAllIPs says otherwise.
	fromEnv := cfg.Generated != "" && !strings.Contains(cfg.Generated, "quorumListenOnAllIPs")
	if cfg.QuorumListenOnAllIPs || fromEnv {
		listenHost = "0.0.0.0"
	}
	secret, err := peerSecret(cfg)
	if err != nil {
		return err
	}
	tcfg := raftnode.TCPConfig{
		ID:         uint64(self.ID),
		ListenAddr: net.JoinHostPort(listenHost, strconv.Itoa(self.PeerPort)),
		ClusterID:  clusterID(cfg),
		Secret:     secret,
		DataDir:    cfg.DataDir,
		Logger:     log,
	}
	// The member's own name may not resolve yet (its DNS record appears once it runs): keep
	// trying, as for the other members' names, instead of exiting into a restart loop.
	var tr *raftnode.TCPTransport
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		tr, err = raftnode.NewTCPTransport(tcfg)
		var dnsErr *net.DNSError
		if err == nil || !errors.As(err, &dnsErr) {
			break
		}
		log.Warn("peer port: this member's own address does not resolve yet; retrying", "addr", tcfg.ListenAddr, "err", err)
		select {
		case <-time.After(wait):
		case <-stop:
			return errStopped
		}
	}
	if err != nil {
		return fmt.Errorf("peer port: %w", err)
	}
	opts.Peers = peers
	opts.Members = cfg.Servers
	opts.Transport = tr
	return nil
}

// clusterID names the ensemble: a cluster name (paddock.clusterName, default "paddock") and a
// hash of the member list, so members of another ensemble are refused at the handshake. With
// reconfigEnabled the name alone, since the member list changes.
// paddock.clusterID sets it verbatim (for members that reach each other through different
// addresses, e.g. behind proxies).
func clusterID(cfg *config.Config) string {
	if id, ok := cfg.Prop("paddock.clusterID"); ok && id != "" {
		return id
	}
	name, ok := cfg.Prop("paddock.clusterName")
	if !ok || name == "" {
		name = "paddock"
	}
	if cfg.ReconfigEnabled {
		// The member list changes at run time, and a joining server lists members the
		// others' files lack: old and new members must agree on the id all the same.
		return name
	}
	lines := make([]string, 0, len(cfg.Servers))
	for _, sv := range cfg.Servers {
		lines = append(lines, fmt.Sprintf("server.%d=%s:%d:%d:%s", sv.ID, sv.Host, sv.PeerPort, sv.ElectionPort, sv.Role))
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return name + "/" + hex.EncodeToString(sum[:8])
}

// peerSecret is the key peers prove to each other: the file named by paddock.peerSecretFile,
// or the PADDOCK_PEER_SECRET variable; none means the cluster id is the key.
func peerSecret(cfg *config.Config) ([]byte, error) {
	if path, ok := cfg.Prop("paddock.peerSecretFile"); ok && path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("paddock.peerSecretFile: %w", err)
		}
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if v := os.Getenv("PADDOCK_PEER_SECRET"); v != "" {
		return []byte(v), nil
	}
	return nil, nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), nil
	}
	return nil, fmt.Errorf("bad --log-format %q", format)
}

// propTrue reports whether property k is set to true (or yes).
func propTrue(cfg *config.Config, k string) bool {
	v, _ := cfg.Prop(k)
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes":
		return true
	}
	return false
}
