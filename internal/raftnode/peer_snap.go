package raftnode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// Snapshots travel on a connection of their own (kind peerKindSnapshot): the
// MsgSnap, then the snapshot file in chunks, then its length. The receiver
// writes the file under a temporary name, syncs and verifies it (header and
// body CRCs, term and index against the message), renames it into its
// snapshot directory as <term>-<index>.snap.recv, syncs the directory, and
// only then hands the MsgSnap to raft and acknowledges. The node renames the
// file to its final name once raft has accepted the snapshot. The sender
// reports the acknowledgement (or any failure) with Receiver.ReportSnapshot.

// sendSnapshot starts sending a MsgSnap, encoded in frame, with the snapshot
// file it names. One snapshot per peer is in flight at a time; another one
// meanwhile is reported as failed, and raft retries.
func (l *peerLink) sendSnapshot(frame []byte, term, index uint64) {
	l.mu.Lock()
	busy := l.snapBusy || l.ctx.Err() != nil
	if !busy {
		l.snapBusy = true
	}
	l.mu.Unlock()
	if busy {
		putFrameBuf(frame)
		l.t.reports.snapshot(l.id, false)
		return
	}
	done := func(ok bool) {
		l.mu.Lock()
		l.snapBusy = false
		l.mu.Unlock()
		l.t.reports.snapshot(l.id, ok)
	}
	started := l.t.goTracked(func() {
		ok := l.streamSnapshot(frame, term, index)
		done(ok)
	})
	if !started {
		putFrameBuf(frame)
		done(false)
	}
}

// streamSnapshot sends one snapshot and reports whether the peer
// acknowledged it.
func (l *peerLink) streamSnapshot(frame []byte, term, index uint64) bool {
	defer putFrameBuf(frame)
	t := l.t
	log := t.logger().With("peer", l.id, "term", term, "index", index)
	var f *os.File
	var size int64
	if t.snapDir != "" {
		path := filepath.Join(t.snapDir, snapshotName(term, index))
		var err error
		if f, err = os.Open(path); err != nil {
			log.Error("raftnode: cannot send snapshot", "err", err)
			return false
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			log.Error("raftnode: cannot send snapshot", "err", err)
			return false
		}
		if size = fi.Size(); size > t.cfg.MaxSnapshotSize {
			log.Error("raftnode: cannot send snapshot: larger than TCPConfig.MaxSnapshotSize", "bytes", size, "limit", t.cfg.MaxSnapshotSize)
			return false
		}
	}
	began := time.Now()
	conn, raw, err := t.connect(l.ctx, l.id, l.getAddr(), peerKindSnapshot, l.trackConn(&l.snapConn))
	if err != nil {
		if l.ctx.Err() == nil {
			log.Warn("raftnode: cannot send snapshot", "err", err)
		}
		return false
	}
	defer l.untrackConn(&l.snapConn, raw)
	if err := t.writeSnapshotStream(conn, raw, frame, f, size); err != nil {
		if l.ctx.Err() == nil {
			log.Warn("raftnode: sending snapshot failed", "err", err)
		}
		return false
	}
	raw.SetReadDeadline(time.Now().Add(peerSnapAckTimeout))
	typ, payload, err := readPeerFrame(conn, 1, make([]byte, 0, 1))
	switch {
	case err != nil:
		if l.ctx.Err() == nil {
			log.Warn("raftnode: snapshot not acknowledged", "err", err)
		}
		return false
	case typ != frameSnapAck || len(payload) != 1:
		log.Warn("raftnode: snapshot not acknowledged", "err", fmt.Errorf("%w: frame type %d", errPeerProtocol, typ))
		return false
	case payload[0] != 0:
		log.Warn("raftnode: peer refused the snapshot (see its log)")
		return false
	}
	log.Info("raftnode: sent snapshot", "bytes", size, "took", time.Since(began).Round(time.Millisecond))
	return true
}

// writeSnapshotStream writes the MsgSnap frame, the file f of size bytes (if
// any) in chunks, and the end frame.
func (t *TCPTransport) writeSnapshotStream(w io.Writer, raw net.Conn, frame []byte, f *os.File, size int64) error {
	bw := bufio.NewWriterSize(w, peerWriteBuffer)
	deadline := func() { raw.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout)) }
	deadline()
	if _, err := bw.Write(frame); err != nil {
		return err
	}
	var sent int64
	if f != nil {
		buf := make([]byte, frameHeaderLen+peerSnapChunk)
		for {
			n, err := io.ReadFull(f, buf[frameHeaderLen:])
			if n > 0 {
				binary.BigEndian.PutUint32(buf, uint32(n))
				buf[4] = frameSnapChunk
				deadline()
				if _, err := bw.Write(buf[:frameHeaderLen+n]); err != nil {
					return err
				}
				sent += int64(n)
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				return fmt.Errorf("read snapshot file: %w", err)
			}
		}
		if sent != size {
			return fmt.Errorf("snapshot file changed size while being sent (%d, then %d bytes)", size, sent)
		}
	}
	deadline()
	if _, err := bw.Write(appendPeerFrame(nil, frameSnapEnd, binary.BigEndian.AppendUint64(nil, uint64(sent)))); err != nil {
		return err
	}
	return bw.Flush()
}

// serveSnapshot receives a snapshot connection, delivers the MsgSnap and
// acknowledges.
func (t *TCPTransport) serveSnapshot(br *bufio.Reader, conn, raw net.Conn, from uint64, r Receiver) {
	began := time.Now()
	idle := 3 * t.cfg.WriteTimeout
	refresh := func() { raw.SetReadDeadline(time.Now().Add(idle)) }
	m, size, err := t.recvSnapshot(br, from, refresh)
	status := byte(0)
	if err != nil {
		if t.ctx.Err() != nil {
			return
		}
		t.logger().Warn("raftnode: refused snapshot from peer", "peer", from, "err", err)
		status = 1
	} else {
		md := m.GetSnapshot().GetMetadata()
		t.logger().Info("raftnode: received snapshot", "peer", from, "term", md.GetTerm(), "index", md.GetIndex(),
			"bytes", size, "took", time.Since(began).Round(time.Millisecond))
		r.Receive(m)
	}
	raw.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	conn.Write(appendPeerFrame(nil, frameSnapAck, []byte{status}))
}

// recvSnapshot reads a snapshot connection's frames from r: the MsgSnap and,
// when snapshots travel as files, the file, which it puts in place. It
// returns the message and the file's size. refresh is called before each
// read of a frame, to extend the deadline.
func (t *TCPTransport) recvSnapshot(r io.Reader, from uint64, refresh func()) (*pb.Message, int64, error) {
	limit := t.cfg.MaxFrameSize
	if t.snapDir == "" {
		limit = int(min(t.cfg.MaxSnapshotSize, maxPeerFrame))
	}
	refresh()
	typ, payload, err := readPeerFrame(r, limit, nil)
	if err != nil {
		return nil, 0, err
	}
	if typ != frameMsg {
		return nil, 0, fmt.Errorf("%w: snapshot connection starts with frame type %d", errPeerProtocol, typ)
	}
	m, err := decodePeerMessage(payload, from, t.id)
	if err != nil {
		return nil, 0, err
	}
	md := m.GetSnapshot().GetMetadata()
	if m.GetType() != pb.MsgSnap || md == nil {
		return nil, 0, fmt.Errorf("%w: snapshot connection carries a %s", errPeerProtocol, m.GetType())
	}
	if t.snapDir == "" {
		refresh()
		typ, payload, err := readPeerFrame(r, max(t.cfg.MaxFrameSize, peerSnapChunk), nil)
		switch {
		case err != nil:
			return nil, 0, err
		case typ == frameSnapChunk:
			return nil, 0, errors.New("raftnode: the peer sends a snapshot file but TCPConfig.DataDir is not set here")
		case typ != frameSnapEnd || len(payload) != 8 || binary.BigEndian.Uint64(payload) != 0:
			return nil, 0, fmt.Errorf("%w: bad end of snapshot", errPeerProtocol)
		}
		return m, 0, nil
	}
	size, err := t.recvSnapshotFile(r, md, refresh)
	if err != nil {
		return nil, 0, err
	}
	return m, size, nil
}

// recvSnapshotFile receives the file of the snapshot md describes into the
// snapshot directory, as <term>-<index>.snap.recv.
func (t *TCPTransport) recvSnapshotFile(r io.Reader, md *pb.SnapshotMetadata, refresh func()) (int64, error) {
	if err := os.MkdirAll(t.snapDir, 0o750); err != nil {
		return 0, err
	}
	final := filepath.Join(t.snapDir, receivedName(md.GetTerm(), md.GetIndex()))
	// The *.tmp suffix has Start delete leftovers of interrupted transfers.
	f, err := os.CreateTemp(t.snapDir, filepath.Base(final)+".*.tmp")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	chunkLimit := max(t.cfg.MaxFrameSize, peerSnapChunk)
	buf := make([]byte, 0, peerSnapChunk)
	var total int64
	for {
		refresh()
		typ, payload, err := readPeerFrame(r, chunkLimit, buf)
		if err != nil {
			return 0, err
		}
		if typ == frameSnapEnd {
			if len(payload) != 8 || binary.BigEndian.Uint64(payload) != uint64(total) {
				return 0, fmt.Errorf("%w: snapshot length does not match the chunks (%d bytes)", errPeerProtocol, total)
			}
			break
		}
		if typ != frameSnapChunk {
			return 0, fmt.Errorf("%w: frame type %d in a snapshot", errPeerProtocol, typ)
		}
		if total += int64(len(payload)); total > t.cfg.MaxSnapshotSize {
			return 0, fmt.Errorf("%w: snapshot larger than TCPConfig.MaxSnapshotSize (%d bytes)", ErrPeerFrameTooLarge, t.cfg.MaxSnapshotSize)
		}
		if _, err := f.Write(payload); err != nil {
			return 0, err
		}
	}
	if total == 0 {
		return 0, errors.New("raftnode: the peer sent no snapshot file (is TCPConfig.DataDir set on the sender?)")
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	h, err := verifySnapshot(tmp)
	if err != nil {
		return 0, err
	}
	if h.index != md.GetIndex() || h.term != md.GetTerm() {
		return 0, fmt.Errorf("raftnode: snapshot file holds term %d index %d, the message says term %d index %d",
			h.term, h.index, md.GetTerm(), md.GetIndex())
	}
	if err := os.Rename(tmp, final); err != nil {
		return 0, err
	}
	done = true
	if err := defaultFS.syncDir(t.snapDir); err != nil {
		return 0, err
	}
	return total, nil
}
