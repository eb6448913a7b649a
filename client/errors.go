package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/paddock/paddock/internal/proto"
)

// Code is a ZooKeeper error code (KeeperException.Code), as carried in a reply header or in
// one result of a multi.
type Code int32

// String returns ZooKeeper's name for the code ("NONODE", "BADVERSION", ...).
func (c Code) String() string { return proto.Code(c).String() }

// Error is a ZooKeeper error: a code from the server, or one the client produces itself
// (ErrConnectionLoss, ErrSessionExpired). Every known code has one package-level *Error value
// (ErrNoNode, ErrNodeExists, ...), so errors.Is(err, client.ErrNoNode) works on anything an
// operation returns; errors.As gives the *Error, and so the code, of any error of this kind,
// including codes this package has no variable for.
type Error struct {
	Code Code
	msg  string
}

// Error describes the error.
func (e *Error) Error() string { return "client: " + e.msg }

// Is reports whether target is an *Error with the same code, so that an *Error built for an
// unknown code still matches one built later for the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// The errors of ZooKeeper's codes. The mapping from codes lives here only (errorOf).
var (
	ErrSystemError              = newError(proto.CodeSystemError, "system error")
	ErrRuntimeInconsistency     = newError(proto.CodeRuntimeInconsistency, "runtime inconsistency (an earlier op of the multi failed)")
	ErrDataInconsistency        = newError(proto.CodeDataInconsistency, "data inconsistency")
	ErrConnectionLoss           = newError(proto.CodeConnectionLoss, "connection lost before the reply (the request may or may not have been applied)")
	ErrMarshallingError         = newError(proto.CodeMarshallingError, "marshalling error")
	ErrUnimplemented            = newError(proto.CodeUnimplemented, "operation not implemented by the server")
	ErrOperationTimeout         = newError(proto.CodeOperationTimeout, "operation timeout")
	ErrBadArguments             = newError(proto.CodeBadArguments, "bad arguments")
	ErrUnknownSession           = newError(proto.CodeUnknownSession, "unknown session")
	ErrNewConfigNoQuorum        = newError(proto.CodeNewConfigNoQuorum, "no quorum of the new configuration is connected and up to date")
	ErrReconfigInProgress       = newError(proto.CodeReconfigInProgress, "another reconfiguration is in progress")
	ErrAPIError                 = newError(proto.CodeAPIError, "API error")
	ErrNoNode                   = newError(proto.CodeNoNode, "node does not exist")
	ErrNoAuth                   = newError(proto.CodeNoAuth, "not authorized")
	ErrBadVersion               = newError(proto.CodeBadVersion, "version does not match")
	ErrNoChildrenForEphemerals  = newError(proto.CodeNoChildrenForEphemerals, "ephemeral nodes may not have children")
	ErrNodeExists               = newError(proto.CodeNodeExists, "node already exists")
	ErrNotEmpty                 = newError(proto.CodeNotEmpty, "node has children")
	ErrSessionExpired           = newError(proto.CodeSessionExpired, "session expired")
	ErrInvalidCallback          = newError(proto.CodeInvalidCallback, "invalid callback")
	ErrInvalidACL               = newError(proto.CodeInvalidACL, "invalid ACL")
	ErrAuthFailed               = newError(proto.CodeAuthFailed, "authentication failed")
	ErrSessionMoved             = newError(proto.CodeSessionMoved, "session moved to another server")
	ErrNotReadOnly              = newError(proto.CodeNotReadOnly, "not a read-only call (the server is read-only)")
	ErrEphemeralOnLocalSession  = newError(proto.CodeEphemeralOnLocalSession, "ephemeral node on a local session")
	ErrNoWatcher                = newError(proto.CodeNoWatcher, "no such watcher")
	ErrRequestTimeout           = newError(proto.CodeRequestTimeout, "request timeout")
	ErrReconfigDisabled         = newError(proto.CodeReconfigDisabled, "reconfiguration is disabled")
	ErrSessionClosedRequireSASL = newError(proto.CodeSessionClosedRequireSASL, "session closed: SASL authentication required")
	ErrQuotaExceeded            = newError(proto.CodeQuotaExceeded, "quota exceeded")
	ErrThrottledOp              = newError(proto.CodeThrottledOp, "operation throttled")
)

// Errors of the client itself, with no ZooKeeper code.
var (
	// ErrClosed is returned by operations on a client after Close, and for requests that
	// were still waiting when Close was called.
	ErrClosed = errors.New("client: closed")
	// ErrInvalidPath wraps a path that breaks ZooKeeper's path rules; nothing was sent.
	ErrInvalidPath = errors.New("client: invalid path")
	// ErrBadConnectString is returned (wrapped) by Connect for a connect string it cannot parse.
	ErrBadConnectString = errors.New("client: bad connect string")
	// ErrProtocol is the error (wrapped) a connection dies of when the server breaks the
	// protocol: a malformed frame, a reply out of order. The client reconnects.
	ErrProtocol = errors.New("client: protocol error")
)

var codeErrors = map[proto.Code]*Error{}

func newError(c proto.Code, msg string) *Error {
	e := &Error{Code: Code(c), msg: msg}
	codeErrors[c] = e
	return e
}

// errorOf returns the error for a code: nil for OK, the package's variable for a known code,
// and a new *Error otherwise.
func errorOf(c proto.Code) error {
	if c == proto.CodeOK {
		return nil
	}
	if e, ok := codeErrors[c]; ok {
		return e
	}
	return &Error{Code: Code(c), msg: fmt.Sprintf("error code %d", int32(c))}
}

// CodeOf returns the ZooKeeper code of err: 0 for nil, the code of an *Error found with
// errors.As, and ErrSystemError's code (-1) for any other error.
func CodeOf(err error) Code {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Code(proto.CodeSystemError)
}

// OpError records the operation and path of a failed call. Unwrap gives the cause (an
// *Error such as ErrNoNode), so errors.Is and errors.As see through it.
type OpError struct {
	Op   string // the ZooKeeper operation: "create", "getData", ...
	Path string // the path as the caller gave it (without the chroot); "" for ops without one
	Err  error
}

// Error describes the error with its operation and path.
func (e *OpError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "client: ")
	if e.Path == "" {
		return "client: " + e.Op + ": " + msg
	}
	return "client: " + e.Op + " " + e.Path + ": " + msg
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// MultiError is the error of a multi that failed as a whole: nothing was applied. Index is the
// op that failed and Err its error; Unwrap gives Err, so errors.Is(err, ErrNodeExists) works.
// The per-op errors are in the results Multi returns alongside.
type MultiError struct {
	Index int
	Err   error
}

// Error describes the error with the index of the failing op.
func (e *MultiError) Error() string {
	return fmt.Sprintf("multi: op %d: %v", e.Index, e.Err)
}

// Unwrap returns the failing op's error.
func (e *MultiError) Unwrap() error { return e.Err }
