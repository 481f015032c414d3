package main

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

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

// TestGraphiteOverMutualTLS configures the Graphite port's TLS the way
// `serve --graphite-tls-*` does: a client with a certificate lands its
// line; one without, or plain TCP, stores nothing.
func TestGraphiteOverMutualTLS(t *testing.T) {
	certs, err := testcerts.New()
	if err != nil {
		t.Fatal(err)
	}
	f, err := certs.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := serveConfig([]string{"--in-memory", "--http-addr", "", "--graphite-addr", "127.0.0.1:0",
		"--graphite-tls-cert", f.ServerCert, "--graphite-tls-key", f.ServerKey, "--graphite-tls-client-ca", f.CA})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metricsd.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := testnet.Serve(t, srv, nil)
	testnet.WaitFor(t, "Graphite listening", func() bool { return srv.GraphiteAddr() != nil })
	gaddr := srv.GraphiteAddr().String()
	send := func(clientCfg *tls.Config, line string) {
		t.Helper()
		clientCfg.ServerName = "127.0.0.1"
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: testnet.Timeout}, "tcp", gaddr, clientCfg)
		if err != nil {
			return // a refused handshake: nothing sent
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(testnet.Timeout))
		if _, err := io.WriteString(c, line); err != nil {
			return
		}
		c.CloseWrite()
		io.Copy(io.Discard, c) // until the server closes: the line is handled
	}
	send(&tls.Config{RootCAs: certs.CAPool}, "graphite.nocert 1 10\n")
	plain := testnet.Dial(t, gaddr)
	io.WriteString(plain, "graphite.plain 1 10\n")
	io.Copy(io.Discard, plain) // the TLS port closes a plain connection
	send(&tls.Config{RootCAs: certs.CAPool, Certificates: []tls.Certificate{certs.Client}}, "graphite.mtls 2.5 10\n")
	var out string
	testnet.WaitFor(t, "the mTLS line stored", func() bool {
		r := runArgs(t, "get", "--addr", addr, "*")
		out = r.stdout
		return strings.Contains(out, "graphite.mtls 2.5 10")
	})
	if strings.Contains(out, "graphite.nocert") || strings.Contains(out, "graphite.plain") {
		t.Errorf("lines without a client certificate were stored:\n%s", out)
	}
	for name, args := range map[string][]string{
		"cert without key":         {"--graphite-addr", "127.0.0.1:0", "--graphite-tls-cert", f.ServerCert},
		"client CA without cert":   {"--graphite-addr", "127.0.0.1:0", "--graphite-tls-client-ca", f.CA},
		"TLS without graphite":     {"--graphite-tls-cert", f.ServerCert, "--graphite-tls-key", f.ServerKey},
		"key that does not load":   {"--graphite-addr", "127.0.0.1:0", "--graphite-tls-cert", f.ServerCert, "--graphite-tls-key", f.CA},
		"client CA that is no PEM": {"--graphite-addr", "127.0.0.1:0", "--graphite-tls-cert", f.ServerCert, "--graphite-tls-key", f.ServerKey, "--graphite-tls-client-ca", f.ServerKey},
	} {
		cfg, err := serveConfig(append([]string{"--in-memory", "--http-addr", ""}, args...))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if srv, err := metricsd.NewServer(cfg); err == nil {
			srv.Shutdown(t.Context())
			t.Errorf("%s: NewServer succeeded", name)
		}
	}
}

// TestServeWebConfigFile wires `serve --web-config-file` end to end: the
// HTTP API, health included, asks for the password in the file.
func TestServeWebConfigFile(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(path, []byte("basic_auth_users:\n  ops: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := serveConfig([]string{"--in-memory", "--http-addr", "127.0.0.1:0", "--pprof", "--web-config-file", path})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metricsd.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	testnet.Serve(t, srv, nil)
	testnet.WaitFor(t, "HTTP API listening", func() bool { return srv.HTTPAddr() != nil })
	client := &http.Client{Timeout: testnet.Timeout}
	defer client.CloseIdleConnections()
	get := func(path, user, pass string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr().String()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path, user, pass string
		want             int
	}{
		{"/healthz", "", "", http.StatusUnauthorized},
		{"/healthz", "ops", "nope", http.StatusUnauthorized},
		{"/healthz", "ops", "pw", http.StatusOK},
		{"/metrics", "ops", "pw", http.StatusOK},
		{"/debug/pprof/", "ops", "pw", http.StatusOK},
	} {
		if got := get(tc.path, tc.user, tc.pass); got != tc.want {
			t.Errorf("GET %s as %q/%q = %d, want %d", tc.path, tc.user, tc.pass, got, tc.want)
		}
	}
	if cfg, err := serveConfig([]string{"--in-memory", "--http-addr", "", "--web-config-file", path}); err != nil {
		t.Fatal(err)
	} else if _, err := metricsd.NewServer(cfg); err == nil {
		t.Error("--web-config-file without an HTTP address: NewServer succeeded")
	}
}
