//go:build !linux

package raftnode

import "os"

// fdatasync falls back to a full fsync where fdatasync is not available.
func fdatasync(f *os.File) error { return f.Sync() }

// preallocate gives f its full size as a sparse file.
func preallocate(f *os.File, size int64) error { return extend(f, size) }
