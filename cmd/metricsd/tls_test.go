package main

import (
	"testing"
	"time"

	"metricsd"
	"metricsd/internal/testcerts"
	"metricsd/internal/testnet"
)

// startTLSServer serves mutual TLS on 127.0.0.1:0 with files from a fresh
// test CA, configured the way `serve --tls-*` configures it.
func startTLSServer(t *testing.T) (string, testcerts.Files) {
	t.Helper()
	certs, err := testcerts.New()
	if err != nil {
		t.Fatal(err)
	}
	files, err := certs.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := serveConfig([]string{"--in-memory", "--http-addr", "", "--tls-cert", files.ServerCert, "--tls-key", files.ServerKey, "--tls-client-ca", files.CA})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metricsd.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return testnet.Serve(t, srv, nil), files
}

func TestPutGetOverMutualTLS(t *testing.T) {
	addr, f := startTLSServer(t)
	tlsArgs := []string{"--addr", addr, "--tls-ca", f.CA, "--tls-cert", f.ClientCert, "--tls-key", f.ClientKey}
	if r := runArgs(t, append(append([]string{"put"}, tlsArgs...), "secure.key", "1.5", "10")...); r.code != exitOK {
		t.Fatalf("put over mTLS: code %d, stderr %q", r.code, r.err)
	}
	r := runArgs(t, append(append([]string{"get"}, tlsArgs...), "secure.key")...)
	if r.code != exitOK || r.stdout != "secure.key 1.5 10\n" {
		t.Fatalf("get over mTLS: code %d, stdout %q, stderr %q", r.code, r.stdout, r.err)
	}
	for name, args := range map[string][]string{
		"no client certificate": {"get", "--addr", addr, "--tls-ca", f.CA, "secure.key"},
		"plain TCP":             {"get", "--addr", addr, "--timeout", "2s", "secure.key"},
		"unknown server CA":     {"get", "--addr", addr, "--tls", "secure.key"},
	} {
		if r := runArgs(t, args...); r.code != exitFailure {
			t.Errorf("%s: code %d, stdout %q; want a failure", name, r.code, r.stdout)
		}
	}
	if r := runArgs(t, "get", "--addr", addr, "--tls-cert", f.ClientCert, "k"); r.code != exitUsage {
		t.Errorf("--tls-cert without --tls-key: code %d, want usage error", r.code)
	}
}

func TestServeHardeningFlags(t *testing.T) {
	cfg, err := serveConfig([]string{"--max-conns", "7", "--read-timeout", "3s",
		"--idle-timeout", "1m", "--write-timeout", "0"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 7 || cfg.ReadTimeout != 3*time.Second || cfg.IdleTimeout != time.Minute || cfg.WriteTimeout != 0 {
		t.Fatalf("serveConfig = %+v", cfg)
	}
	def, err := serveConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if def.MaxConns != 10_000 || def.ReadTimeout != 60*time.Second || def.IdleTimeout != 0 || def.WriteTimeout != 30*time.Second {
		t.Fatalf("defaults = %+v, want the documented ones", def)
	}
}
