package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/paddock/paddock/internal/config"
)

func init() {
	register("health", "probe the local server for a container health check: exit 0 when ready (or alive), 1 when not", runHealth)
}

func runHealth(args []string) error {
	return health(args, os.Environ(), os.Stdout, os.Stderr)
}

// health probes a server's admin HTTP endpoint (/readyz, or /healthz with --live) and
// prints a one-line verdict on out. The address comes from --url or --addr, else from the
// configuration the server itself would load from the same environment (--config, the
// ZOO_* variables, or the defaults), so a HEALTHCHECK needs no flags. When that
// configuration turns the admin server off, the client port's srvr word is asked instead.
// It returns nil when healthy, a *usageError for bad flags (printed on errOut, as --help
// is), and any other error (exit 1) otherwise; the error's text is the reason.
func health(args, env []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("paddock health", flag.ContinueOnError)
	fs.SetOutput(errOut)
	live := fs.Bool("live", false, "check liveness (/healthz: the process serves) instead of readiness (/readyz: it has a leader and serves)")
	rawURL := fs.String("url", "", "full `URL` to GET; overrides --addr, --config and --live")
	addr := fs.String("addr", "", "admin server `host:port` (default: from the server's configuration, 127.0.0.1:8080 unless configured otherwise)")
	cfgPath := fs.String("config", "", "the `zoo.cfg` the server runs with (default: what paddock server reads: the ZOO_* variables, else its defaults)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long (default 3s)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprint(w, `usage: paddock health [flags]

Asks the local server whether it is ready (GET /readyz on the admin server) or, with --live,
alive (GET /healthz), prints one line saying why, and exits 0 (healthy) or 1 (not). It needs
no shell or curl, so it works as the HEALTHCHECK of a scratch image; with no flags it finds
the admin server from the same zoo.cfg or ZOO_* variables the server reads. With
admin.enableServer=false it asks the client port's srvr word instead.

flags:
`)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  --%s\n    \t%s\n", strings.TrimSpace(f.Name+" "+name), usage)
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{"paddock health: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{"paddock health: unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if *timeout <= 0 {
		return &usageError{"paddock health: --timeout must be positive"}
	}
	verdict := "not ready"
	if *live {
		verdict = "not alive"
	}
	if err := probe(*rawURL, *addr, *cfgPath, *live, *timeout, env, out); err != nil {
		return fmt.Errorf("%s: %w", verdict, err)
	}
	return nil
}

// probe finds the server (see health) and asks it; the error is the reason it is unhealthy.
func probe(rawURL, addr, cfgPath string, live bool, timeout time.Duration, env []string, out io.Writer) error {
	path := "/readyz"
	if live {
		path = "/healthz"
	}
	switch {
	case rawURL != "":
		return probeHTTP(rawURL, timeout, out)
	case addr != "":
		return probeHTTP("http://"+addr+path, timeout, out)
	}
	cfg, err := config.Load(config.LoadOptions{ConfigPath: cfgPath, Env: env})
	if err != nil {
		return fmt.Errorf("cannot tell where the server listens: %w", err)
	}
	if !cfg.Admin.EnableServer {
		if cfg.ClientPort == 0 {
			return errors.New("the admin server is off (admin.enableServer=false) and there is no client port to ask")
		}
		a := net.JoinHostPort(localHost(cfg.ClientPortAddress), strconv.Itoa(cfg.ClientPort))
		return probeSrvr(a, live, timeout, out)
	}
	a := net.JoinHostPort(localHost(cfg.Admin.ServerAddress), strconv.Itoa(cfg.Admin.ServerPort))
	return probeHTTP("http://"+a+path, timeout, out)
}

// localHost turns a listen address into one to connect to: a wildcard (or no address)
// means the server listens on loopback too.
func localHost(h string) string {
	switch strings.Trim(h, "[]") {
	case "", "0.0.0.0", "::", "0:0:0:0:0:0:0:0":
		return "127.0.0.1"
	}
	return h
}

// probeHTTP GETs target: a 200 is healthy; anything else, or no answer, is not.
func probeHTTP(target string, timeout time.Duration, out io.Writer) error {
	c := &http.Client{
		Timeout: timeout,
		// A proxy from HTTP_PROXY would probe the proxy, not this container's server.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := c.Get(target)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is printed once, below
		}
		return fmt.Errorf("%s: %v", target, err)
	}
	defer resp.Body.Close()
	reason := reasonLine(resp.Body)
	if reason == "" {
		reason = resp.Status
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", target, resp.StatusCode, reason)
	}
	fmt.Fprintf(out, "healthy: %s: %s\n", target, reason)
	return nil
}

// probeSrvr asks addr's srvr word: any answer means alive; a Mode line other than
// read-only means ready. It is weaker than /readyz: a member without a leader says
// "Mode: follower" too (ZooKeeper says it is "not currently serving requests", which
// counts as not ready here).
func probeSrvr(addr string, live bool, timeout time.Duration, out io.Writer) error {
	where := "srvr at " + addr
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(nc, "srvr"); err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	b, err := io.ReadAll(io.LimitReader(nc, 64<<10))
	if err != nil && len(b) == 0 {
		return fmt.Errorf("%s: %v", where, err)
	}
	text := string(b)
	mode := ""
	for _, l := range strings.Split(text, "\n") {
		if m, ok := strings.CutPrefix(l, "Mode: "); ok {
			mode = strings.TrimSpace(m)
		}
	}
	switch {
	case live && len(b) > 0:
		fmt.Fprintf(out, "healthy: %s answers\n", where)
		return nil
	case mode == "":
		reason := strings.TrimSpace(reasonLine(strings.NewReader(text)))
		if reason == "" {
			reason = "no answer"
		}
		return fmt.Errorf("%s: %s", where, reason)
	case mode == "read-only":
		return fmt.Errorf("%s: Mode: read-only (not in a quorum)", where)
	}
	fmt.Fprintf(out, "healthy: %s: Mode: %s\n", where, mode)
	return nil
}

// reasonLine returns the first non-blank line of r, trimmed and cut to 200 bytes.
func reasonLine(r io.Reader) string {
	sc := bufio.NewScanner(io.LimitReader(r, 4<<10))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			if len(l) > 200 {
				l = l[:200] + "..."
			}
			return l
		}
	}
	return ""
}
