package raftnode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// A snapshot file DataDir/snap/<term>-<index>.snap (16 hex digits each) is a
// header followed by the state machine's snapshot compressed with zstd:
//
//	off  0  magic "PDKSNAP\x00"
//	off  8  u32 format version (2; version 1 lacks the addresses)
//	off 12  u32 header length, including the trailing header CRC
//	off 16  u64 index of the last entry the state covers
//	off 24  u64 term of that entry
//	off 32  u64 body length (compressed bytes)
//	off 40  u32 CRC32-C of the body
//	off 44  u32 length L of the conf state
//	off 48  raftpb.ConfState, protobuf wire format, L bytes
//	48+L    u32 length A of the address book (version 2)
//	52+L    the address book, A bytes: the member addresses recorded by
//	        membership changes (see appendAddrBook)
//	        u32 CRC32-C of the header bytes before it
//
// All integers are little-endian. The file is written under a .tmp name,
// fsync'd, renamed and its directory fsync'd, so a reader sees whole files
// only; a file whose CRCs fail is renamed to .broken and an older one is used.
// A snapshot received from the leader arrives as <name>.recv, which
// listSnapshots ignores until the node renames it (see acceptSnapshot).
const (
	snapMagic          = "PDKSNAP\x00"
	snapVersion        = 2
	snapVersionNoAddrs = 1
	snapFixedHdrLen    = 48
	maxConfStateSize   = 1 << 20
	maxAddrBookSize    = 1 << 20
	snapExt            = ".snap"
	recvExt            = ".recv" // after snapExt: a received snapshot not yet accepted
)

type snapHeader struct {
	index, term uint64
	bodyLen     uint64
	bodyCRC     uint32
	conf        *pb.ConfState
	addrs       map[uint64]string // addresses recorded by membership changes; may be nil
}

func encodeSnapshotHeader(h snapHeader) ([]byte, error) {
	cs, err := proto.Marshal(h.conf)
	if err != nil {
		return nil, fmt.Errorf("snapshot: encode conf state: %w", err)
	}
	book := appendAddrBook(nil, h.addrs)
	if len(book) > maxAddrBookSize {
		return nil, fmt.Errorf("snapshot: address book of %d bytes exceeds limit", len(book))
	}
	total := snapFixedHdrLen + len(cs) + 4 + len(book) + 4
	b := make([]byte, snapFixedHdrLen, total)
	copy(b, snapMagic)
	binary.LittleEndian.PutUint32(b[8:], snapVersion)
	binary.LittleEndian.PutUint32(b[12:], uint32(total))
	binary.LittleEndian.PutUint64(b[16:], h.index)
	binary.LittleEndian.PutUint64(b[24:], h.term)
	binary.LittleEndian.PutUint64(b[32:], h.bodyLen)
	binary.LittleEndian.PutUint32(b[40:], h.bodyCRC)
	binary.LittleEndian.PutUint32(b[44:], uint32(len(cs)))
	b = append(b, cs...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(book)))
	b = append(b, book...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable)), nil
}

// snapshotHeaderLen returns the total header length announced by the fixed
// part of a header, validating what it can.
func snapshotHeaderLen(b []byte) (int, error) {
	if len(b) < snapFixedHdrLen {
		return 0, fmt.Errorf("snapshot: header truncated (%d bytes)", len(b))
	}
	if string(b[:8]) != snapMagic {
		return 0, errors.New("snapshot: bad magic")
	}
	v := binary.LittleEndian.Uint32(b[8:])
	if v != snapVersion && v != snapVersionNoAddrs {
		return 0, fmt.Errorf("snapshot: unsupported format version %d", v)
	}
	csLen := binary.LittleEndian.Uint32(b[44:])
	if csLen > maxConfStateSize {
		return 0, fmt.Errorf("snapshot: conf state length %d exceeds limit", csLen)
	}
	hl := binary.LittleEndian.Uint32(b[12:])
	n := snapFixedHdrLen + int(csLen) + 4
	if v == snapVersionNoAddrs {
		if hl != uint32(n) {
			return 0, fmt.Errorf("snapshot: header length %d inconsistent with conf state length %d", hl, csLen)
		}
		return n, nil
	}
	if hl < uint32(n+4) || hl > uint32(n+4+maxAddrBookSize) {
		return 0, fmt.Errorf("snapshot: header length %d inconsistent with conf state length %d", hl, csLen)
	}
	return int(hl), nil
}

// decodeSnapshotHeader decodes the header at the start of b and returns it
// with its length.
func decodeSnapshotHeader(b []byte) (snapHeader, int, error) {
	n, err := snapshotHeaderLen(b)
	if err != nil {
		return snapHeader{}, 0, err
	}
	if len(b) < n {
		return snapHeader{}, 0, fmt.Errorf("snapshot: header truncated (%d of %d bytes)", len(b), n)
	}
	if got, want := crc32.Checksum(b[:n-4], crcTable), binary.LittleEndian.Uint32(b[n-4:]); got != want {
		return snapHeader{}, 0, fmt.Errorf("snapshot: header crc mismatch: stored %08x, computed %08x", want, got)
	}
	csEnd := snapFixedHdrLen + int(binary.LittleEndian.Uint32(b[44:]))
	h := snapHeader{
		index:   binary.LittleEndian.Uint64(b[16:]),
		term:    binary.LittleEndian.Uint64(b[24:]),
		bodyLen: binary.LittleEndian.Uint64(b[32:]),
		bodyCRC: binary.LittleEndian.Uint32(b[40:]),
		conf:    new(pb.ConfState),
	}
	if err := proto.Unmarshal(b[snapFixedHdrLen:csEnd], h.conf); err != nil {
		return snapHeader{}, 0, fmt.Errorf("snapshot: malformed conf state: %w", err)
	}
	pb.EnsureConfState(h.conf)
	if binary.LittleEndian.Uint32(b[8:]) == snapVersion {
		book := b[csEnd : n-4]
		if al := binary.LittleEndian.Uint32(book); uint64(al) != uint64(len(book)-4) {
			return snapHeader{}, 0, fmt.Errorf("snapshot: address book length %d inconsistent with header length %d", al, n)
		}
		if h.addrs, err = decodeAddrBook(book[4:]); err != nil {
			return snapHeader{}, 0, fmt.Errorf("snapshot: %w", err)
		}
	}
	return h, n, nil
}

type snapFile struct {
	path        string
	term, index uint64
}

func snapshotName(term, index uint64) string {
	return fmt.Sprintf("%016x-%016x%s", term, index, snapExt)
}

// receivedName names a snapshot received from the leader and not yet
// accepted by raft.
func receivedName(term, index uint64) string {
	return snapshotName(term, index) + recvExt
}

func parseSnapshotName(name string) (term, index uint64, ok bool) {
	base, found := strings.CutSuffix(name, snapExt)
	if !found || len(base) != 33 || base[16] != '-' {
		return 0, 0, false
	}
	term, err1 := strconv.ParseUint(base[:16], 16, 64)
	index, err2 := strconv.ParseUint(base[17:], 16, 64)
	return term, index, err1 == nil && err2 == nil
}

// listSnapshots returns the snapshot files in dir, newest (highest index) first.
func listSnapshots(dir string) ([]snapFile, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var snaps []snapFile
	for _, de := range des {
		term, index, ok := parseSnapshotName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		snaps = append(snaps, snapFile{path: filepath.Join(dir, de.Name()), term: term, index: index})
	}
	slices.SortFunc(snaps, func(a, b snapFile) int {
		if c := cmpUint64(b.index, a.index); c != 0 {
			return c
		}
		return cmpUint64(b.term, a.term)
	})
	return snaps, nil
}

// listReceived returns the received snapshots in dir (*.snap.recv).
func listReceived(dir string) ([]snapFile, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []snapFile
	for _, de := range des {
		base, ok := strings.CutSuffix(de.Name(), recvExt)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		if term, index, ok := parseSnapshotName(base); ok {
			out = append(out, snapFile{path: filepath.Join(dir, de.Name()), term: term, index: index})
		}
	}
	return out, nil
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// countingCRC passes writes through and keeps their length and CRC32-C.
type countingCRC struct {
	w   io.Writer
	n   uint64
	crc uint32
}

func (c *countingCRC) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	c.crc = crc32.Update(c.crc, crcTable, p[:n])
	return n, err
}

// writeSnapshot writes a snapshot file for h.index/h.term/h.conf whose body is
// produced by write, and makes it durable. It returns the file's path.
func writeSnapshot(dir string, h snapHeader, write func(io.Writer) error, fs *fsHooks) (string, error) {
	path := filepath.Join(dir, snapshotName(h.term, h.index))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("snapshot %s: %w", path, err)
	}
	hdr, err := encodeSnapshotHeader(h)
	if err != nil {
		return fail(err)
	}
	if _, err := f.Write(hdr); err != nil { // placeholder, rewritten below
		return fail(err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	cw := &countingCRC{w: bw}
	enc, err := zstd.NewWriter(cw, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return fail(err)
	}
	if err := write(enc); err != nil {
		enc.Close()
		return fail(fmt.Errorf("write state: %w", err))
	}
	if err := enc.Close(); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	h.bodyLen, h.bodyCRC = cw.n, cw.crc
	if hdr, err = encodeSnapshotHeader(h); err != nil {
		return fail(err)
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return fail(err)
	}
	if err := fs.fsync(f); err != nil {
		return fail(fmt.Errorf("fsync: %w", err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("snapshot %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("snapshot %s: %w", path, err)
	}
	if err := fs.syncDir(dir); err != nil {
		return "", fmt.Errorf("snapshot %s: %w", path, err)
	}
	return path, nil
}

// readSnapshotHeader reads and decodes the header at the start of r.
func readSnapshotHeader(r io.Reader) (snapHeader, int, error) {
	fixed := make([]byte, snapFixedHdrLen)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return snapHeader{}, 0, fmt.Errorf("snapshot: read header: %w", err)
	}
	n, err := snapshotHeaderLen(fixed)
	if err != nil {
		return snapHeader{}, 0, err
	}
	b := make([]byte, n)
	copy(b, fixed)
	if _, err := io.ReadFull(r, b[snapFixedHdrLen:]); err != nil {
		return snapHeader{}, 0, fmt.Errorf("snapshot: read header: %w", err)
	}
	return decodeSnapshotHeader(b)
}

// verifySnapshot checks a snapshot file's header, length and body CRC.
func verifySnapshot(path string) (snapHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return snapHeader{}, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	h, n, err := readSnapshotHeader(br)
	if err != nil {
		return snapHeader{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		return snapHeader{}, err
	}
	if want := uint64(n) + h.bodyLen; uint64(fi.Size()) != want {
		return snapHeader{}, fmt.Errorf("snapshot: file is %d bytes, header says %d", fi.Size(), want)
	}
	cw := &countingCRC{w: io.Discard}
	if _, err := io.Copy(cw, br); err != nil {
		return snapHeader{}, fmt.Errorf("snapshot: read body: %w", err)
	}
	if cw.crc != h.bodyCRC {
		return snapHeader{}, fmt.Errorf("snapshot: body crc mismatch: stored %08x, computed %08x", h.bodyCRC, cw.crc)
	}
	return h, nil
}

// restoreSnapshot decompresses the body of a verified snapshot file into sm.
func restoreSnapshot(path string, sm StateMachine) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	h, _, err := readSnapshotHeader(br)
	if err != nil {
		return err
	}
	dec, err := zstd.NewReader(io.LimitReader(br, int64(h.bodyLen)), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer dec.Close()
	if err := sm.Restore(dec); err != nil {
		return fmt.Errorf("snapshot %s: restore: %w", path, err)
	}
	return nil
}

// purgeSnapshots keeps the newest retain snapshot files in dir and removes the
// others. It returns the index of the oldest snapshot kept.
func purgeSnapshots(dir string, retain int, fs *fsHooks) (oldest uint64, removed []string, err error) {
	snaps, err := listSnapshots(dir)
	if err != nil || len(snaps) == 0 {
		return 0, nil, err
	}
	keep := min(retain, len(snaps))
	oldest = snaps[keep-1].index
	for _, s := range snaps[keep:] {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return oldest, removed, fmt.Errorf("snapshot: purge: %w", err)
		}
		removed = append(removed, s.path)
	}
	if len(removed) > 0 {
		err = fs.syncDir(dir)
	}
	return oldest, removed, err
}
