package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/paddock/paddock/internal/acl"
	"github.com/paddock/paddock/internal/assemble"
	"github.com/paddock/paddock/internal/config"
	"github.com/paddock/paddock/internal/server"
)

// Self-assembly: `paddock server` with PADDOCK_DISCOVER set finds its peers, agrees on an
// ensemble or joins one (internal/assemble), then runs the server as a member of it.
//
//	PADDOCK_DISCOVER        dns:NAME[:PORT] or seeds:HOST[:PORT],...     (paddock.discover)
//	PADDOCK_EXPECT          members that form a new ensemble, default 3  (paddock.expect)
//	PADDOCK_ID              this member's id (1-255)                     (paddock.id)
//	PADDOCK_ORDINAL_START   first ordinal of hostnames like zk-0, default 0 (paddock.ordinalStart)
//	PADDOCK_ADVERTISE       the host peers reach this member at          (paddock.advertise)
//	PADDOCK_ROLE            participant (default) or observer            (paddock.role)
//	PADDOCK_PEER_PORT       peer (Raft) port, default 2888               (paddock.peerPort)
//	PADDOCK_ELECTION_PORT   election port of the server line, default 3888 (paddock.electionPort)
//	PADDOCK_SUPER_PASSWORD  the super password, when zoo.cfg sets a superDigest of its own

// setting is an assembly setting: the PADDOCK_* variable, else the paddock.* property.
func setting(cfg *config.Config, env, prop string) string {
	if v := strings.TrimSpace(os.Getenv(env)); v != "" {
		return v
	}
	v, _ := cfg.Prop(prop)
	return strings.TrimSpace(v)
}

func intSetting(cfg *config.Config, env, prop string, def, lo, hi int) (int, error) {
	v := setting(cfg, env, prop)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &usageError{fmt.Sprintf("%s must be a number from %d to %d, not %q", env, lo, hi, v)}
	}
	return n, nil
}

// assembleConfig turns the configuration and the PADDOCK_* settings into the assembler's.
func assembleConfig(cfg *config.Config, discover string, log *slog.Logger) (assemble.Config, error) {
	var ac assemble.Config
	src, err := assemble.ParseSource(discover)
	if err != nil {
		return ac, &usageError{err.Error()}
	}
	if !cfg.Admin.EnableServer {
		return ac, &usageError{"PADDOCK_DISCOVER needs the admin server (admin.enableServer=true): members find each other on its port"}
	}
	expect, err := intSetting(cfg, "PADDOCK_EXPECT", "paddock.expect", 3, 1, assemble.MaxID)
	if err != nil {
		return ac, err
	}
	start, err := intSetting(cfg, "PADDOCK_ORDINAL_START", "paddock.ordinalStart", 0, 0, 1<<20)
	if err != nil {
		return ac, err
	}
	peerPort, err := intSetting(cfg, "PADDOCK_PEER_PORT", "paddock.peerPort", 2888, 1, 65535)
	if err != nil {
		return ac, err
	}
	electionPort, err := intSetting(cfg, "PADDOCK_ELECTION_PORT", "paddock.electionPort", 3888, 1, 65535)
	if err != nil {
		return ac, err
	}
	observer := false
	switch r := setting(cfg, "PADDOCK_ROLE", "paddock.role"); r {
	case "", "participant":
	case "observer":
		observer = true
	default:
		return ac, &usageError{fmt.Sprintf("PADDOCK_ROLE is participant or observer, not %q", r)}
	}
	secret, err := peerSecret(cfg)
	if err != nil {
		return ac, err
	}
	superPassword := os.Getenv("PADDOCK_SUPER_PASSWORD")
	if cfg.SuperDigest != "" {
		if superPassword == "" {
			return ac, &usageError{"zookeeper.DigestAuthenticationProvider.superDigest is set: members that assemble add and remove " +
				"members as the super user, so give them its password in PADDOCK_SUPER_PASSWORD"}
		}
		if acl.Digest("super:"+superPassword) != cfg.SuperDigest {
			return ac, &usageError{"PADDOCK_SUPER_PASSWORD does not match zookeeper.DigestAuthenticationProvider.superDigest"}
		}
	}
	if len(secret) == 0 {
		log.Warn("assembling without PADDOCK_PEER_SECRET: anyone who can reach this ensemble's ports can join it, and act as its super user; set a secret unless the network is private")
	}
	if os.Getenv("ZOO_SERVERS") != "" || len(cfg.Servers) > 1 {
		log.Warn("PADDOCK_DISCOVER is set: the configured server.N lines (ZOO_SERVERS) are ignored; members find each other")
	}
	clientPort := cfg.ClientPort
	if clientPort == 0 {
		clientPort = 2181
	}
	hostname, _ := os.Hostname()
	name, _ := cfg.Prop("paddock.clusterName")
	ac = assemble.Config{
		Source:          src,
		Expect:          expect,
		Observer:        observer,
		ClusterName:     name,
		Secret:          secret,
		SuperPassword:   superPassword,
		DataDir:         cfg.DataDir,
		LogDir:          cfg.DataLogDir,
		ExplicitID:      setting(cfg, "PADDOCK_ID", "paddock.id"),
		Hostname:        hostname,
		OrdinalStart:    start,
		OrdinalStartSet: setting(cfg, "PADDOCK_ORDINAL_START", "paddock.ordinalStart") != "",
		Advertise:       setting(cfg, "PADDOCK_ADVERTISE", "paddock.advertise"),
		PeerPort:        peerPort,
		ElectionPort:    electionPort,
		ClientPort:      clientPort,
		AdminAddr:       net.JoinHostPort(cfg.Admin.ServerAddress, strconv.Itoa(cfg.Admin.ServerPort)),
		AdminPort:       cfg.Admin.ServerPort,
		Logger:          log,
	}
	return ac, nil
}

// runAssembled runs `paddock server` in self-assembly mode until a signal on sigc.
func runAssembled(cfg *config.Config, discover string, log *slog.Logger, sigc <-chan os.Signal) error {
	ac, err := assembleConfig(cfg, discover, log)
	if err != nil {
		return err
	}
	a, err := assemble.New(ac)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan os.Signal) // closed once a signal came: ensembleOptions' retries end
	go func() {
		select {
		case sig := <-sigc:
			log.Info("shutting down", "signal", sig.String())
			cancel()
		case <-ctx.Done():
		}
		close(stop)
	}()

	plan, err := a.Plan(ctx)
	if ctx.Err() != nil {
		log.Info("stopped before serving")
		return nil
	}
	if err != nil {
		return err
	}
	cfg.MyID = plan.ID
	cfg.Servers = plan.Servers
	cfg.ReconfigEnabled = true
	cfg.StandaloneEnabled = false
	cfg.QuorumListenOnAllIPs = true
	if cfg.Props == nil {
		cfg.Props = map[string]string{}
	}
	cfg.Props["paddock.clusterID"] = plan.Cluster
	if cfg.SuperDigest == "" {
		cfg.SuperDigest = acl.Digest("super:" + plan.SuperPassword)
	}
	opts := serverOptions(cfg, log)
	opts.AdminHandlers = server.AdminHandlers{"/assemble": a.Handler()}
	if err := ensembleOptions(cfg, &opts, log, stop); err != nil {
		if errors.Is(err, errStopped) {
			log.Info("stopped before serving")
			return nil
		}
		return err
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	runc := make(chan error, 1)
	go func() { runc <- a.Run(ctx, srv) }()
	running := true // a.Run has not returned yet
	waitRun := func() {
		if running {
			<-runc
		}
	}
	for {
		select {
		case <-ctx.Done():
			err := srv.Close()
			<-errc
			waitRun()
			return err
		case err := <-errc:
			cancel()
			waitRun()
			return err
		case err := <-runc:
			running = false
			if !errors.Is(err, assemble.ErrLeft) {
				if ctx.Err() == nil {
					log.Error("assemble: stopped following the membership", "err", err)
				}
				runc = nil // the server goes on; nothing more comes from a.Run
				continue
			}
			// Removed from the ensemble: stop serving, and say so until stopped.
			srv.Close()
			<-errc
			if err := a.Idle(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			return nil
		}
	}
}
