package proto

// Record is a jute record. Encode appends; Decode reads from d, leaving errors in d.
type Record interface {
	Encode(e *Encoder)
	Decode(d *Decoder)
}

// Unmarshal decodes b into r and fails on trailing bytes.
func Unmarshal(b []byte, r Record) error {
	var d Decoder
	return d.Unmarshal(b, r, false)
}

// Unmarshal is the function Unmarshal decoding with d, whose Max it keeps: a decoder the
// caller keeps costs no allocation per record. With view, r's strings alias b instead of
// copying it, so r must not be used once b changes: for a request that is only checked, or
// served before its frame is reused.
func (d *Decoder) Unmarshal(b []byte, r Record, view bool) error {
	d.Reset(b)
	d.view = view
	r.Decode(d)
	if d.err != nil {
		return d.err
	}
	if d.Len() != 0 {
		d.fail("trailing bytes")
		return d.err
	}
	return nil
}

// Marshal appends r's encoding to b.
func Marshal(b []byte, r Record) []byte {
	e := Encoder{B: b}
	r.Encode(&e)
	return e.B
}

// ConnectRequest is the first frame a client sends.
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	// HasReadOnly reports whether the trailing readOnly byte was present (clients <= 3.3 omit it).
	HasReadOnly bool
}

func (r *ConnectRequest) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Long(r.LastZxidSeen)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

func (r *ConnectRequest) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.LastZxidSeen = d.Long()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.HasReadOnly, r.ReadOnly = false, false
	if d.err == nil && d.Len() > 0 {
		r.HasReadOnly = true
		r.ReadOnly = d.Bool()
	}
}

// ConnectResponse is the first frame the server sends.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

func (r *ConnectResponse) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

func (r *ConnectResponse) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.HasReadOnly, r.ReadOnly = false, false
	if d.err == nil && d.Len() > 0 {
		r.HasReadOnly = true
		r.ReadOnly = d.Bool()
	}
}

// RequestHeader precedes every request after the handshake.
type RequestHeader struct {
	Xid  int32
	Type Op
}

func (r *RequestHeader) Encode(e *Encoder) { e.Int(r.Xid); e.Int(int32(r.Type)) }
func (r *RequestHeader) Decode(d *Decoder) { r.Xid = d.Int(); r.Type = Op(d.Int()) }

// ReplyHeader precedes every reply and notification.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  Code
}

func (r *ReplyHeader) Encode(e *Encoder) { e.Int(r.Xid); e.Long(r.Zxid); e.Int(int32(r.Err)) }
func (r *ReplyHeader) Decode(d *Decoder) { r.Xid = d.Int(); r.Zxid = d.Long(); r.Err = Code(d.Int()) }

// Stat is a znode's metadata as clients see it (68 bytes).
type Stat struct {
	Czxid          int64
	Mzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          int64
}

// StatSize is the encoded size of a Stat.
const StatSize = 68

func (s *Stat) Encode(e *Encoder) {
	e.Long(s.Czxid)
	e.Long(s.Mzxid)
	e.Long(s.Ctime)
	e.Long(s.Mtime)
	e.Int(s.Version)
	e.Int(s.Cversion)
	e.Int(s.Aversion)
	e.Long(s.EphemeralOwner)
	e.Int(s.DataLength)
	e.Int(s.NumChildren)
	e.Long(s.Pzxid)
}

func (s *Stat) Decode(d *Decoder) {
	s.Czxid = d.Long()
	s.Mzxid = d.Long()
	s.Ctime = d.Long()
	s.Mtime = d.Long()
	s.Version = d.Int()
	s.Cversion = d.Int()
	s.Aversion = d.Int()
	s.EphemeralOwner = d.Long()
	s.DataLength = d.Int()
	s.NumChildren = d.Int()
	s.Pzxid = d.Long()
}

// ID is an authentication identity: a scheme and an id within it.
type ID struct {
	Scheme string
	ID     string
}

func (r *ID) Encode(e *Encoder) { e.String(r.Scheme); e.String(r.ID) }
func (r *ID) Decode(d *Decoder) { r.Scheme = d.String(); r.ID = d.String() }

// ACL grants Perms to an ID.
type ACL struct {
	Perms int32
	ID    ID
}

func (r *ACL) Encode(e *Encoder) { e.Int(r.Perms); r.ID.Encode(e) }
func (r *ACL) Decode(d *Decoder) { r.Perms = d.Int(); r.ID.Decode(d) }

// EncodeACLs appends a vector of ACLs (nil as null).
func EncodeACLs(e *Encoder, v []ACL) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	for i := range v {
		v[i].Encode(e)
	}
}

// DecodeACLs reads a vector of ACLs; null gives nil.
func DecodeACLs(d *Decoder) []ACL {
	n := d.Count(12)
	if n < 0 || d.err != nil {
		return nil
	}
	v := make([]ACL, n)
	for i := range v {
		v[i].Decode(d)
	}
	return v
}

// CreateRequest is the body of create, create2 and createContainer.
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
}

func (r *CreateRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
}

func (r *CreateRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
}

// CreateTTLRequest is the body of createTTL.
type CreateTTLRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

func (r *CreateTTLRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
	e.Long(r.TTL)
}

func (r *CreateTTLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
	r.TTL = d.Long()
}

// DeleteRequest is the body of delete.
type DeleteRequest struct {
	Path    string
	Version int32
}

func (r *DeleteRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *DeleteRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// PathWatchRequest is the body of exists, getData, getChildren and getChildren2.
type PathWatchRequest struct {
	Path  string
	Watch bool
}

func (r *PathWatchRequest) Encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }
func (r *PathWatchRequest) Decode(d *Decoder) { r.Path = d.String(); r.Watch = d.Bool() }

// PathRequest is a body holding one path: getACL, sync, getAllChildrenNumber,
// getEphemerals (a prefix), deleteContainer; and the sync and create responses.
type PathRequest struct {
	Path string
}

func (r *PathRequest) Encode(e *Encoder) { e.String(r.Path) }
func (r *PathRequest) Decode(d *Decoder) { r.Path = d.String() }

// SetDataRequest is the body of setData.
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

func (r *SetDataRequest) Encode(e *Encoder) { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }
func (r *SetDataRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
}

// SetACLRequest is the body of setACL.
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (r *SetACLRequest) Encode(e *Encoder) { e.String(r.Path); EncodeACLs(e, r.ACL); e.Int(r.Version) }
func (r *SetACLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.ACL = DecodeACLs(d)
	r.Version = d.Int()
}

// CheckVersionRequest is the body of check (inside multi).
type CheckVersionRequest = DeleteRequest

// ReconfigRequest is the body of reconfig.
type ReconfigRequest struct {
	JoiningServers string
	LeavingServers string
	NewMembers     string
	CurConfigID    int64
	// Null flags record which strings were null on the wire (they mean "absent").
	JoiningNull, LeavingNull, NewMembersNull bool
}

func (r *ReconfigRequest) Encode(e *Encoder) {
	encodeNullable(e, r.JoiningServers, r.JoiningNull)
	encodeNullable(e, r.LeavingServers, r.LeavingNull)
	encodeNullable(e, r.NewMembers, r.NewMembersNull)
	e.Long(r.CurConfigID)
}

func (r *ReconfigRequest) Decode(d *Decoder) {
	r.JoiningServers, r.JoiningNull = d.NullableString()
	r.LeavingServers, r.LeavingNull = d.NullableString()
	r.NewMembers, r.NewMembersNull = d.NullableString()
	r.CurConfigID = d.Long()
}

func encodeNullable(e *Encoder, s string, null bool) {
	if null {
		e.NullString()
	} else {
		e.String(s)
	}
}

// WatchesRequest is the body of checkWatches and removeWatches.
type WatchesRequest struct {
	Path string
	Type WatcherType
}

func (r *WatchesRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(int32(r.Type)) }
func (r *WatchesRequest) Decode(d *Decoder) { r.Path = d.String(); r.Type = WatcherType(d.Int()) }

// AddWatchRequest is the body of addWatch.
type AddWatchRequest struct {
	Path string
	Mode int32
}

func (r *AddWatchRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Mode) }
func (r *AddWatchRequest) Decode(d *Decoder) { r.Path = d.String(); r.Mode = d.Int() }

// AuthPacket is the body of auth (xid -4).
type AuthPacket struct {
	Type   int32
	Scheme string
	Auth   []byte
}

func (r *AuthPacket) Encode(e *Encoder) { e.Int(r.Type); e.String(r.Scheme); e.Buffer(r.Auth) }
func (r *AuthPacket) Decode(d *Decoder) {
	r.Type = d.Int()
	r.Scheme = d.String()
	r.Auth = d.Buffer()
}

// SetWatches is the body of setWatches (101) and, with the persistent lists, setWatches2 (105).
type SetWatches struct {
	RelativeZxid        int64
	DataWatches         []string
	ExistWatches        []string
	ChildWatches        []string
	PersistentWatches   []string
	PersistentRecursive []string
	// V2 selects the setWatches2 layout.
	V2 bool
}

func (r *SetWatches) Encode(e *Encoder) {
	e.Long(r.RelativeZxid)
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
	if r.V2 {
		e.Strings(r.PersistentWatches)
		e.Strings(r.PersistentRecursive)
	}
}

func (r *SetWatches) Decode(d *Decoder) {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
	if r.V2 {
		r.PersistentWatches = d.Strings()
		r.PersistentRecursive = d.Strings()
	}
}

// StatResponse is the reply body of exists, setData and setACL.
type StatResponse struct {
	Stat Stat
}

func (r *StatResponse) Encode(e *Encoder) { r.Stat.Encode(e) }
func (r *StatResponse) Decode(d *Decoder) { r.Stat.Decode(d) }

// Create2Response is the reply body of create2, createContainer and createTTL.
type Create2Response struct {
	Path string
	Stat Stat
}

func (r *Create2Response) Encode(e *Encoder) { e.String(r.Path); r.Stat.Encode(e) }
func (r *Create2Response) Decode(d *Decoder) { r.Path = d.String(); r.Stat.Decode(d) }

// GetDataResponse is the reply body of getData and reconfig.
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

func (r *GetDataResponse) Encode(e *Encoder) { e.Buffer(r.Data); r.Stat.Encode(e) }
func (r *GetDataResponse) Decode(d *Decoder) { r.Data = d.Buffer(); r.Stat.Decode(d) }

// GetACLResponse is the reply body of getACL.
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

func (r *GetACLResponse) Encode(e *Encoder) { EncodeACLs(e, r.ACL); r.Stat.Encode(e) }
func (r *GetACLResponse) Decode(d *Decoder) { r.ACL = DecodeACLs(d); r.Stat.Decode(d) }

// ChildrenResponse is the reply body of getChildren and (with HasStat) getChildren2.
type ChildrenResponse struct {
	Children []string
	Stat     Stat
	HasStat  bool
}

func (r *ChildrenResponse) Encode(e *Encoder) {
	e.Strings(r.Children)
	if r.HasStat {
		r.Stat.Encode(e)
	}
}

func (r *ChildrenResponse) Decode(d *Decoder) {
	r.Children = d.Strings()
	if r.HasStat {
		r.Stat.Decode(d)
	}
}

// StringsResponse is the reply body of getEphemerals.
type StringsResponse struct {
	Strings []string
}

func (r *StringsResponse) Encode(e *Encoder) { e.Strings(r.Strings) }
func (r *StringsResponse) Decode(d *Decoder) { r.Strings = d.Strings() }

// IntResponse is the reply body of getAllChildrenNumber and addWatch (ErrorResponse).
type IntResponse struct {
	N int32
}

func (r *IntResponse) Encode(e *Encoder) { e.Int(r.N) }
func (r *IntResponse) Decode(d *Decoder) { r.N = d.Int() }

// ClientInfo is one entry of a whoAmI reply.
type ClientInfo struct {
	AuthScheme string
	User       string
}

// WhoAmIResponse is the reply body of whoAmI.
type WhoAmIResponse struct {
	Infos []ClientInfo
}

func (r *WhoAmIResponse) Encode(e *Encoder) {
	if r.Infos == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(r.Infos)))
	for _, c := range r.Infos {
		e.String(c.AuthScheme)
		e.String(c.User)
	}
}

func (r *WhoAmIResponse) Decode(d *Decoder) {
	n := d.Count(8)
	if n < 0 {
		r.Infos = nil
		return
	}
	r.Infos = make([]ClientInfo, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		r.Infos = append(r.Infos, ClientInfo{AuthScheme: d.String(), User: d.String()})
	}
}

// WatcherEvent is the body of a notification (xid -1).
type WatcherEvent struct {
	Type  EventType
	State int32
	Path  string
}

func (r *WatcherEvent) Encode(e *Encoder) { e.Int(int32(r.Type)); e.Int(r.State); e.String(r.Path) }
func (r *WatcherEvent) Decode(d *Decoder) {
	r.Type = EventType(d.Int())
	r.State = d.Int()
	r.Path = d.String()
}

// SASLResponse is the reply body of sasl (SetSASLResponse): one token buffer.
type SASLResponse struct {
	Token []byte
}

func (r *SASLResponse) Encode(e *Encoder) { e.Buffer(r.Token) }
func (r *SASLResponse) Decode(d *Decoder) { r.Token = d.Buffer() }
