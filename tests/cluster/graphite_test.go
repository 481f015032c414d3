package cluster

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"metricsd/internal/natstest"
)

// TestGraphiteAcrossNodes: Graphite plaintext lines sent to one node are
// read back through the protocol on a second and through the Graphite-web
// API (find, render) on a third, byte for byte as on a single server.
func TestGraphiteAcrossNodes(t *testing.T) {
	c := natstest.Start(t, 3)
	nodes := []*node{
		startNode(t, c.URLs(), "nodea", "--graphite-addr", "127.0.0.1:0"),
		startNode(t, c.URLs(), "nodeb"),
		startNode(t, c.URLs(), "nodec"),
	}
	waitOwners(t, c, nodes, 64)
	graphiteAddr, err := nodes[0].Addr("graphite")
	if err != nil {
		t.Fatal(err)
	}
	g, err := net.DialTimeout("tcp", graphiteAddr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := io.WriteString(g, "palm.cpu 23.7 1150864247\npalm.mem 5 1150864248\n"); err != nil {
		t.Fatal(err)
	}
	b := dial(t, nodes[1].addr)
	want := "ok\npalm.cpu 23.7 1150864247\npalm.mem 5.0 1150864248\n\n"
	var got string
	// Graphite lines have no answer: poll until both are stored.
	waitFor(t, "the Graphite lines stored", func() bool {
		got = b.mustDo(t, "get *")
		return got == want
	})

	base := "http://" + nodes[2].httpAddr
	f := func(path, want string) {
		t.Helper()
		client := http.Client{Timeout: testTimeout}
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != want {
			t.Errorf("GET %s: %d %s, want %s", path, resp.StatusCode, body, want)
		}
	}
	// One stored point: its step is the default 60 s, and the one slot of
	// this range holds it, snapped down to the step (docs/graphite.md).
	f("/render?target=palm.cpu&from=1150864140&until=1150864200&format=json",
		`[{"target": "palm.cpu", "tags": {"name": "palm.cpu"}, "datapoints": [[23.7, 1150864200]]}]`)
	f("/metrics/find?query=palm.*", fmt.Sprint(
		`[{"text": "cpu", "id": "palm.cpu", "allowChildren": 0, "expandable": 0, "leaf": 1}, `,
		`{"text": "mem", "id": "palm.mem", "allowChildren": 0, "expandable": 0, "leaf": 1}]`))
}
