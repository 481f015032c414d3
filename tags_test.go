package metricsd

import (
	"testing"
	"time"
)

// TestTaggedGraphiteLinesEndToEnd sends one series in two tag orders over
// the Graphite port and finds it, once, through the tag API: the receiver
// normalizes as carbon does and the tag endpoints read the store's keys.
func TestTaggedGraphiteLinesEndToEnd(t *testing.T) {
	e := startEcoServer(t)
	e.sendGraphite(t, "disk.used;mount=/var;host=web01 10 100\ndisk.used;host=web01;mount=/var 11 110\ndisk.used;host=web02;mount=/ 5 100\n")
	deadline := time.Now().Add(testTimeout)
	want := `["disk.used;host=web01;mount=/var","disk.used;host=web02;mount=/"]`
	for {
		code, body := e.httpGet(t, "/tags/findSeries?expr=name%3Ddisk.used")
		if code == 200 && body == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("findSeries = %d %s, want %s", code, body, want)
		}
		time.Sleep(2 * time.Millisecond) // poll interval: Graphite has no acknowledgement
	}
	if code, body := e.httpGet(t, "/tags/autoComplete/values?tag=mount&expr=host%3Dweb01"); code != 200 || body != `["/var"]` {
		t.Errorf("autoComplete/values = %d %s", code, body)
	}
	if code, body := e.httpGet(t, "/tags/disk.used"); code != 200 || body != "null" {
		t.Errorf("/tags/disk.used = %d %s, want null (no such tag)", code, body)
	}
}
