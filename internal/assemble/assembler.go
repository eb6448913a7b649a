package assemble

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paddock/paddock/internal/config"
)

// Config configures an Assembler.
type Config struct {
	Source   Source
	Expect   int  // members that form a new ensemble (PADDOCK_EXPECT); default 3
	Observer bool // join as an observer (PADDOCK_ROLE=observer), never found an ensemble
	// ClusterName prefixes the cluster identity of an ensemble this member founds.
	ClusterName string
	// Secret is the peer secret; it signs /assemble answers and keys the super password.
	Secret []byte
	// SuperPassword, when set, is the super user's password (the operator configured a
	// superDigest of their own); otherwise it is derived (SuperPassword).
	SuperPassword string

	DataDir, LogDir string

	// Where the id comes from, first that applies: ExplicitID (PADDOCK_ID), the ordinal of
	// Hostname (a StatefulSet's pod name; OrdinalStart is the first ordinal), the container
	// number in the member's Docker DNS name, the data directory, a random id.
	ExplicitID   string
	Hostname     string
	OrdinalStart int
	// OrdinalStartSet: PADDOCK_ORDINAL_START was given, so a hostname whose ordinal gives
	// no id with it is refused rather than given another kind of id.
	OrdinalStartSet bool
	// Advertise is the host other members reach this one at (PADDOCK_ADVERTISE); "" = the
	// name its address resolves back to, if that resolves forward to it, else the address.
	Advertise string

	PeerPort, ElectionPort, ClientPort int
	// AdminAddr is where Plan serves /assemble, /healthz and /readyz until the server runs;
	// AdminPort is the port other members are asked on when Source names none.
	AdminAddr string
	AdminPort int

	Settle   time.Duration // how long the set of new members must stay unchanged; default 3s
	Interval time.Duration // between discovery rounds; default 1s
	Logger   *slog.Logger

	// For tests: name resolution, reverse lookups, this host's addresses.
	Resolver   Resolver
	LookupPTR  func(ctx context.Context, ip net.IP) ([]string, error)
	Interfaces func() ([]*net.IPNet, error)
}

// Plan is how a member starts.
type Plan struct {
	ID      int64
	Cluster string          // the cluster identity peers check
	Servers []config.Server // the membership to start with, this member included
	// Join: this member is not in the ensemble yet; Run asks for it once the server runs.
	Join bool
	// SuperPassword is the super user's password (the server's superDigest derives from it).
	SuperPassword string
	Action        Action // what led here
}

// Assembler finds the other members and decides how this one starts. Its methods are safe
// for concurrent use.
type Assembler struct {
	cfg Config
	log *slog.Logger
	hc  *http.Client

	mu      sync.Mutex
	self    Info         // guarded by mu: what /assemble answers
	state   *State       // guarded by mu: as persisted
	member  Member       // guarded by mu: the running server, once Run has it
	plan    *Plan        // guarded by mu
	hostSet bool         // guarded by mu: self.Host is final (explicit or a DNS name)
	ownNets []*net.IPNet // guarded by mu: this host's addresses and their networks
	logged  time.Time    // guarded by mu: when setPhase last logged
	// problems is guarded by mu: when noteProblem last logged each problem.
	problems map[string]time.Time
}

// Member is what Run needs of the running server.
type Member interface {
	Ready(ctx context.Context) error // in a quorum and caught up
	Membership() []byte              // /zookeeper/config's data as applied here
}

// New checks cfg and returns an Assembler; nothing runs until Plan.
func New(cfg Config) (*Assembler, error) {
	if cfg.Source.Kind == "" {
		return nil, ErrBadSource
	}
	if cfg.Expect == 0 {
		cfg.Expect = 3
	}
	if cfg.Expect < 1 || cfg.Expect > MaxID {
		return nil, fmt.Errorf("assemble: PADDOCK_EXPECT must be from 1 to %d, not %d", MaxID, cfg.Expect)
	}
	if cfg.ClusterName == "" {
		cfg.ClusterName = "paddock"
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 3 * time.Second
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.LookupPTR == nil {
		cfg.LookupPTR = lookupPTR
	}
	if cfg.Interfaces == nil {
		cfg.Interfaces = interfaceNets
	}
	if cfg.LogDir == "" {
		cfg.LogDir = cfg.DataDir
	}
	if cfg.PeerPort == 0 || cfg.ClientPort == 0 || cfg.AdminPort == 0 {
		return nil, errors.New("assemble: the peer, client and admin ports must be set")
	}
	if cfg.ElectionPort == 0 {
		cfg.ElectionPort = 3888
	}
	a := &Assembler{cfg: cfg, log: cfg.Logger, hc: newHTTPClient(), problems: map[string]time.Time{}}
	a.self = Info{PeerPort: cfg.PeerPort, ElectionPort: cfg.ElectionPort, ClientPort: cfg.ClientPort,
		Observer: cfg.Observer, Expect: cfg.Expect, Phase: PhaseWaiting}
	if cfg.Advertise != "" {
		a.self.Host, a.hostSet = cfg.Advertise, true
	}
	return a, nil
}

// Handler serves GET /assemble: this member's Info.
func (a *Assembler) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := a.info(r.Context())
		serveInfo(w, r, in, a.cfg.Secret)
	})
}

// info is the current Info, with Ready asked of the running server.
func (a *Assembler) info(ctx context.Context) Info {
	a.mu.Lock()
	in, m := a.self, a.member
	in.Founders = slices.Clone(in.Founders)
	a.mu.Unlock()
	if in.Phase == PhaseMember && m != nil {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		in.Ready = m.Ready(rctx) == nil
		cancel()
	}
	return in
}

// idleMux serves the admin port while no server runs.
func (a *Assembler) idleMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/assemble", a.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		a.mu.Lock()
		phase, reason, detail := a.self.Phase, a.self.Reason, a.self.Detail
		a.mu.Unlock()
		what := map[Phase]string{PhaseWaiting: "assembling", PhaseRefused: "refused", PhaseLeft: "left the ensemble", PhaseMember: "starting"}[phase]
		msg := "not ready: " + what + ": " + reason
		if detail != "" {
			msg += "\n" + detail
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
	})
	return mux
}

// serveIdle serves idleMux on the admin address until stop is called.
func (a *Assembler) serveIdle() (stop func(), err error) {
	var ln net.Listener
	// The server that ran before (after a leave) may still hold the port for a moment.
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", a.cfg.AdminAddr)
		if err == nil || i == 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("assemble: admin port (where members find each other): %w", err)
	}
	hs := &http.Server{Handler: a.idleMux(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		<-done
	}, nil
}

// setPhase records what this member is doing and logs it when it changes; a refusal is
// logged again every minute.
func (a *Assembler) setPhase(p Phase, reason, detail string) {
	a.mu.Lock()
	changed := a.self.Phase != p || a.self.Reason != reason
	again := p == PhaseRefused && time.Since(a.logged) > time.Minute
	a.self.Phase, a.self.Reason, a.self.Detail = p, reason, detail
	if changed || again {
		a.logged = time.Now()
	}
	a.mu.Unlock()
	switch {
	case !changed && !again:
	case p == PhaseRefused:
		a.log.Error("assemble: refusing to start: "+reason, "detail", detail)
	default:
		a.log.Info("assemble: "+string(p)+": "+reason, "detail", detail)
	}
}

// Plan finds the other members and returns how this one starts: as a founder of a new
// ensemble, as a member of the ensemble its data directory belongs to, or as a new member
// of a ready ensemble (Plan.Join). Until then it serves the admin address. It returns
// ctx's error when ctx ends first, and an error when the data directory cannot be used.
func (a *Assembler) Plan(ctx context.Context) (*Plan, error) {
	stop, err := a.serveIdle()
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := a.identify(ctx); err != nil {
		return nil, err
	}
	var (
		lastKey  string
		lastMove = time.Now()
	)
	for {
		peers := a.discover(ctx)
		a.mu.Lock()
		self, st := a.self, a.state
		a.mu.Unlock()
		key := waitingKey(peers)
		if key != lastKey {
			lastKey, lastMove = key, time.Now()
		}
		d := Decide(View{Self: self, State: st, Peers: peers, Expect: a.cfg.Expect,
			Settled: time.Since(lastMove) >= a.cfg.Settle, Source: a.cfg.Source.String()})
		switch d.Action {
		case Wait:
			// A member of an ensemble says so while it waits: new members then wait for that
			// ensemble rather than count it, and founders find the decision it announces.
			phase := PhaseWaiting
			switch {
			case st != nil && st.Status == StatusLeft:
				phase = PhaseLeft
			case st != nil && st.Status != StatusNew:
				phase = PhaseMember
			}
			a.setPhase(phase, d.Reason, d.Detail)
		case Refuse:
			a.setPhase(PhaseRefused, d.Reason, d.Detail)
		case Redraw:
			if err := a.redraw(peers, nil, d.Reason); err != nil {
				return nil, err
			}
		case Bootstrap, Follow:
			return a.found(d)
		case Restart:
			p, err := a.restart(ctx, d)
			if !errors.Is(err, errRetry) {
				return p, err
			}
		case Rejoin:
			if err := a.wipe(d); err != nil {
				return nil, err
			}
		case Join:
			p, err := a.prepareJoin(ctx, d, peers)
			switch {
			case err == nil:
				return p, nil
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case !errors.Is(err, errRetry):
				a.setPhase(PhaseWaiting, fmt.Sprintf("joining ensemble %s: %v; retrying", d.Cluster, err), "")
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(a.cfg.Interval):
		}
	}
}

// waitingKey identifies the set of new members seen, to tell when it settles.
func waitingKey(peers []Info) string {
	var parts []string
	for _, p := range peers {
		if p.Phase == PhaseWaiting {
			parts = append(parts, fmt.Sprintf("%d/%s/%s", p.ID, p.Instance, p.Host))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// identify settles this member's host, id and instance, and persists them.
func (a *Assembler) identify(ctx context.Context) error {
	st, err := ReadState(a.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("%w (delete the file to start this member afresh)", err)
	}
	nets, _ := a.cfg.Interfaces()
	var ips []net.IP
	for _, n := range nets {
		ips = append(ips, n.IP)
	}
	a.mu.Lock()
	hostSet := a.hostSet
	a.mu.Unlock()
	name := ""
	if !hostSet || a.cfg.ExplicitID == "" {
		name = a.dnsName(ctx, ips)
	}
	a.mu.Lock()
	a.ownNets = nets
	if !a.hostSet {
		switch {
		case name != "":
			a.self.Host, a.hostSet = name, true
		case len(ips) > 0:
			// Refined by discovery: the address on the network the other members are on.
			a.self.Host = ips[0].String()
		}
	}
	a.mu.Unlock()

	var derived int64
	var from IDSource
	switch {
	case a.cfg.ExplicitID != "":
		id, err := ParseID(a.cfg.ExplicitID)
		if err != nil {
			return fmt.Errorf("PADDOCK_ID: %w", err)
		}
		derived, from = id, FromEnv
	default:
		if reason, detail := ordinalMismatch(a.cfg.Hostname, a.cfg.OrdinalStart); reason != "" && a.cfg.OrdinalStartSet {
			a.setPhase(PhaseRefused, reason, detail)
			<-ctx.Done() // as for an IdentityError below: /readyz says why
			return ctx.Err()
		}
		if id, ok := OrdinalID(a.cfg.Hostname, a.cfg.OrdinalStart); ok {
			derived, from = id, FromHostname
		} else if id, ok := ContainerNumber(name); ok {
			derived, from = id, FromDNSName
		}
	}
	id, src, err := ChooseID(derived, from, st)
	if ie := (*IdentityError)(nil); errors.As(err, &ie) {
		a.setPhase(PhaseRefused, ie.Reason(), ie.Detail())
		// Not fatal: a restart loop would say less than /readyz does. Wait to be stopped.
		<-ctx.Done()
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	if st == nil {
		st = &State{Instance: newInstance(), Status: StatusNew, Since: time.Now()}
	}
	if id == 0 {
		id, src = randomID(nil), FromRandom
	}
	if st.ID != id || st.IDFrom != src && st.Status == StatusNew {
		st.ID, st.IDFrom = id, src
		if err := WriteState(a.cfg.DataDir, st); err != nil {
			return fmt.Errorf("assemble: persisting this member's id: %w", err)
		}
	}
	a.mu.Lock()
	a.state = st
	a.self.ID, a.self.IDFrom, a.self.Instance = id, src, st.Instance
	a.self.Cluster, a.self.Founders = st.Cluster, st.Founders
	switch st.Status {
	case StatusMember, StatusJoining:
		a.self.Phase = PhaseMember
	case StatusLeft:
		a.self.Phase = PhaseLeft
	}
	host := a.self.Host
	a.mu.Unlock()
	a.log.Info("assemble: identity", "id", id, "from", src, "host", host, "status", st.Status, "cluster", st.Cluster,
		"discover", a.cfg.Source.String(), "expect", a.cfg.Expect)
	return nil
}

// dnsName is the name one of this host's addresses resolves back to, provided it resolves
// forward to that address (Docker's embedded DNS: the container's name on the network).
func (a *Assembler) dnsName(ctx context.Context, ips []net.IP) string {
	for _, ip := range ips {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		names, err := a.cfg.LookupPTR(lctx, ip)
		cancel()
		if err != nil {
			continue
		}
		for _, n := range names {
			lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			addrs, err := a.cfg.Resolver.LookupHost(lctx, n)
			cancel()
			if err == nil && slices.Contains(addrs, ip.String()) {
				return n
			}
		}
	}
	return ""
}

// interfaceNets are this host's unicast addresses with their networks, IPv4 first.
func interfaceNets() ([]*net.IPNet, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var v4, v6 []*net.IPNet
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || !ipn.IP.IsGlobalUnicast() {
			continue
		}
		if ipn.IP.To4() != nil {
			v4 = append(v4, ipn)
		} else {
			v6 = append(v6, ipn)
		}
	}
	return append(v4, v6...), nil
}

// discover runs one round: resolve, ask every address, and return the others' answers.
func (a *Assembler) discover(ctx context.Context) []Info {
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	targets, err := a.cfg.Source.targets(rctx, a.cfg.Resolver, a.cfg.AdminPort)
	cancel()
	if err != nil {
		a.noteProblem("resolve", fmt.Sprintf("%s does not resolve (yet): %v; retrying", a.cfg.Source, err))
		return nil
	}
	a.noteNetwork(targets)
	a.mu.Lock()
	self := a.self.Instance
	a.mu.Unlock()
	type answer struct {
		target string
		in     Info
		err    error
	}
	answers := make([]answer, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			in, err := probe(pctx, a.hc, t, a.cfg.Secret)
			answers[i] = answer{t, in, err}
		}()
	}
	wg.Wait()
	var peers []Info
	seen := map[string]bool{}
	for _, an := range answers {
		switch {
		case errors.Is(an.err, errBadMAC):
			a.noteProblem("mac:"+an.target, fmt.Sprintf("%s: %v", an.target, an.err))
		case an.err != nil:
			a.log.Debug("assemble: no answer", "addr", an.target, "err", an.err)
		case an.in.Instance == self:
			a.noteSelf(an.target)
		case !seen[an.in.Instance]:
			seen[an.in.Instance] = true
			peers = append(peers, an.in)
		}
	}
	return peers
}

// noteSelf refines this member's advertised address: the one of its addresses that the
// discovery name resolves to is the one its peers can reach.
func (a *Assembler) noteSelf(target string) {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return
	}
	ip := net.ParseIP(host)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hostSet || ip == nil || a.self.Host == ip.String() {
		return
	}
	if slices.ContainsFunc(a.ownNets, func(n *net.IPNet) bool { return n.IP.Equal(ip) }) {
		a.self.Host = ip.String()
	}
}

// noteNetwork refines this member's advertised address from the others' addresses: a
// container on several networks (Swarm's ingress network, say) is reached on the one it
// shares with them.
func (a *Assembler) noteNetwork(targets []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hostSet || a.self.Phase != PhaseWaiting {
		return
	}
	if ip := net.ParseIP(a.self.Host); ip != nil {
		for _, t := range targets {
			if h, _, err := net.SplitHostPort(t); err == nil && net.ParseIP(h).Equal(ip) {
				return // the name resolves to the address it has
			}
		}
	}
	for _, t := range targets {
		h, _, err := net.SplitHostPort(t)
		peer := net.ParseIP(h)
		if err != nil || peer == nil {
			continue
		}
		for _, n := range a.ownNets {
			if n.Contains(peer) {
				a.self.Host = n.IP.String()
				return
			}
		}
	}
}

// noteProblem logs a recurring problem at most once a minute per key.
func (a *Assembler) noteProblem(key, msg string) {
	now := time.Now()
	a.mu.Lock()
	last, ok := a.problems[key]
	if !ok || now.Sub(last) >= time.Minute {
		a.problems[key] = now
	}
	a.mu.Unlock()
	if !ok || now.Sub(last) >= time.Minute {
		a.log.Warn("assemble: " + msg)
	}
}

// redraw draws another random id, avoiding those seen, and persists it.
func (a *Assembler) redraw(peers []Info, taken map[int64]bool, why string) error {
	if taken == nil {
		taken = map[int64]bool{}
	}
	for _, p := range peers {
		taken[p.ID] = true
	}
	a.mu.Lock()
	st := *a.state
	old := st.ID
	taken[old] = true
	a.mu.Unlock()
	id := randomID(taken)
	if id == 0 {
		return errors.New("assemble: every member id is taken")
	}
	st.ID, st.IDFrom = id, FromRandom
	if err := WriteState(a.cfg.DataDir, &st); err != nil {
		return err
	}
	a.mu.Lock()
	a.state = &st
	a.self.ID, a.self.IDFrom = id, FromRandom
	a.mu.Unlock()
	a.log.Info("assemble: drew another id", "old", old, "new", id, "why", why)
	return nil
}

// found starts a new ensemble: this member decided (Bootstrap) or another one did (Follow).
func (a *Assembler) found(d Decision) (*Plan, error) {
	cluster := d.Cluster
	if d.Action == Bootstrap {
		b := make([]byte, 8)
		rand.Read(b)
		cluster = a.cfg.ClusterName + "/" + hex.EncodeToString(b)
	}
	lines := make([]string, 0, len(d.Founders))
	for _, f := range d.Founders {
		lines = append(lines, fmt.Sprintf("server.%d=%s", f.ID, f.Line))
	}
	members, err := parseLines(lines)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	st := *a.state
	a.mu.Unlock()
	st.Status, st.Cluster, st.Since = StatusMember, cluster, time.Now()
	st.Discover, st.Members, st.Founders = a.cfg.Source.String(), formatLines(members), d.Founders
	if err := WriteState(a.cfg.DataDir, &st); err != nil {
		return nil, fmt.Errorf("assemble: persisting the ensemble: %w", err)
	}
	a.log.Info("assemble: forming a new ensemble", "cluster", cluster, "decided", d.Action == Bootstrap, "members", strings.Join(st.Members, " "), "why", d.Reason)
	return a.started(&st, members, false, d.Action)
}

// restart starts as the member of the ensemble the data directory belongs to. When a ready
// member answers, the ensemble's current membership replaces the persisted one, and a
// member that was removed meanwhile is recorded as having left (errRetry: it joins again).
func (a *Assembler) restart(ctx context.Context, d Decision) (*Plan, error) {
	a.mu.Lock()
	st := *a.state
	self := a.self
	a.mu.Unlock()
	members, err := parseLines(st.Members)
	if err != nil {
		return nil, err
	}
	if len(d.Contacts) > 0 && st.Status == StatusMember {
		if cur, err := a.askMembership(ctx, d); err == nil {
			if _, ok := cur[st.ID]; !ok {
				st.Status, st.Since = StatusLeft, time.Now()
				a.log.Warn("assemble: the ensemble no longer lists this member: it was removed while it was away", "cluster", st.Cluster, "id", st.ID)
				if err := a.save(&st); err != nil {
					return nil, err
				}
				return nil, errRetry
			}
			members = cur
			st.Members = formatLines(cur)
		} else {
			a.log.Info("assemble: could not read the ensemble's membership; starting with the one last seen", "err", err)
		}
	}
	if _, ok := members[st.ID]; !ok {
		// A joiner that stopped before it was added lists itself as it asked to be.
		sv, _ := config.ParseServer(fmt.Sprint(st.ID), self.line(true))
		members[st.ID] = sv
	}
	a.log.Info("assemble: starting as a member of the ensemble in the data directory", "cluster", st.Cluster, "id", st.ID, "status", st.Status, "why", d.Reason)
	return a.started(&st, members, st.Status == StatusJoining, d.Action)
}

// started records the plan and returns it.
func (a *Assembler) started(st *State, members map[int64]config.Server, join bool, act Action) (*Plan, error) {
	servers := make([]config.Server, 0, len(members))
	for _, l := range formatLines(members) {
		k, v, _ := strings.Cut(l, "=")
		sv, _ := config.ParseServer(k, v)
		servers = append(servers, sv)
	}
	pw := a.cfg.SuperPassword
	if pw == "" {
		pw = SuperPassword(a.cfg.Secret, st.Cluster)
	}
	p := &Plan{ID: st.ID, Cluster: st.Cluster, Servers: servers, Join: join, SuperPassword: pw, Action: act}
	a.mu.Lock()
	a.state = st
	a.plan = p
	a.self.Phase, a.self.Reason, a.self.Detail = PhaseMember, "", ""
	a.self.Cluster, a.self.Founders = st.Cluster, st.Founders
	a.mu.Unlock()
	return p, nil
}

// wipe empties the data of a member that left its ensemble, so that it can join again as
// a new member: its log belongs to a membership it is no longer part of.
func (a *Assembler) wipe(d Decision) error {
	a.mu.Lock()
	st := *a.state
	a.mu.Unlock()
	a.log.Warn("assemble: this member left its ensemble earlier; deleting its old log and snapshots to join it again",
		"cluster", st.Cluster, "id", st.ID, "why", d.Reason)
	for _, dir := range []string{filepath.Join(a.cfg.DataDir, "snap"), filepath.Join(a.cfg.LogDir, "wal")} {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("assemble: %w", err)
		}
	}
	st.Status, st.Cluster, st.Members, st.Founders, st.Since = StatusNew, "", nil, nil, time.Now()
	if err := WriteState(a.cfg.DataDir, &st); err != nil {
		return err
	}
	a.mu.Lock()
	a.state = &st
	a.self.Phase, a.self.Cluster, a.self.Founders = PhaseWaiting, "", nil
	a.mu.Unlock()
	return nil
}
