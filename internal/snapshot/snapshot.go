package snapshot

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"metricsd/internal/wal"
)

// Format constants; see the package documentation.
const (
	magic      = "MDSNAP\x00\x01"
	version    = 1
	headerSize = 28
	prefix     = "snapshot-"
	tmpSuffix  = ".tmp"
)

// Record types. Type 2 is not used: early drafts stored raw points.
const (
	typeSeries byte = 1
	typeEnd    byte = 3
	typeChunks byte = 4
)

// maxChunksBody is where a chunks record is ended and a new one begun, so
// that a record stays small however long the series.
const maxChunksBody = 64 << 10

// Info describes a snapshot file.
type Info struct {
	Path    string
	Segment uint64 // the first log segment it does not cover
	Series  int
	Chunks  int
	Points  int
	Bytes   int64
	// LastID is the highest series id the engine had given when the
	// snapshot was written (Writer.SetLastID), deleted series included;
	// 0 in a snapshot that does not say.
	LastID uint64
}

// Name is the file name of the snapshot that covers the log before segment
// seg.
func Name(seg uint64) string { return wal.NumberedName(prefix, seg) }

// parseName returns the segment a snapshot file name says it covers.
func parseName(name string) (uint64, bool) { return wal.ParseNumbered(name, prefix) }

// List returns the segments covered by the snapshots in dir, ascending.
// Leftover temporary files are not listed.
func List(dir string) ([]uint64, error) {
	segs, err := wal.ListNumbered(dir, prefix)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return segs, nil
}

// Path is the path of the snapshot in dir that covers the log before seg.
func Path(dir string, seg uint64) string {
	return filepath.Join(dir, Name(seg))
}

// RemoveTemp deletes the temporary files of interrupted snapshot writes.
func RemoveTemp(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("snapshot: list %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if base, ok := strings.CutSuffix(name, tmpSuffix); ok {
			if _, ok := parseName(base); !ok {
				continue
			}
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("snapshot: remove interrupted %s: %w", name, err)
			}
		}
	}
	return nil
}

// RemoveBefore deletes the snapshots in dir that cover less than seg.
func RemoveBefore(dir string, seg uint64) error {
	segs, err := List(dir)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s >= seg {
			break
		}
		if err := os.Remove(Path(dir, s)); err != nil {
			return fmt.Errorf("snapshot: remove old %s: %w", Name(s), err)
		}
	}
	return nil
}

// appendHeader appends the file header for a snapshot covering the log
// before seg.
func appendHeader(dst []byte, seg uint64) []byte {
	start := len(dst)
	dst = append(dst, magic...)
	dst = binary.LittleEndian.AppendUint32(dst, version)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint64(dst, seg)
	return binary.LittleEndian.AppendUint32(dst, crc(dst[start:]))
}
