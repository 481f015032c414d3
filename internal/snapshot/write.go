package snapshot

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"metricsd/internal/chunkenc"
	"metricsd/internal/wal"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Writer writes one snapshot. Add series in first-insertion order, then
// Commit; Abort discards an unfinished snapshot.
type Writer struct {
	path, tmp string
	seg       uint64
	f         *os.File
	w         *bufio.Writer
	sum       uint32 // CRC-32C of everything written so far
	size      int64

	buf    []byte // records being built
	series int
	chunks int
	points int
	lastID uint64
}

// SetLastID records id, the highest series id given so far, in the end
// record, so that the series ids a restart gives out follow it even when
// the series that had it was deleted.
func (w *Writer) SetLastID(id uint64) { w.lastID = id }

// Create starts the snapshot of dir that covers the log before seg.
func Create(dir string, seg uint64) (*Writer, error) {
	path := Path(dir, seg)
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("snapshot: create %s: %w", tmp, err)
	}
	w := &Writer{path: path, tmp: tmp, seg: seg, f: f, w: bufio.NewWriterSize(f, 1<<20)}
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

// Add appends series id, named key, with its encoded chunks in ascending
// timestamp order. Each series is added once.
func (w *Writer) Add(id uint64, key []byte, chunks [][]byte) error {
	var start int
	w.buf, start = wal.BeginFrame(w.buf[:0], typeSeries)
	w.buf = binary.AppendUvarint(w.buf, id)
	w.buf = append(w.buf, key...)
	wal.FinishFrame(w.buf, start)
	w.series++
	open := -1
	for _, c := range chunks {
		_, n, err := chunkenc.Header(c)
		if err != nil {
			return fmt.Errorf("snapshot: series %q: %w", key, err)
		}
		if open >= 0 && len(w.buf)-open > maxChunksBody {
			wal.FinishFrame(w.buf, open)
			open = -1
		}
		if open < 0 {
			w.buf, open = wal.BeginFrame(w.buf, typeChunks)
			w.buf = binary.AppendUvarint(w.buf, id)
		}
		w.buf = binary.AppendUvarint(w.buf, uint64(len(c)))
		w.buf = append(w.buf, c...)
		w.chunks++
		w.points += n
	}
	if open >= 0 {
		wal.FinishFrame(w.buf, open)
	}
	return w.write(w.buf)
}

// Commit ends the snapshot and makes it durable under its final name:
// write, fsync, close, rename, fsync the directory.
func (w *Writer) Commit() (Info, error) {
	var start int
	w.buf, start = wal.BeginFrame(w.buf[:0], typeEnd)
	w.buf = binary.AppendUvarint(w.buf, uint64(w.series))
	w.buf = binary.AppendUvarint(w.buf, uint64(w.chunks))
	w.buf = binary.AppendUvarint(w.buf, uint64(w.points))
	if w.lastID > 0 {
		w.buf = binary.AppendUvarint(w.buf, w.lastID)
	}
	wal.FinishFrame(w.buf, start)
	err := w.write(w.buf)
	if err == nil {
		err = w.write(binary.LittleEndian.AppendUint32(nil, w.sum))
	}
	if err == nil {
		err = w.finish()
	}
	if err != nil {
		w.Abort()
		return Info{}, err
	}
	return Info{Path: w.path, Segment: w.seg, Series: w.series, Chunks: w.chunks, Points: w.points, Bytes: w.size, LastID: w.lastID}, nil
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
