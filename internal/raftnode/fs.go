package raftnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// fsHooks is the seam through which every durability-relevant system call
// goes. Production code uses defaultFS; tests substitute functions to inject
// failures (a failing fdatasync, a full disk) and check that the node stops.
type fsHooks struct {
	// pwrite writes b at off in f.
	pwrite func(f *os.File, b []byte, off int64) (int, error)
	// datasync flushes f's data and the metadata needed to read it back
	// (fdatasync). Used for WAL segments.
	datasync func(f *os.File) error
	// fsync flushes f completely. Used for snapshot files and directories.
	fsync func(f *os.File) error
}

var defaultFS = fsHooks{
	pwrite:   func(f *os.File, b []byte, off int64) (int, error) { return f.WriteAt(b, off) },
	datasync: fdatasync,
	fsync:    func(f *os.File) error { return f.Sync() },
}

// syncDir makes the creation, rename or removal of entries in dir durable.
func (h *fsHooks) syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = h.fsync(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// removeTemps deletes leftovers of interrupted file creations in dir.
func removeTemps(dir string) error {
	tmps, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if err != nil {
		return err
	}
	for _, p := range tmps {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// extend grows f to size bytes (sparse) if it is shorter.
func extend(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < size {
		return f.Truncate(size)
	}
	return nil
}
