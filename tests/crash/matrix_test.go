package crash

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// expected is what one client's acknowledged puts must leave: the last
// acknowledged value of every (key, timestamp), keys in first-insertion
// order.
type expected struct {
	order []string
	cells map[string]map[int64]string
}

func (e *expected) put(key string, ts int64, v string) {
	if e.cells[key] == nil {
		e.cells[key] = map[int64]string{}
		e.order = append(e.order, key)
	}
	e.cells[key][ts] = v
}

// answer is the `get *` answer e calls for.
func (e *expected) answer() string {
	var b strings.Builder
	b.WriteString("ok\n")
	for _, key := range e.order {
		stamps := make([]int64, 0, len(e.cells[key]))
		for ts := range e.cells[key] {
			stamps = append(stamps, ts)
		}
		slices.Sort(stamps)
		for _, ts := range stamps {
			fmt.Fprintf(&b, "%s %s %d\n", key, e.cells[key][ts], ts)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// TestCrashMatrix is issue #10's matrix: every fsync mode × {no limit,
// --max-series, --retention} × {a snapshot before the kill or not}. A
// client puts (overwrites, late points, puts the limits refuse), the
// server is killed with SIGKILL, and the restart must start and hold every
// acknowledged point with its last acknowledged value and nothing that
// was refused. Timestamps are relative to now, as retention follows the
// clock.
func TestCrashMatrix(t *testing.T) {
	now := time.Now().Unix()
	limits := []struct {
		name  string
		flags []string
		// refused reports whether the limit refuses a put of key at ts
		// (keys are k0, k1...).
		refused func(key string, ts int64) bool
	}{
		{"no limit", nil, func(string, int64) bool { return false }},
		{"max series", []string{"--max-series", "3"}, func(key string, _ int64) bool { return key >= "k3" }},
		{"retention", []string{"--retention", "1h"}, func(_ string, ts int64) bool { return ts < now-3600 }},
	}
	for _, mode := range []string{"always", "interval", "never"} {
		for _, lim := range limits {
			for _, snap := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/snapshot=%v", mode, lim.name, snap), func(t *testing.T) {
					crashCase(t, mode, lim.flags, lim.refused, snap, now)
				})
			}
		}
	}
}

func crashCase(t *testing.T, mode string, limit []string, refused func(string, int64) bool, snap bool, now int64) {
	dir := t.TempDir()
	flags := append([]string{"--data-dir", dir, "--fsync", mode}, limit...)
	if snap {
		flags = append(flags, "--snapshot-interval", "20ms")
	} else {
		flags = append(flags, "--snapshot-interval", "-1s")
	}
	srv := startServer(t, flags...)
	c, err := dial(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.c.Close()
	want := &expected{cells: map[string]map[int64]string{}}
	n := 0
	put := func(key string, ts int64) {
		t.Helper()
		n++
		v := strconv.Itoa(n) + ".5"
		ans, err := c.do(fmt.Sprintf("put %s %s %d", key, v, ts))
		switch {
		case err != nil:
			t.Fatal(err)
		case refused(key, ts):
			if !strings.HasPrefix(ans, "error\n") {
				t.Fatalf("put %s %d answered %q, want a refusal", key, ts, ans)
			}
		case ans != "ok\n\n":
			t.Fatalf("put %s %d answered %q", key, ts, ans)
		default:
			want.put(key, ts, v)
		}
	}
	round := func(stamp int64) {
		for k := range 5 {
			key := "k" + strconv.Itoa(k)
			put(key, stamp)
			put(key, stamp-7200) // refused under --retention
			put(key, stamp-5)    // late
			put(key, stamp)      // an overwrite
		}
	}
	round(now)
	if snap {
		// A snapshot that covers what the first round logged: wait until
		// the segments it was logged in are gone, putting meanwhile so
		// that each snapshot has something new.
		segs := walSegments(t, dir)
		last := segs[len(segs)-1]
		deadline := time.Now().Add(testTimeout)
		for ts := now + 1; walSegments(t, dir)[0] <= last; ts++ {
			if time.Now().After(deadline) {
				t.Fatalf("no snapshot covered segment %d in %v", last, testTimeout)
			}
			put("k0", ts)
		}
	}
	round(now + 1800) // after the snapshot, if any: the log alone has it
	srv.Kill()

	srv, err = tryStart(t, flags...)
	if err != nil {
		t.Fatalf("restart after SIGKILL: %v", err)
	}
	if got := getAll(t, srv.addr); got != want.answer() {
		t.Fatalf("after restart get * answered\n%s\nwant\n%s", got, want.answer())
	}
	srv.stop(t)
}
