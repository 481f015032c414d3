package cluster

import (
	"testing"

	"metricsd/internal/natstest"
)

// TestCourseFlowAcrossNodes runs the course's exchange with its requests
// spread over three nodes: every node answers byte for byte what the
// single server answers, in the cluster-wide first-insertion order.
func TestCourseFlowAcrossNodes(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := startNodes(t, c, 3)
	a, b, cc := dial(t, nodes[0].addr), dial(t, nodes[1].addr), dial(t, nodes[2].addr)
	steps := []struct {
		on   *conn
		req  string
		want string
	}{
		{a, "put palm.cpu 10.5 1150864247", "ok\n\n"},
		{b, "put palm.cpu 2.0 1150864248", "ok\n\n"},
		{cc, "put eardrum.cpu 15.3 1150864250", "ok\n\n"},
		{a, "put eardrum.cpu 3 1150864251", "ok\n\n"},
		{b, "put eardrum.memory 4200000 1503320872", "ok\n\n"},
		{cc, "get palm.cpu", "ok\npalm.cpu 10.5 1150864247\npalm.cpu 2.0 1150864248\n\n"},
		{a, "get *", "ok\npalm.cpu 10.5 1150864247\npalm.cpu 2.0 1150864248\n" +
			"eardrum.cpu 15.3 1150864250\neardrum.cpu 3.0 1150864251\n" +
			"eardrum.memory 4200000.0 1503320872\n\n"},
		{b, "put palm.cpu 0.5 1150864248", "ok\n\n"}, // last write wins
		{cc, "get palm.cpu", "ok\npalm.cpu 10.5 1150864247\npalm.cpu 0.5 1150864248\n\n"},
		{a, "get nothing.here", "ok\n\n"},
		{b, "got palm.cpu", "error\nwrong command\n\n"},
		{cc, "put palm.cpu not-a-number 1", "error\nwrong command\n\n"},
	}
	for i, s := range steps {
		if got := s.on.mustDo(t, s.req); got != s.want {
			t.Errorf("step %d %q: got %q, want %q", i, s.req, got, s.want)
		}
	}
	for _, n := range nodes {
		got := dial(t, n.addr).mustDo(t, "get *")
		if got != "ok\npalm.cpu 10.5 1150864247\npalm.cpu 0.5 1150864248\n"+
			"eardrum.cpu 15.3 1150864250\neardrum.cpu 3.0 1150864251\n"+
			"eardrum.memory 4200000.0 1503320872\n\n" {
			t.Errorf("get * on %s: %q", n.Name, got)
		}
	}
}
