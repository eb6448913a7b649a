package recipe

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"github.com/paddock/paddock/client"
)

// PersistentNode is Curator's PersistentNode: a node that stays there as long as the
// PersistentNode is open, whatever happens to the session. It is created at Start (with its
// ancestors, as containers), watched, and created again when it is deleted or when its
// session is lost (for an ephemeral node); a sequential node is created again with a new
// sequence number. With protection, sequential and ephemeral creates use Curator's protected
// names.
//
// A connection loss changes nothing: the node lives on with its session, and the watch is
// set again on reconnection. On session expiry (StateLost) an ephemeral node goes with the
// session and is created again, with the current data, once the next session is
// established. While a lost session's ephemeral node lingers (until the ensemble expires
// that session), a non-sequential node is not created again: it is watched and re-created
// when it goes.
type PersistentNode struct {
	s         *Session
	base      string
	mode      client.CreateMode
	protected bool
	err       error

	mu       sync.Mutex
	data     []byte        // guarded by mu
	actual   string        // guarded by mu: the created node's path, "" while there is none
	gen      uint64        // guarded by mu: generation of the session that created actual
	started  bool          // guarded by mu
	createdc chan struct{} // closed at the first create
	created  bool          // guarded by mu
	cancel   context.CancelFunc
	donec    chan struct{}
	wakec    chan struct{}
	unlisten func()
}

// NewPersistentNode returns a node at path of the given mode, holding data.
func NewPersistentNode(s *Session, path string, mode client.CreateMode, protected bool, data []byte) *PersistentNode {
	return &PersistentNode{s: s, base: path, mode: mode, protected: protected, err: validatePath(path),
		data: append([]byte{}, data...), createdc: make(chan struct{}), donec: make(chan struct{}), wakec: make(chan struct{}, 1)}
}

// Start creates and watches the node in the background.
func (n *PersistentNode) Start() error {
	if n.err != nil {
		return n.err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return ErrNotStarted
	}
	n.started = true
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.unlisten = n.s.Listen(func(st ConnState) {
		if st == StateReconnected || st == StateLost {
			n.wake()
		}
	})
	go n.run(ctx)
	return nil
}

func (n *PersistentNode) wake() {
	select {
	case n.wakec <- struct{}{}:
	default:
	}
}

func (n *PersistentNode) ephemeral() bool {
	return n.mode == client.ModeEphemeral || n.mode == client.ModeEphemeralSequential
}

func (n *PersistentNode) sequential() bool {
	return n.mode == client.ModeEphemeralSequential || n.mode == client.ModePersistentSequential
}

func (n *PersistentNode) run(ctx context.Context) {
	defer close(n.donec)
	var b backoff
	for ctx.Err() == nil {
		select {
		case <-n.wakec:
		default:
		}
		err := n.check(ctx)
		if err == nil {
			b = backoff{}
			continue
		}
		if ctx.Err() == nil {
			n.s.log.Info("persistent node", "path", n.base, "err", err)
			_ = b.sleep(ctx)
		}
	}
}

// check creates the node if it has none, then waits for it to change.
func (n *PersistentNode) check(ctx context.Context) error {
	c, gen, err := n.s.current(ctx)
	if err != nil {
		return err
	}
	n.mu.Lock()
	actual, agen, data := n.actual, n.gen, n.data
	n.mu.Unlock()
	if actual != "" && n.ephemeral() && agen != gen && (n.sequential() || n.protected) {
		// The node died (or will die) with its session: a new one replaces it.
		n.setActual("", 0)
		n.s.background(func(ctx context.Context) { _ = n.s.deleteGuaranteed(ctx, actual) })
		actual = ""
	}
	if actual == "" || (n.ephemeral() && agen != gen) {
		var p string
		var err error
		if n.protected && (n.sequential() || n.ephemeral()) {
			p, gen, err = n.s.createProtected(ctx, n.base, data, n.mode)
		} else {
			p, err = create(ctx, c, n.base, data, n.mode)
			if errors.Is(err, client.ErrNodeExists) && !n.sequential() {
				p, err = n.base, nil
				_, serr := c.SetData(ctx, n.base, data, client.AnyVersion)
				if serr != nil && !errors.Is(serr, client.ErrNoNode) {
					return serr
				}
			}
		}
		if err != nil {
			return err
		}
		// SetData may have changed the data meanwhile and found no node to write it to.
		if cur := n.setActual(p, gen); !bytes.Equal(cur, data) {
			if _, err := c.SetData(ctx, p, cur, client.AnyVersion); err != nil && !errors.Is(err, client.ErrNoNode) {
				return err
			}
		}
		actual = p
	}
	ok, st, wch, err := c.ExistsW(ctx, actual)
	if err != nil {
		return err
	}
	if !ok {
		n.setActual("", 0)
		return nil
	}
	if n.ephemeral() && st.EphemeralOwner != c.SessionID() {
		// An earlier session's node lingers: wait for it to go.
		n.mu.Lock()
		n.gen = 0
		n.mu.Unlock()
	}
	select {
	case ev := <-wch:
		if ev.Type == client.EventNodeDeleted {
			n.setActual("", 0)
		}
	case <-n.wakec:
	case <-ctx.Done():
	}
	return nil
}

// setActual records the node and returns the current data.
func (n *PersistentNode) setActual(p string, gen uint64) []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.actual, n.gen = p, gen
	if p != "" && !n.created {
		n.created = true
		close(n.createdc)
	}
	return n.data
}

// WaitForInitialCreate waits until the node has been created once.
func (n *PersistentNode) WaitForInitialCreate(ctx context.Context) error {
	select {
	case <-n.createdc:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ActualPath returns the node's path (with its sequence number and protected prefix), or ""
// while there is none.
func (n *PersistentNode) ActualPath() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.actual
}

// Data returns the data the node is (re-)created with.
func (n *PersistentNode) Data() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]byte{}, n.data...)
}

// SetData changes the node's data, now and for later re-creations.
func (n *PersistentNode) SetData(ctx context.Context, data []byte) error {
	n.mu.Lock()
	n.data = append([]byte{}, data...)
	actual := n.actual
	n.mu.Unlock()
	if actual == "" {
		return nil
	}
	return n.s.retry(ctx, func(c *client.Client) error {
		_, err := c.SetData(ctx, actual, data, client.AnyVersion)
		return ignoreNoNode(err)
	})
}

// Close stops maintaining the node and deletes it.
func (n *PersistentNode) Close(ctx context.Context) error {
	n.mu.Lock()
	started := n.started && n.cancel != nil
	n.mu.Unlock()
	if !started {
		return nil
	}
	n.unlisten()
	n.cancel()
	<-n.donec
	n.mu.Lock()
	actual := n.actual
	n.actual = ""
	n.mu.Unlock()
	if actual == "" {
		return nil
	}
	return n.s.deleteGuaranteed(ctx, actual)
}

// GroupMember is Curator's GroupMember: each member of a group is an ephemeral
// PersistentNode <path>/<id> holding its payload, and a TreeCache of <path> lists the members.
//
// A member stays registered through connection losses (its node lives on with the session).
// When its session expires, its node goes and the other members see it leave; it registers
// again, with the same id and its current payload, as soon as the next session is
// established (and the lost session's node is gone), and the others see it join again. No
// error is reported: Session.Listen tells of StateLost. Members is the cache's view: while
// the connection is lost it may be stale, and it is reloaded on reconnection.
type GroupMember struct {
	node  *PersistentNode
	cache *TreeCache
	path  string
	id    string
}

// NewGroupMember returns the member id of the group at path, with payload (nil means the
// Session's default data, as Curator's local address).
func NewGroupMember(s *Session, path, id string, payload []byte) *GroupMember {
	return &GroupMember{
		node:  NewPersistentNode(s, join(path, id), client.ModeEphemeral, false, s.data(payload)),
		cache: NewTreeCache(s, path, nil),
		path:  path,
		id:    id,
	}
}

// Start joins the group and starts watching it.
func (g *GroupMember) Start() error {
	if err := g.node.Start(); err != nil {
		return err
	}
	return g.cache.Start()
}

// SetData changes this member's payload.
func (g *GroupMember) SetData(ctx context.Context, data []byte) error {
	return g.node.SetData(ctx, data)
}

// Members returns the group's members and their payloads, as far as the cache knows them;
// this member is always among them.
func (g *GroupMember) Members() map[string][]byte {
	out := map[string][]byte{}
	for _, id := range g.cache.Children(g.path) {
		if d, ok := g.cache.Get(join(g.path, id)); ok {
			out[id] = d.Data
		}
	}
	if _, ok := out[g.id]; !ok {
		out[g.id] = g.node.Data()
	}
	return out
}

// Close leaves the group.
func (g *GroupMember) Close(ctx context.Context) error {
	g.cache.Close()
	return g.node.Close(ctx)
}
