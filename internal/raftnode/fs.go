package raftnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
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

// zeroChunk is how much zeroFill writes and syncs at a time; zeroes is that
// many zeros.
const zeroChunk = 1 << 20

var zeroes [zeroChunk]byte

// zeroFill writes size zero bytes into f from offset 0, fdatasyncing each
// chunk so that no large burst of dirty pages reaches the disk at once. With
// pause set it then calls pause with the time the chunk took, leaving the
// disk to the active segment at least half the time, and gives up if pause
// returns an error. Filling a 64 MiB segment in one go and syncing it at the
// end raised the active segment's p99 fdatasync from 0.2 ms to 22 ms while it
// ran; chunked and paused, to 0.6 ms (p50 unchanged at 0.1 ms).
func zeroFill(f *os.File, size int64, fs *fsHooks, pause func(time.Duration) error) error {
	for off := int64(0); off < size; off += zeroChunk {
		start := time.Now()
		b := zeroes[:min(zeroChunk, size-off)]
		n, err := fs.pwrite(f, b, off)
		if err == nil && n != len(b) {
			err = fmt.Errorf("short write: %d of %d bytes", n, len(b))
		}
		if err == nil {
			err = fs.datasync(f)
		}
		if err != nil {
			return fmt.Errorf("zero-fill %s at offset %d: %w", f.Name(), off, err)
		}
		if pause != nil && off+zeroChunk < size {
			if err := pause(time.Since(start)); err != nil {
				return err
			}
		}
	}
	return nil
}
