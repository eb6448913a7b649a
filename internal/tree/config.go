package tree

import (
	"strconv"

	"github.com/paddock/paddock/internal/proto"
)

// ConfigPath is the node holding the ensemble's dynamic configuration (ZooDefs.CONFIG_NODE):
// one "server.N=host:peer:election:role;clientHost:clientPort" line per member, then
// "version=<hex zxid>".
const ConfigPath = "/zookeeper/config"

// ReconfigTxn is the body of a reconfig txn. The server builds it after it has changed the
// membership (or, with Seed, to record the configured membership once at startup); a
// client's ReconfigRequest never reaches Apply.
type ReconfigTxn struct {
	// Members is the new membership: "server.N=..." lines, each ending in '\n'. Apply
	// appends "version=<hex zxid>", the zxid of this txn.
	Members string
	// Seed marks the startup txn: it applies only while the node holds no data, so that
	// a seed proposed twice (a leader change) or late never overwrites a reconfig.
	Seed bool
}

// Encode implements proto.Record.
func (r *ReconfigTxn) Encode(e *proto.Encoder) { e.String(r.Members); e.Bool(r.Seed) }

// Decode implements proto.Record.
func (r *ReconfigTxn) Decode(d *proto.Decoder) { r.Members = d.String(); r.Seed = d.Bool() }

// ConfigData returns the data of /zookeeper/config (nil if it has none) and its Stat. The
// slice is shared with the tree, which never modifies node data in place: read it, do not
// write it.
func (t *Tree) ConfigData() ([]byte, proto.Stat) {
	n := t.findWalk(ConfigPath)
	if n == nil {
		return nil, proto.Stat{}
	}
	return n.data(), n.getStat()
}

// reconfig is ZooKeeper's reconfig txn as DataTree.processTxn applies it: a setData of
// /zookeeper/config with version -1. So, as in ZooKeeper, the node's version reads -1 after
// every reconfig (the txn carries the version it sets, and the leader puts -1 there); mzxid
// and mtime move and NodeDataChanged fires. The reply is ZooKeeper's: the new data and the
// node's Stat. A seed finding data already there answers CodeNodeExists and changes nothing.
func (t *Tree) reconfig(zxid int64, txn *Txn, ev *[]Event) (proto.Record, proto.Code) {
	var body ReconfigTxn
	if !t.decode(txn.Body, &body) {
		return nil, proto.CodeMarshallingError
	}
	n, owned := t.walk(ConfigPath)
	if n == nil {
		return nil, proto.CodeNoNode
	}
	if body.Seed && n.dataLen() > 0 {
		return nil, proto.CodeNodeExists
	}
	data := make([]byte, 0, len(body.Members)+len("\nversion=")+16)
	data = append(data, body.Members...)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	data = append(data, "version="...)
	data = strconv.AppendInt(data, zxid, 16)

	m := t.modifiable(ConfigPath, n, owned)
	t.dataSize += int64(len(data) - m.dataLen())
	m.setData(data)
	m.version = -1
	m.mzxid = zxid
	m.mtime = txn.Time
	*ev = append(*ev, Event{Type: proto.EventNodeDataChanged, Path: ConfigPath, ACL: m.acl.list})
	return &proto.GetDataResponse{Data: data, Stat: m.getStat()}, proto.CodeOK
}
