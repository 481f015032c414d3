package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestClusterScript runs scripts/cluster.sh as a newcomer would: it
// prints three nodes' addresses, a put on the first is read back on the
// third, and Ctrl-C (SIGINT) stops every process and removes the data.
func TestClusterScript(t *testing.T) {
	base := freeBase(t)
	cmd := exec.Command("bash", "../../scripts/cluster.sh")
	cmd.Env = append(os.Environ(), fmt.Sprintf("BASE_PORT=%d", base))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

	nodeLine := regexp.MustCompile(`^node(\d): protocol (\S+)  HTTP \S+  log (\S+)$`)
	addrs := map[string]string{}
	var dataDir string
	deadline := time.After(3 * time.Minute) // the first run builds nats-server
	for ready := false; !ready; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the script ended before it was ready; stderr:\n%s", stderr.String())
			}
			if m := nodeLine.FindStringSubmatch(l); m != nil {
				addrs[m[1]], dataDir = m[2], filepath.Dir(m[3])
			}
			ready = strings.HasPrefix(l, "Ctrl-C stops everything")
		case <-deadline:
			t.Fatalf("the script did not get ready; stderr:\n%s", stderr.String())
		}
	}
	if len(addrs) != 3 {
		t.Fatalf("the script printed %d nodes, want 3: %v", len(addrs), addrs)
	}
	if got := dial(t, addrs["1"]).mustDo(t, "put palm.cpu 23.7 1150864247"); got != "ok\n\n" {
		t.Fatalf("put on node1 = %q", got)
	}
	if got := dial(t, addrs["3"]).mustDo(t, "get *"); got != "ok\npalm.cpu 23.7 1150864247\n\n" {
		t.Fatalf("get * on node3 = %q", got)
	}

	syscall.Kill(cmd.Process.Pid, syscall.SIGINT) // what Ctrl-C sends the script
	var rest strings.Builder
	go func() {
		for l := range lines {
			rest.WriteString(l + "\n")
		}
	}()
	select {
	case err := <-exited:
		// 130 is how a shell script reports that SIGINT ended it.
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(rest.String(), "stopped") {
			t.Fatalf("the script exited with %v after:\n%s\nstderr:\n%s", err, rest.String(), stderr.String())
		}
	case <-time.After(testTimeout):
		t.Fatal("the script did not stop after SIGINT")
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("data directory %s left behind (%v)", dataDir, err)
	}
	for _, a := range addrs {
		if c, err := net.Dial("tcp", a); err == nil {
			c.Close()
			t.Errorf("%s still answers after the script stopped", a)
		}
	}
}

// freeBase picks a BASE_PORT for scripts/cluster.sh whose ports are all
// free on loopback now (it uses base+1..3, +11..13, +101..103, +201..203).
func freeBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		base := 40000 + rand.IntN(200)*100
		free := true
		for _, off := range []int{1, 2, 3, 11, 12, 13, 101, 102, 103, 201, 202, 203} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range for the script")
	return 0
}
