package raftnode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// A WAL record is
//
//	[u32 length][u32 CRC32-C of type+payload][u8 type][payload]
//
// little-endian, where length counts the type byte and the payload (so a valid
// record has length >= 1). A length of zero marks the end of the records of a
// segment: segments are preallocated, and their unused tail reads as zeros.
const (
	recHeaderLen = 8 // length + CRC; the type byte is counted by length

	// maxRecordLen bounds the length field so that a damaged header cannot make
	// the reader allocate or checksum an absurd span.
	maxRecordLen = 256 << 20
)

// Record types.
const (
	recEntry     byte = 1 // payload: raftpb.Entry, protobuf wire format
	recHardState byte = 2 // payload: raftpb.HardState, protobuf wire format
	recSnapshot  byte = 3 // payload: u64 index, u64 term, raftpb.ConfState (protobuf)
	recMeta      byte = 4 // payload: u64 node ID; first record of every segment
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Decoding failures. They describe the record, the reader adds file and offset.
var (
	errEndOfRecords = errors.New("end of records") // zero length: not an error by itself
	errShortHeader  = errors.New("truncated record header")
)

// appendRecord appends a record of type typ whose payload is produced by fill,
// which must append the payload to its argument and return the result.
func appendRecord(b []byte, typ byte, fill func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	b = fill(b)
	body := b[start+recHeaderLen:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(body, crcTable))
	return b
}

// appendEntryRecord appends e as a recEntry record. It does not allocate
// beyond growing b.
func appendEntryRecord(b []byte, e *pb.Entry) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, recEntry)
	b = appendEntryPayload(b, e)
	body := b[start+recHeaderLen:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(body, crcTable))
	return b
}

// appendEntryPayload encodes e exactly as proto.Marshal would for an entry
// with Type, Term and Index set, without reflection or allocation.
func appendEntryPayload(b []byte, e *pb.Entry) []byte {
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(e.GetType()))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, e.GetTerm())
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, e.GetIndex())
	if e.Data != nil {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, e.Data)
	}
	return b
}

func appendHardStateRecord(b []byte, hs *pb.HardState) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, recHardState)
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, hs.GetTerm())
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, hs.GetVote())
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, hs.GetCommit())
	body := b[start+recHeaderLen:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(body, crcTable))
	return b
}

func appendSnapshotRecord(b []byte, m snapMarker) ([]byte, error) {
	cs, err := proto.Marshal(m.conf)
	if err != nil {
		return b, fmt.Errorf("wal: encode conf state: %w", err)
	}
	return appendRecord(b, recSnapshot, func(b []byte) []byte {
		b = binary.LittleEndian.AppendUint64(b, m.index)
		b = binary.LittleEndian.AppendUint64(b, m.term)
		return append(b, cs...)
	}), nil
}

func appendMetaRecord(b []byte, nodeID uint64) []byte {
	return appendRecord(b, recMeta, func(b []byte) []byte {
		return binary.LittleEndian.AppendUint64(b, nodeID)
	})
}

// decodeRecord decodes the record at the start of b. It returns the record's
// type, its payload (aliasing b) and the number of bytes it occupies. At a zero
// length it returns errEndOfRecords. The payload's own encoding is not checked
// here; see decodePayload.
func decodeRecord(b []byte) (typ byte, payload []byte, n int, err error) {
	if len(b) < 4 {
		for _, c := range b {
			if c != 0 {
				return 0, nil, 0, errShortHeader
			}
		}
		return 0, nil, 0, errEndOfRecords
	}
	length := binary.LittleEndian.Uint32(b)
	if length == 0 {
		return 0, nil, 0, errEndOfRecords
	}
	if len(b) < recHeaderLen+1 {
		return 0, nil, 0, errShortHeader
	}
	if length > maxRecordLen {
		return 0, nil, 0, fmt.Errorf("record length %d exceeds limit %d", length, maxRecordLen)
	}
	if uint64(len(b)-recHeaderLen) < uint64(length) {
		return 0, nil, 0, fmt.Errorf("truncated record: length %d, %d bytes left", length, len(b)-recHeaderLen)
	}
	body := b[recHeaderLen : recHeaderLen+int(length)]
	if got, want := crc32.Checksum(body, crcTable), binary.LittleEndian.Uint32(b[4:]); got != want {
		return 0, nil, 0, fmt.Errorf("crc mismatch: stored %08x, computed %08x", want, got)
	}
	if typ = body[0]; !validType(typ) {
		return 0, nil, 0, fmt.Errorf("unknown record type %d", typ)
	}
	return typ, body[1:], recHeaderLen + int(length), nil
}

func validType(typ byte) bool { return typ >= recEntry && typ <= recMeta }

// snapMarker records in the log that a snapshot at (index, term) with the given
// membership exists. The marker at index 0 written when a fresh directory is
// bootstrapped carries the initial membership.
type snapMarker struct {
	index, term uint64
	conf        *pb.ConfState
}

// record is one decoded WAL record; exactly one of its fields is set.
type record struct {
	entry  *pb.Entry
	hs     *pb.HardState
	marker *snapMarker
	nodeID uint64
}

// decodePayload decodes the payload of a record of type typ. The returned
// entry's Data is a copy: it does not alias payload.
func decodePayload(typ byte, payload []byte) (record, error) {
	switch typ {
	case recEntry:
		e, err := decodeEntry(payload)
		return record{entry: e}, err
	case recHardState:
		hs, err := decodeHardState(payload)
		return record{hs: hs}, err
	case recSnapshot:
		if len(payload) < 16 {
			return record{}, fmt.Errorf("malformed snapshot marker: %d bytes", len(payload))
		}
		m := &snapMarker{
			index: binary.LittleEndian.Uint64(payload),
			term:  binary.LittleEndian.Uint64(payload[8:]),
			conf:  new(pb.ConfState),
		}
		if err := proto.Unmarshal(payload[16:], m.conf); err != nil {
			return record{}, fmt.Errorf("malformed snapshot marker: %w", err)
		}
		pb.EnsureConfState(m.conf)
		return record{marker: m}, nil
	case recMeta:
		if len(payload) < 8 {
			return record{}, fmt.Errorf("malformed meta record: %d bytes", len(payload))
		}
		return record{nodeID: binary.LittleEndian.Uint64(payload)}, nil
	}
	return record{}, fmt.Errorf("unknown record type %d", typ)
}

// entryBox holds an entry and the scalars its pointer fields point at, so that
// decoding an entry costs one allocation (plus its data) instead of four.
type entryBox struct {
	e     pb.Entry
	term  uint64
	index uint64
	typ   pb.EntryType
}

func decodeEntry(b []byte) (*pb.Entry, error) {
	box := new(entryBox)
	var seen uint8
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("malformed entry: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num >= 1 && num <= 3 && wt == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("malformed entry: %w", protowire.ParseError(n))
			}
			b = b[n:]
			seen |= 1 << num
			switch num {
			case 1:
				if v > uint64(pb.EntryConfChangeV2) {
					return nil, fmt.Errorf("malformed entry: unknown type %d", v)
				}
				box.typ = pb.EntryType(v)
			case 2:
				box.term = v
			case 3:
				box.index = v
			}
		case num == 4 && wt == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("malformed entry: %w", protowire.ParseError(n))
			}
			b = b[n:]
			box.e.Data = append(make([]byte, 0, len(v)), v...)
		default:
			return nil, fmt.Errorf("malformed entry: unexpected field %d (wire type %d)", num, wt)
		}
	}
	if seen&(1<<2|1<<3) != 1<<2|1<<3 {
		return nil, errors.New("malformed entry: term or index missing")
	}
	box.e.Type, box.e.Term, box.e.Index = &box.typ, &box.term, &box.index
	return &box.e, nil
}

func decodeHardState(b []byte) (*pb.HardState, error) {
	var v [4]uint64
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("malformed hard state: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num < 1 || num > 3 || wt != protowire.VarintType {
			return nil, fmt.Errorf("malformed hard state: unexpected field %d (wire type %d)", num, wt)
		}
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, fmt.Errorf("malformed hard state: %w", protowire.ParseError(n))
		}
		b = b[n:]
		v[num] = x
	}
	return &pb.HardState{Term: new(v[1]), Vote: new(v[2]), Commit: new(v[3])}, nil
}
