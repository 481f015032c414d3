package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		args        []string
		logs, quiet string // a message that must appear, one that must not
		json        bool
	}{
		{nil, "info", "debug", false},
		{[]string{"--log-level", "debug"}, "debug", "", false},
		{[]string{"--log-level", "warn"}, "warn", "info", false},
		{[]string{"--log-level", "error", "--log-format", "json"}, "error", "warn", true},
		{[]string{"--log-format", "json"}, "info", "debug", true},
	}
	for _, tt := range tests {
		_, fs, err := parseServe(tt.args)
		if err != nil {
			t.Fatalf("parseServe(%q): %v", tt.args, err)
		}
		var out strings.Builder
		log, err := newLogger(fs, &out)
		if err != nil {
			t.Fatalf("newLogger(%q): %v", tt.args, err)
		}
		log.Debug("debug")
		log.Info("info")
		log.Warn("warn")
		log.Error("error")
		got := out.String()
		quietLogged := tt.quiet != "" && (strings.Contains(got, "msg="+tt.quiet) || strings.Contains(got, `"msg":"`+tt.quiet+`"`))
		if !strings.Contains(got, tt.logs) || quietLogged {
			t.Errorf("%q logged %q; want %q and not %q", tt.args, got, tt.logs, tt.quiet)
		}
		first := strings.SplitN(got, "\n", 2)[0]
		if isJSON := json.Valid([]byte(first)); isJSON != tt.json {
			t.Errorf("%q: line %q JSON = %v, want %v", tt.args, first, isJSON, tt.json)
		}
	}
}

func TestLogFlagsRejectBadValues(t *testing.T) {
	for _, args := range [][]string{{"--log-level", "loud"}, {"--log-format", "xml"}, {"--log-level", "INFO"}} {
		if _, err := serveConfig(args); err == nil {
			t.Errorf("serveConfig(%q) accepted a bad log flag", args)
		}
	}
}

func TestServeEcosystemFlags(t *testing.T) {
	cfg, err := serveConfig(nil)
	if err != nil || cfg.HTTPAddr != "127.0.0.1:8889" || cfg.GraphiteAddr != "" || cfg.Pprof {
		t.Errorf("serve defaults: http %q graphite %q pprof %v, %v", cfg.HTTPAddr, cfg.GraphiteAddr, cfg.Pprof, err)
	}
	cfg, err = serveConfig([]string{"--http-addr", "", "--graphite-addr", "127.0.0.1:2003"})
	if err != nil || cfg.HTTPAddr != "" || cfg.GraphiteAddr != "127.0.0.1:2003" {
		t.Errorf("serve --http-addr '' --graphite-addr: %+v, %v", cfg, err)
	}
	if cfg, err = serveConfig([]string{"--pprof"}); err != nil || !cfg.Pprof {
		t.Errorf("serve --pprof: %v, %v", cfg.Pprof, err)
	}
}
