package conformance

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"metricsd"
	"metricsd/internal/testnet"
)

// testConfig checks addr with bounds short enough for tests.
func testConfig(addr string) Config {
	return Config{Addrs: []string{addr}, Prefix: DefaultPrefix, Timeout: testnet.Timeout, Quiet: DefaultQuiet}
}

func TestMetricsdPassesEveryCheck(t *testing.T) {
	srv, err := metricsd.NewServer(metricsd.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	addr := testnet.Serve(t, srv, nil)
	results, err := Run(t.Context(), testConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(Names()) {
		t.Fatalf("%d results for %d checks", len(results), len(Names()))
	}
	for _, r := range results {
		if r.Status != Pass {
			t.Errorf("%s: %s (%s): expected %s, received %s", r.Check, r.Status, r.Note,
				Escape(r.Expected, 200), Escape(r.Received, 200))
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig("127.0.0.1:1")
	tests := []struct {
		name   string
		change func(*Config)
		want   string // in the error; "" for none
	}{
		{"good", func(*Config) {}, ""},
		{"no address", func(c *Config) { c.Addrs = nil }, "no server address"},
		{"no timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
		{"quiet over timeout", func(c *Config) { c.Quiet = c.Timeout }, "quiet"},
		{"empty prefix", func(c *Config) { c.Prefix = "" }, "prefix"},
		{"prefix with space", func(c *Config) { c.Prefix = "a b" }, "prefix"},
		{"prefix non-ASCII", func(c *Config) { c.Prefix = "é" }, "prefix"},
		{"unknown check", func(c *Config) { c.Only = []string{"nope"} }, `no check named "nope"`},
		{"known check", func(c *Config) { c.Only = []string{"replies/float-10"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			err := cfg.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// cannedServer answers the first read of each connection with reply, then
// closes when close is true or keeps the connection open until the test
// ends.
func cannedServer(t *testing.T, reply string, closeAfter bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				buf := make([]byte, 1024)
				if _, err := c.Read(buf); err != nil {
					return
				}
				c.Write([]byte(reply))
				if closeAfter {
					c.Close()
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestAwait(t *testing.T) {
	tests := []struct {
		name       string
		reply      string
		closeAfter bool
		answers    []answer
		want       int    // answer index, -1 for none
		note       string // in the error when want is -1
	}{
		{"exact", "ok\n\n", false, []answer{is("ok\n\n")}, 0, ""},
		{"second answer", "error\nwrong command\n\n", false, []answer{is("ok\n\n"), quirk(wrong, "q")}, 1, ""},
		{"mismatch found early", "ok\nk 10 1\n\n", false, []answer{is("ok\nk 10.0 1\n\n")}, -1, "unexpected reply"},
		{"extra bytes", "ok\n\nok\n\n", false, []answer{is("ok\n\n")}, -1, "unexpected reply"},
		{"silence accepted", "", false, []answer{is(wrong), quirk("", "q")}, 1, ""},
		{"shorter then silence", "ok\n\n", false, []answer{is("ok\n\n"), is("ok\n\nok\n\n")}, 0, ""},
		{"incomplete", "ok\n", false, []answer{is("ok\n\n")}, -1, "timeout"},
		{"closed", "ok\n", true, []answer{is("ok\n\n")}, -1, "closed by the server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := cannedServer(t, tt.reply, tt.closeAfter)
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			s, err := dial(ctx, addr, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			if err := s.send(ctx, []byte("x\n")); err != nil {
				t.Fatal(err)
			}
			i, got, err := s.await(ctx, tt.answers)
			if i != tt.want {
				t.Fatalf("answer %d (got %q, %v), want %d", i, got, err, tt.want)
			}
			if tt.want < 0 && !strings.Contains(mismatchNote(err), tt.note) {
				t.Fatalf("note %q, want it to contain %q", mismatchNote(err), tt.note)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"ok\n\n", 0, `"ok\n\n"`},
		{"k\xff\xfe\r\t", 0, `"k\xff\xfe\r\t"`},
		{"\u00a0", 0, `"\u00a0"`},
		{"abcdef", 3, `"abc"... (3 more bytes)`},
	}
	for _, tt := range tests {
		if got := Escape([]byte(tt.in), tt.limit); got != tt.want {
			t.Errorf("Escape(%q, %d) = %s, want %s", tt.in, tt.limit, got, tt.want)
		}
	}
}
