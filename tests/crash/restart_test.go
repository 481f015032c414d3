package crash

import (
	"strings"
	"testing"
)

// session is the protocol page's example session and more of what a
// restart must keep byte for byte: overwrites, out-of-order timestamps,
// every value form of Python's float(), keys in first-insertion order.
var session = []string{
	"put test_key 12.0 1503319740",
	"put test_key 13.0 1503319739",
	"put another_key 10 1503319739",
	"put test_key 14.5 1503319740",
	"put ünïcode.key -0.0 1",
	"put specials nan 1",
	"put specials -inf 2",
	"put specials 1e400 3",
	"put specials 1_000.5 4",
	"put specials .5 5",
	"put specials 5. 6",
	"put specials 1e-7 7",
	"put specials 123456789012345678 8",
	"put neg_ts 1 -5",
	"put neg_ts 2 -9223372036854775808",
	"put neg_ts 3 9223372036854775807",
	"put another_key 11 1503319738",
}

// answers sends session's puts (each must be answered ok) and returns the
// answers to `get *` and to a get of every key.
func answers(t *testing.T, addr string, puts []string) []string {
	t.Helper()
	c, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.c.Close()
	for _, p := range puts {
		if ans, err := c.do(p); err != nil || ans != "ok\n\n" {
			t.Fatalf("%q answered %q, %v", p, ans, err)
		}
	}
	var out []string
	for _, q := range []string{"get *", "get test_key", "get another_key", "get ünïcode.key", "get specials", "get neg_ts", "get missing"} {
		ans, err := c.do(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, q+"\n"+ans)
	}
	return out
}

func TestRestartAnswersByteForByte(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		stop  func(t *testing.T, s *server)
	}{
		{"SIGTERM, fsync interval", []string{"--fsync", "interval"}, func(t *testing.T, s *server) { s.stop(t) }},
		{"SIGTERM, fsync never", []string{"--fsync", "never"}, func(t *testing.T, s *server) { s.stop(t) }},
		{"SIGKILL, fsync always", []string{"--fsync", "always"}, func(t *testing.T, s *server) { s.Kill() }},
		{"SIGKILL after a snapshot", []string{"--fsync", "always", "--snapshot-interval", "1ms"}, func(t *testing.T, s *server) { s.Kill() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--data-dir", t.TempDir()}, tt.flags...)
			srv := startServer(t, args...)
			before := answers(t, srv.addr, session)
			if !strings.Contains(before[0], "test_key 13.0 1503319739\ntest_key 14.5 1503319740\nanother_key 11.0 1503319738\n") {
				t.Fatalf("unexpected answer before the restart:\n%s", before[0])
			}
			tt.stop(t, srv)
			srv = startServer(t, args...)
			after := answers(t, srv.addr, nil)
			for i := range before {
				if after[i] != before[i] {
					t.Errorf("after restart:\n%q\nbefore:\n%q", after[i], before[i])
				}
			}
			srv.stop(t)
		})
	}
}

func TestSecondServerOnOneDataDir(t *testing.T) {
	dir := t.TempDir()
	first := startServer(t, "--data-dir", dir)
	_, err := tryStart(t, "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "in use by another metricsd") {
		t.Fatalf("second server: %v; want it to exit saying the directory is in use", err)
	}
	first.stop(t)
	startServer(t, "--data-dir", dir).stop(t) // the lock went with the first
}
