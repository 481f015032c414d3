package cluster

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"metricsd/internal/natstest"
	"metricsd/internal/testproc"
)

// TestRandomizedAgainstSingleServer sends the same random requests to a
// single in-memory metricsd (the model: it passes the course and protocol
// checks) and, spread over three cluster nodes, to the cluster, and
// compares every answer byte for byte: overwrites, out-of-order and
// negative timestamps, values of every shape, unknown keys, `get *` and
// wrong commands.
func TestRandomizedAgainstSingleServer(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := startNodes(t, c, 3)
	model := startSingle(t)
	ref := dial(t, model)
	var conns []*conn
	for _, n := range nodes {
		conns = append(conns, dial(t, n.addr))
	}
	rng := rand.New(rand.NewPCG(15, 15))
	values := []string{"0", "1", "-1", "0.1", "2.50", "-0.0", "1e300", "1E-7", "inf", "-inf", "nan", "123456789012345678", "3.14159", "+7", "1_000"}
	keys := []string{"a", "b.c", "d.e.f", "palm.cpu", "x-y_z", "k" + string(rune(0xe9))}
	const requests = 400
	for i := range requests {
		var req string
		switch r := rng.IntN(10); {
		case r < 6:
			req = fmt.Sprintf("put %s %s %d", keys[rng.IntN(len(keys))], values[rng.IntN(len(values))], rng.Int64N(20)-5)
		case r < 8:
			req = "get " + keys[rng.IntN(len(keys))]
			if rng.IntN(4) == 0 {
				req = "get never.put"
			}
		case r < 9:
			req = "get *"
		default:
			req = []string{"put a 1", "get", "put a b 1", "PUT a 1 1", "get a b", "put a 1 1.5"}[rng.IntN(6)]
		}
		want := ref.mustDo(t, req)
		on := rng.IntN(len(conns))
		if got := conns[on].mustDo(t, req); got != want {
			t.Fatalf("request %d %q on %s: got %q, the single server answered %q", i, req, nodes[on].Name, got, want)
		}
	}
	for i, cn := range conns {
		if got, want := cn.mustDo(t, "get *"), ref.mustDo(t, "get *"); got != want {
			t.Errorf("final get * on %s: got %q, want %q", nodes[i].Name, got, want)
		}
	}
}

// startSingle runs `metricsd serve --in-memory` and returns its address.
func startSingle(t testing.TB, extra ...string) string {
	t.Helper()
	return run(t, testproc.Spec{
		Name:   "single",
		Args:   append([]string{"serve", "--addr", "127.0.0.1:0", "--http-addr", "", "--in-memory"}, extra...),
		Listen: []string{"metricsd"},
	}).addr
}
