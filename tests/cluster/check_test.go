package cluster

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"metricsd/internal/natstest"
)

// TestCourseCheckAcrossNodes runs `metricsd check`, the course's checks,
// with each check's connections spread over the three nodes of a cluster:
// every check passes as it does against a single server.
func TestCourseCheckAcrossNodes(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := startNodes(t, c, 3)
	out, err := exec.Command(bin.Path, "check", "--timeout", "20s", nodes[0].addr, nodes[1].addr, nodes[2].addr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0 failed, 0 differ") {
		t.Fatalf("metricsd check across the nodes: %v\n%s", err, out)
	}
}

// TestLimitsAcrossNodes checks that a cluster node refuses what a single
// server with the same flags refuses, byte for byte: a key over
// --max-key-length, a timestamp past --max-future; and takes what it takes.
func TestLimitsAcrossNodes(t *testing.T) {
	c := natstest.Start(t, 3)
	flags := []string{"--max-future", "1h", "--max-key-length", "64"}
	var nodes []*node
	for i := range 2 {
		nodes = append(nodes, startNode(t, c.URLs(), fmt.Sprintf("node%c", 'a'+i), flags...))
	}
	waitOwners(t, c, nodes, 64)
	single := dial(t, startSingle(t, flags...))
	now := time.Now().Unix()
	requests := []string{
		fmt.Sprintf("put ok.key 1 %d", now),
		fmt.Sprintf("put far.future 1 %d", now+3*3600),
		fmt.Sprintf("put near.future 1 %d", now+600),
		"put " + strings.Repeat("k", 65) + " 1 1",
		"put " + strings.Repeat("k", 64) + " 1 1",
		"get *",
	}
	for i, req := range requests {
		want := single.mustDo(t, req)
		got := dial(t, nodes[i%2].addr).mustDo(t, req)
		if got != want {
			t.Errorf("%.40q on a node: %q, the single server answered %q", req, got, want)
		}
	}
}
