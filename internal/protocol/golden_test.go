package protocol

import (
	"bufio"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenRow is one line of a testdata golden file, split into fields.
type goldenRow struct {
	line   int
	fields []string
}

// readGolden reads testdata/name, written by a generator script beside it,
// and splits every line on sep. The files are committed so that the tests
// need no Python; the scripts say how to regenerate them.
func readGolden(t *testing.T, name, sep string) []goldenRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("golden file: %v (regenerate with testdata/gen_*.py)", err)
	}
	defer f.Close()
	var rows []goldenRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		rows = append(rows, goldenRow{line: n, fields: strings.Split(sc.Text(), sep)})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if len(rows) < 1000 {
		t.Fatalf("%s has only %d rows: truncated?", name, len(rows))
	}
	return rows
}

// mustHex decodes a hex field of a golden row.
func mustHex(t *testing.T, row goldenRow, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("line %d: bad hex %q: %v", row.line, s, err)
	}
	return b
}
