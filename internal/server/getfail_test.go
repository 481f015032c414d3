package server

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"metricsd/internal/store"
)

// failingGets is a storage whose reads fail after visiting some points, as
// a cluster node's do when a partition stays unanswerable mid-answer.
type failingGets struct {
	*store.Memory
	before int // points visited before the failure
}

var errReadFailed = errors.New("partition unanswerable")

func (f failingGets) Get(_ []byte, fn store.VisitFunc) error { return f.All(fn) }

func (f failingGets) All(fn store.VisitFunc) error {
	for i := range f.before {
		if err := fn([]byte("k"), []store.Point{{Timestamp: int64(i), Value: 1}}); err != nil {
			return err
		}
	}
	return errReadFailed
}

// TestGetFailingMidAnswerClosesConnection: a get whose storage fails
// after the `ok` header (the header is written first) is not turned into
// an error: the connection closes after a correct beginning, and the
// answer never ends as if it were complete.
func TestGetFailingMidAnswerClosesConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		req    string
		before int
	}{
		{"get * before any point", "get *\n", 0},
		{"get * after points", "get *\n", 3},
		{"get key after points", "get k\n", 2},
		{"get * after more than a write buffer", "get *\n", writeBufferSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startWith(t, Config{MaxLineLength: 1024, Storage: failingGets{store.NewMemory(), tc.before}})
			c := ts.dial(t)
			c.SetDeadline(time.Now().Add(testTimeout))
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var full strings.Builder
			full.WriteString("ok\n")
			for i := range tc.before {
				full.WriteString("k 1.0 " + strconv.Itoa(i) + "\n")
			}
			if !strings.HasPrefix(full.String(), string(got)) || strings.HasSuffix(string(got), "\n\n") {
				t.Fatalf("answer %.80q... (%d bytes) is not a beginning of %.80q... cut short", got, len(got), full.String())
			}
		})
	}
}
