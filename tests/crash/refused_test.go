package crash

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// walSegments returns the indexes of the log segments in dir's wal
// directory, ascending.
func walSegments(t *testing.T, dir string) []uint64 {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	var segs []uint64
	for _, e := range ents {
		if n, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && len(e.Name()) == 8 {
			segs = append(segs, n)
		}
	}
	slices.Sort(segs)
	return segs
}

// TestRefusedKeyThenSnapshotThenKill is issue #10's reproduction: a put
// that a store limit refuses for a new key, then a snapshot that deletes
// the log segment the refusal was logged in, then a later put of the same
// key, then SIGKILL. The restart must succeed and hold every acknowledged
// point. Before the store owned the series IDs, the durable engine logged
// a series record for the refused key, the snapshot dropped it, the later
// put was logged as a point of an unknown series, and the restart failed
// with "malformed record: point of unknown series 2". Timestamps are
// relative to now, so that the case keeps its meaning when retention is
// measured against the wall clock.
func TestRefusedKeyThenSnapshotThenKill(t *testing.T) {
	now := time.Now().Unix()
	tests := []struct {
		name  string
		limit []string
		// refusedTS is the timestamp of the refused put of b; laterOK
		// says whether the later put of b (at now) is accepted.
		refusedTS int64
		laterOK   bool
	}{
		{"retention", []string{"--retention", "1h"}, now - 7200, true},
		{"max series", []string{"--max-series", "1"}, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			flags := append([]string{"--data-dir", dir, "--fsync", "always", "--snapshot-interval", "20ms"}, tt.limit...)
			srv := startServer(t, flags...)
			c, err := dial(srv.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.c.Close()
			if err := c.put("a", "1", now); err != nil {
				t.Fatal(err)
			}
			if ans, err := c.do("put b 1 " + strconv.FormatInt(tt.refusedTS, 10)); err != nil || !strings.HasPrefix(ans, "error\n") {
				t.Fatalf("refused put of b answered %q, %v; want an error", ans, err)
			}
			// Whatever the refusal logged is in a segment up to the
			// newest one now; wait until snapshots have deleted it.
			segs := walSegments(t, dir)
			last := segs[len(segs)-1]
			ts := now
			deadline := time.Now().Add(testTimeout)
			for {
				ts++
				if err := c.put("a", "2", ts); err != nil {
					t.Fatal(err)
				}
				if segs := walSegments(t, dir); len(segs) > 0 && segs[0] > last {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no snapshot deleted segment %d in %v:\n%s", last, testTimeout, srv.Log())
				}
			}
			want := "ok\n"
			ans, err := c.do("put b 2 " + strconv.FormatInt(now, 10))
			switch {
			case err != nil:
				t.Fatal(err)
			case tt.laterOK && ans != "ok\n\n":
				t.Fatalf("later put of b answered %q, want ok", ans)
			case !tt.laterOK && !strings.HasPrefix(ans, "error\n"):
				t.Fatalf("later put of b answered %q, want an error", ans)
			}
			want += "a 1.0 " + strconv.FormatInt(now, 10) + "\n"
			for x := now + 1; x <= ts; x++ {
				want += "a 2.0 " + strconv.FormatInt(x, 10) + "\n"
			}
			if tt.laterOK {
				want += "b 2.0 " + strconv.FormatInt(now, 10) + "\n"
			}
			want += "\n"
			srv.Kill()

			srv, err = tryStart(t, flags...)
			if err != nil {
				t.Fatalf("restart after SIGKILL: %v", err)
			}
			if got := getAll(t, srv.addr); got != want {
				t.Fatalf("after restart get * answered\n%q\nwant\n%q", got, want)
			}
			srv.stop(t)
		})
	}
}
