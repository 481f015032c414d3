package cluster

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"metricsd/internal/natstest"
)

// TestPipelinedSessionAcrossNodes: one session sends, in one write, many
// overwrites of the same (key, timestamp) and puts of many new keys, with
// a few gets among them, to one node of three; the same bytes go to a
// single in-memory server. Every answer is the single server's, byte for
// byte, and afterwards every get on every node answers the last value and
// `get *` lists the keys in first-insertion order: the puts were pipelined
// into shared batches, in order, and their keys' order entries were
// created in order.
func TestPipelinedSessionAcrossNodes(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := startNodes(t, c, 3)
	var req strings.Builder
	requests := 0
	line := func(format string, args ...any) {
		fmt.Fprintf(&req, format+"\n", args...)
		requests++
	}
	const keys, rounds = 200, 4
	for i := range keys {
		line("put hot.key %d.5 1150864247", i)
		for r := range rounds {
			line("put many.%d %d 1150864%03d", i, i*rounds+r, r%2) // overwrites of two timestamps
		}
		if i%50 == 49 {
			line("get hot.key")
			line("get many.%d", i)
		}
	}
	line("get *")
	model := pipeline(t, dial(t, startSingle(t)), req.String(), requests)
	got := pipeline(t, dial(t, nodes[0].addr), req.String(), requests)
	for i := range model {
		if got[i] != model[i] {
			t.Fatalf("answer %d: node %s answered %q, the single server %q", i, nodes[0].name, got[i], model[i])
		}
	}
	wantAll := model[len(model)-1]
	for _, n := range nodes {
		cn := dial(t, n.addr)
		if got := cn.mustDo(t, "get *"); got != wantAll {
			t.Errorf("get * on %s differs from the single server's (%d bytes, want %d)", n.name, len(got), len(wantAll))
		}
		if got, want := cn.mustDo(t, "get hot.key"), fmt.Sprintf("ok\nhot.key %d.5 1150864247\n\n", keys-1); got != want {
			t.Errorf("get hot.key on %s: %q, want %q", n.name, got, want)
		}
	}
}

// pipeline writes req (count requests) in one write and returns the
// answers, each up to and including its empty line.
func pipeline(t *testing.T, cn *conn, req string, count int) []string {
	t.Helper()
	cn.c.SetDeadline(time.Now().Add(testTimeout))
	errc := make(chan error, 1)
	go func() {
		_, err := io.WriteString(cn.c, req)
		errc <- err
	}()
	var answers []string
	var b strings.Builder
	for len(answers) < count {
		l, err := cn.r.ReadString('\n')
		b.WriteString(l)
		if err != nil {
			t.Fatalf("after %d answers: %v (answer so far %q)", len(answers), err, b.String())
		}
		if l == "\n" {
			answers = append(answers, b.String())
			b.Reset()
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return answers
}
