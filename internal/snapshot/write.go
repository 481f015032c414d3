package snapshot

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"

	"metricsd/internal/store"
	"metricsd/internal/wal"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Writer writes one snapshot. Add series in first-insertion order, then
// Commit; Abort discards an unfinished snapshot.
type Writer struct {
	dir, path, tmp string
	seg            uint64
	f              *os.File
	w              *bufio.Writer
	sum            uint32 // CRC-32C of everything written so far
	size           int64

	buf    []byte // records being built
	open   int    // start of the open points record, or -1
	lastTS int64
	cur    uint64 // id of the series being written
	inSer  bool
	series int
	points int
}

// Create starts the snapshot of dir that covers the log before seg.
func Create(dir string, seg uint64) (*Writer, error) {
	path := Path(dir, seg)
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("snapshot: create %s: %w", tmp, err)
	}
	w := &Writer{dir: dir, path: path, tmp: tmp, seg: seg, f: f, w: bufio.NewWriterSize(f, 1<<20), open: -1}
	if err := w.write(appendHeader(nil, seg)); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

// write writes b to the file, folding it into the running checksum.
func (w *Writer) write(b []byte) error {
	w.sum = crc32.Update(w.sum, castagnoli, b)
	w.size += int64(len(b))
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("snapshot: write %s: %w", w.tmp, err)
	}
	return nil
}

// Add appends points of series id, named key, in ascending timestamp
// order. Consecutive calls with the same id continue the series.
func (w *Writer) Add(id uint64, key []byte, pts []store.Point) error {
	if !w.inSer || id != w.cur {
		w.closePoints()
		var start int
		w.buf, start = wal.BeginFrame(w.buf, typeSeries)
		w.buf = binary.AppendUvarint(w.buf, id)
		w.buf = append(w.buf, key...)
		wal.FinishFrame(w.buf, start)
		w.cur, w.inSer = id, true
		w.series++
	}
	for _, p := range pts {
		if w.open >= 0 && len(w.buf)-w.open > maxPointsBody {
			w.closePoints()
		}
		if w.open < 0 {
			w.buf, w.open = wal.BeginFrame(w.buf, typePoints)
			w.buf = binary.AppendUvarint(w.buf, id)
			w.lastTS = 0
		}
		w.buf = binary.AppendVarint(w.buf, p.Timestamp-w.lastTS)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(p.Value))
		w.lastTS = p.Timestamp
	}
	w.points += len(pts)
	if len(w.buf) >= maxPointsBody {
		return w.flushRecords()
	}
	return nil
}

func (w *Writer) closePoints() {
	if w.open >= 0 {
		wal.FinishFrame(w.buf, w.open)
		w.open = -1
	}
}

// flushRecords writes the finished records out, keeping an open points
// record (moved to the start of the buffer).
func (w *Writer) flushRecords() error {
	end := len(w.buf)
	if w.open >= 0 {
		end = w.open
	}
	if err := w.write(w.buf[:end]); err != nil {
		return err
	}
	n := copy(w.buf, w.buf[end:])
	w.buf = w.buf[:n]
	if w.open >= 0 {
		w.open = 0
	}
	return nil
}

// Commit ends the snapshot and makes it durable under its final name:
// write, fsync, close, rename, fsync the directory.
func (w *Writer) Commit() (Info, error) {
	w.closePoints()
	var start int
	w.buf, start = wal.BeginFrame(w.buf, typeEnd)
	w.buf = binary.AppendUvarint(w.buf, uint64(w.series))
	w.buf = binary.AppendUvarint(w.buf, uint64(w.points))
	wal.FinishFrame(w.buf, start)
	if err := w.flushRecords(); err != nil {
		w.Abort()
		return Info{}, err
	}
	if err := w.write(binary.LittleEndian.AppendUint32(nil, w.sum)); err != nil {
		w.Abort()
		return Info{}, err
	}
	if err := w.finish(); err != nil {
		w.Abort()
		return Info{}, err
	}
	return Info{Path: w.path, Segment: w.seg, Series: w.series, Points: w.points, Bytes: w.size}, nil
}

// finish flushes, fsyncs and closes the temporary file, then renames it.
func (w *Writer) finish() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("snapshot: write %s: %w", w.tmp, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("snapshot: fsync %s: %w", w.tmp, err)
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("snapshot: close %s: %w", w.tmp, err)
	}
	if err := os.Rename(w.tmp, w.path); err != nil {
		return fmt.Errorf("snapshot: rename %s: %w", w.tmp, err)
	}
	if err := wal.SyncDir(filepath.Dir(w.path)); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// Abort discards the snapshot being written. It is harmless after a
// failed Commit. Its own errors are not returned: it runs on a failure
// path whose error is already being reported, and a .tmp file it leaves is
// deleted at the next startup.
func (w *Writer) Abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	os.Remove(w.tmp)
}
