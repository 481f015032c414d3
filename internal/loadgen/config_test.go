package loadgen

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // in the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"duration only", func(c *Config) { c.Requests = 0 }, ""},
		{"requests only", func(c *Config) { c.Duration = 0 }, ""},
		{"no bound", func(c *Config) { c.Requests, c.Duration = 0, 0 }, "give at least one bound"},
		{"negative requests", func(c *Config) { c.Requests = -1 }, "must not be negative"},
		{"no connections", func(c *Config) { c.Connections = 0 }, "connections 0"},
		{"no pipeline", func(c *Config) { c.Pipeline = 0 }, "pipeline 0"},
		{"no timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
		{"no keys", func(c *Config) { c.Keys = 0 }, "keys 0"},
		{"more connections than keys", func(c *Config) { c.Keys = 10 }, "cannot own their keys"},
		{"more connections than keys, spread", func(c *Config) { c.Keys, c.Spread = 10, true }, ""},
		{"getall needs no keys of its own", func(c *Config) { c.Keys, c.Workload = 1, WorkloadGetAll }, ""},
		{"several targets", func(c *Config) { c.Addr = "127.0.0.1:1, 127.0.0.1:2" }, ""},
		{"empty target", func(c *Config) { c.Addr = "127.0.0.1:1,,127.0.0.1:2" }, "empty target"},
		{"fewer connections than targets", func(c *Config) { c.Addr, c.Connections = "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3", 2 }, "cannot reach 3 targets"},
		{"prefix with space", func(c *Config) { c.KeyPrefix = "a b" }, "key prefix"},
		{"prefix with nbsp", func(c *Config) { c.KeyPrefix = "a\u00a0" }, "key prefix"},
		{"unknown workload", func(c *Config) { c.Workload = "delete" }, "workload"},
		{"unknown order", func(c *Config) { c.Order = "sorted" }, "order"},
		{"unknown shape", func(c *Config) { c.Values = "int" }, "value shape"},
		{"ratio above 1", func(c *Config) { c.GetRatio = 1.5 }, "get ratio"},
		{"ratio NaN", func(c *Config) { c.GetRatio = math.NaN() }, "get ratio"},
		{"graphite without verifier", func(c *Config) { c.Workload = WorkloadGraphite }, "verifier"},
		{"graphite random order", func(c *Config) {
			c.Workload, c.Verify, c.Order = WorkloadGraphite, fixedCounter(0), OrderRandom
		}, "needs order"},
		{"graphite no verify timeout", func(c *Config) {
			c.Workload, c.Verify, c.VerifyTimeout = WorkloadGraphite, fixedCounter(0), 0
		}, "verify timeout"},
		{"graphite", func(c *Config) { c.Workload, c.Verify = WorkloadGraphite, fixedCounter(0) }, ""},
	}
	for _, tc := range tests {
		cfg := DefaultConfig()
		tc.change(&cfg)
		err := cfg.Validate()
		if tc.want == "" && err != nil {
			t.Errorf("%s: %v, want valid", tc.name, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want an error about %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr   string
		remote bool // ErrRemote; otherwise nil
		bad    bool // some other error
	}{
		{"127.0.0.1:8888", false, false},
		{"127.3.2.1:1", false, false},
		{"[::1]:8888", false, false},
		{"localhost:8888", false, false},
		{"10.0.0.1:8888", true, false},
		{"192.168.0.10:8888", true, false},
		{"[2001:db8::1]:80", true, false},
		{"0.0.0.0:8888", true, false},
		{"127.0.0.1", false, true},
	}
	for _, tc := range tests {
		err := CheckLoopback(t.Context(), tc.addr)
		switch {
		case tc.remote && !errors.Is(err, ErrRemote):
			t.Errorf("%s: %v, want ErrRemote", tc.addr, err)
		case tc.bad && (err == nil || errors.Is(err, ErrRemote)):
			t.Errorf("%s: %v, want a malformed-address error", tc.addr, err)
		case !tc.remote && !tc.bad && err != nil:
			t.Errorf("%s: %v, want allowed", tc.addr, err)
		}
	}
}

func TestDefaultConfigBounded(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.Requests <= 0 || cfg.Duration <= 0 || cfg.Duration > 10*time.Minute {
		t.Errorf("defaults %d requests, %v: want both bounds set", cfg.Requests, cfg.Duration)
	}
}
