package main

import (
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"0", 0, false},
		{"30d", 30 * 24 * time.Hour, false},
		{"2w", 14 * 24 * time.Hour, false},
		{"36h", 36 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"1.5d", 0, true},
		{"-1d", 0, true},
		{"-5h", 0, true},
		{"d", 0, true},
		{"forever", 0, true},
		{"99999999999999d", 0, true},
	}
	for _, tt := range tests {
		got, err := parseRetention(tt.in)
		if tt.bad != (err != nil) || got != tt.want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v, bad=%v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestServeLimitFlags(t *testing.T) {
	cfg, err := serveConfig([]string{"--max-series", "10", "--max-points", "1000000", "--retention", "30d"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxSeries != 10 || cfg.MaxPoints != 1_000_000 || cfg.Retention != 30*24*time.Hour {
		t.Fatalf("serveConfig = %+v", cfg)
	}
	def, err := serveConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if def.MaxSeries != 0 || def.MaxPoints != 0 || def.Retention != 0 {
		t.Fatalf("limits default to %d, %d, %v; want none", def.MaxSeries, def.MaxPoints, def.Retention)
	}
	if got := (retentionValue{&cfg.Retention}).String(); got != "30d" {
		t.Fatalf("--retention prints as %q", got)
	}
}

func TestServePersistsByDefault(t *testing.T) {
	tests := []struct {
		args    []string
		dataDir string
		bad     bool
	}{
		{nil, "./metricsd-data", false},
		{[]string{"--in-memory"}, "", false},
		{[]string{"--data-dir", "/var/lib/metricsd"}, "/var/lib/metricsd", false},
		{[]string{"--in-memory", "--data-dir", "x"}, "", true},
	}
	for _, tt := range tests {
		cfg, err := serveConfig(tt.args)
		if tt.bad != (err != nil) || (err == nil && cfg.DataDir != tt.dataDir) {
			t.Errorf("serveConfig(%q): data dir %q, err %v; want %q, bad=%v", tt.args, cfg.DataDir, err, tt.dataDir, tt.bad)
		}
	}
}
