package proto

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrInvalidPath is returned (wrapped) by ValidatePath.
var ErrInvalidPath = errors.New("invalid path")

type pathError struct{ path, why string }

func (e *pathError) Error() string { return "invalid path \"" + e.path + "\": " + e.why }
func (e *pathError) Unwrap() error { return ErrInvalidPath }

// ValidatePath applies ZooKeeper's znode path rules (PathUtils.validatePath). With sequential
// set the path is validated as if a sequence number were appended, so "/parent/" is legal.
func ValidatePath(path string, sequential bool) error {
	if sequential {
		path += "1"
	}
	if path == "" {
		return &pathError{path, "path length must be > 0"}
	}
	if path[0] != '/' {
		return &pathError{path, "path must start with / character"}
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return &pathError{path, "path must not end with / character"}
	}
	if !utf8.ValidString(path) {
		return &pathError{path, "invalid UTF-8"}
	}
	prev := '/'
	compStart := 1 // byte offset where the current component starts
	for i, c := range path {
		if i == 0 {
			continue
		}
		switch {
		case c == 0:
			return &pathError{path, "null character not allowed"}
		case c == '/' && prev == '/':
			return &pathError{path, "empty node name specified"}
		case c > 0 && c < 0x20, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0 && c <= 0xffff:
			return &pathError{path, "invalid character"}
		}
		if c == '/' {
			if isDots(path[compStart:i]) {
				return &pathError{path, "relative paths not allowed"}
			}
			compStart = i + 1
		}
		prev = c
	}
	if isDots(path[compStart:]) {
		return &pathError{path, "relative paths not allowed"}
	}
	return nil
}

func isDots(comp string) bool { return comp == "." || comp == ".." }

// Parent returns the parent of a valid path ("/" for top-level nodes and for "/").
func Parent(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/"
	}
	return path[:i]
}

// Base returns the last component of a valid path ("" for "/").
func Base(path string) string {
	return path[strings.LastIndexByte(path, '/')+1:]
}
