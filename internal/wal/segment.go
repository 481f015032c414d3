package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// File is what the log needs of a segment file. It exists so that tests can
// wrap the real file and make writes, syncs or truncations fail.
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// OpenFileFunc opens a segment file; os.OpenFile satisfies it through
// OpenOS.
type OpenFileFunc func(name string, flag int, perm os.FileMode) (File, error)

// OpenOS opens a segment file with os.OpenFile.
func OpenOS(name string, flag int, perm os.FileMode) (File, error) {
	return os.OpenFile(name, flag, perm)
}

// SegmentName is the file name of segment index: the zero-padded decimal
// index, so that names sort in log order.
func SegmentName(index uint64) string {
	return NumberedName("", index)
}

// NumberedName is prefix followed by n zero-padded to eight digits: the
// names of segments (no prefix) and of snapshots.
func NumberedName(prefix string, n uint64) string {
	return fmt.Sprintf("%s%08d", prefix, n)
}

// ParseNumbered returns the number in a name that NumberedName(prefix, n)
// gives, or false for any other name.
func ParseNumbered(name, prefix string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, prefix)
	if !ok || len(digits) < 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || NumberedName(prefix, n) != name {
		return 0, false
	}
	return n, true
}

// parseSegmentName returns the index named by name, or false when name is
// not a segment's.
func parseSegmentName(name string) (uint64, bool) { return ParseNumbered(name, "") }

// ListNumbered returns the numbers of the regular files in dir named by
// NumberedName(prefix, n), ascending. Other files are left alone.
func ListNumbered(dir, prefix string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var ns []uint64
	for _, e := range entries {
		if n, ok := ParseNumbered(e.Name(), prefix); ok && e.Type().IsRegular() {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	return ns, nil
}

// listSegments returns the indexes of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	segs, err := ListNumbered(dir, "")
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	return segs, nil
}

// SyncDir fsyncs a directory, which makes the creation, renaming and
// removal of its entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("close directory %s: %w", dir, err)
	}
	return nil
}

// segmentPath is the path of segment index in dir.
func segmentPath(dir string, index uint64) string {
	return filepath.Join(dir, SegmentName(index))
}
