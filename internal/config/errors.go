package config

import (
	"errors"
	"strconv"
	"strings"
)

// Error is the type of every error Parse and Load return. It names where the
// offending value came from so an operator can find it.
type Error struct {
	// File is the configuration file, the environment variable (JVMFLAGS,
	// ZOO_MY_ID, ...) or the flag the value came from; "" when unknown.
	File string
	// Line is the 1-based line in File, 0 when the error is not about one line.
	Line int
	// Key is the property the error is about, "" when it is about the whole
	// configuration.
	Key string
	// Err is the cause; errors.Is works with the Err* values of this package.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Validation failures. The wording is ZooKeeper's where it has one (with a
// lower-case first letter), so messages found on the web still match.
var (
	ErrDataDirNotSet           = errors.New("dataDir is not set")
	ErrTickTimeNotSet          = errors.New("tickTime is not set")
	ErrInitLimitNotSet         = errors.New("initLimit is not set")
	ErrSyncLimitNotSet         = errors.New("syncLimit is not set")
	ErrMyIDMissing             = errors.New("myid file is missing")
	ErrNotInPeerList           = errors.New("not in the peer list")
	ErrClientPortNotSet        = errors.New("clientPort is not set")
	ErrClientPortAddressNoPort = errors.New("clientPortAddress is set but clientPort is not set")
	ErrSessionTimeouts         = errors.New("minSessionTimeout must not be larger than maxSessionTimeout")
	ErrNotANumber              = errors.New("not a number")
	ErrNotABoolean             = errors.New("not a boolean")
	ErrOutOfRange              = errors.New("out of range")
	ErrServerFormat            = errors.New("does not have the form server_config or server_config;client_config" +
		" where server_config is the pipe separated list of host:port:port or host:port:port:type" +
		" and client_config is port or host:port")
	ErrSamePorts         = errors.New("client and election port must be different")
	ErrDuplicateServerID = errors.New("duplicate server id")
	ErrBadServerID       = errors.New("server id must be between 1 and 255")
	ErrQuorum            = errors.New("invalid quorum")
	ErrSyntax            = errors.New("syntax error")
)
