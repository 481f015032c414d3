package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"metricsd"
	"metricsd/internal/testcerts"
	"metricsd/internal/testnet"
)

// startHTTPServer runs a real server with its HTTP API on 127.0.0.1:0 and,
// when dataDir is set, durable, until the test ends. It returns the
// protocol and HTTP addresses.
func startHTTPServer(t *testing.T, dataDir string) (addr, httpAddr string) {
	t.Helper()
	cfg := metricsd.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DataDir = dataDir
	srv, err := metricsd.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr = testnet.Serve(t, srv, nil)
	testnet.WaitFor(t, "the HTTP API listening", func() bool { return srv.HTTPAddr() != nil })
	return addr, srv.HTTPAddr().String()
}

func TestDeleteCommand(t *testing.T) {
	for _, dataDir := range []string{"", t.TempDir()} {
		name := "in memory"
		if dataDir != "" {
			name = "data directory"
		}
		t.Run(name, func(t *testing.T) {
			addr, httpAddr := startHTTPServer(t, dataDir)
			for _, k := range []string{"servers.a.cpu", "servers.b.cpu", "servers.a.mem", "evil"} {
				if r := runArgs(t, "put", "--addr", addr, k, "1", "1"); r.code != exitOK {
					t.Fatalf("put %s: %+v", k, r)
				}
			}
			r := runArgs(t, "delete", "--http-addr", httpAddr, "servers.*.cpu")
			if r.code != exitOK || r.stdout != "2\n" {
				t.Fatalf("delete: %+v, want 2", r)
			}
			if r := runArgs(t, "put", "--addr", addr, "servers.a.cpu", "2", "2"); r.code != exitOK {
				t.Fatalf("put again: %+v", r)
			}
			if r := runArgs(t, "get", "--addr", addr, "*"); r.stdout != "servers.a.mem 1.0 1\nevil 1.0 1\nservers.a.cpu 2.0 2\n" {
				t.Fatalf("get * after the delete:\n%s", r.stdout)
			}
			r = runArgs(t, "delete", "--http-addr", httpAddr, "a.[b")
			if r.code != exitFailure || !strings.Contains(r.err, "400 Bad Request") {
				t.Fatalf("delete of a bad glob: %+v", r)
			}
		})
	}
}

func TestDeleteCommandErrors(t *testing.T) {
	if r := runArgs(t, "delete"); r.code != exitUsage || !strings.Contains(r.err, "want one GLOB, got 0") {
		t.Errorf("no glob: %+v", r)
	}
	if r := runArgs(t, "delete", "--http-addr", freeAddr(t), "x"); r.code != exitFailure || !strings.Contains(r.err, "connection refused") {
		t.Errorf("nothing listening: %+v", r)
	}
	if r := runArgs(t, "repair"); r.code != exitUsage || !strings.Contains(r.err, "--data-dir is required") {
		t.Errorf("repair without a directory: %+v", r)
	}
	if r := runArgs(t, "repair", "--data-dir", t.TempDir()+"/none"); r.code != exitFailure {
		t.Errorf("repair of a missing directory: %+v", r)
	}
	dir := t.TempDir()
	if r := runArgs(t, "repair", "--data-dir", dir); r.code != exitOK || r.stdout != "nothing to repair in "+dir+"\n" {
		t.Errorf("repair of an empty directory: %+v", r)
	}
}

// TestDeleteCommandWithAccessControl runs delete against a server whose
// web config file asks for a password and serves HTTPS: the command needs
// --user, the password from the environment, and --tls-ca.
func TestDeleteCommandWithAccessControl(t *testing.T) {
	set, err := testcerts.New()
	if err != nil {
		t.Fatal(err)
	}
	files, err := set.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	web := filepath.Join(t.TempDir(), "web.yml")
	conf := "tls_server_config:\n  cert_file: " + files.ServerCert + "\n  key_file: " + files.ServerKey +
		"\nbasic_auth_users:\n  ops: " + string(hash) + "\n"
	if err := os.WriteFile(web, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := serveConfig([]string{"--in-memory", "--addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--web-config-file", web})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metricsd.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := testnet.Serve(t, srv, nil)
	testnet.WaitFor(t, "the HTTP API listening", func() bool { return srv.HTTPAddr() != nil })
	httpAddr := srv.HTTPAddr().String()
	if r := runArgs(t, "put", "--addr", addr, "evil", "1", "99999999999"); r.code != exitOK {
		t.Fatalf("put: %+v", r)
	}
	if r := runArgs(t, "delete", "--http-addr", httpAddr, "--tls-ca", files.CA, "evil"); r.code != exitFailure || !strings.Contains(r.err, "401 Unauthorized") {
		t.Fatalf("delete without the password: %+v", r)
	}
	t.Setenv(passwordEnv, "s3cret")
	if r := runArgs(t, "delete", "--http-addr", httpAddr, "--user", "ops", "--tls-ca", files.CA, "evil"); r.code != exitOK || r.stdout != "1\n" {
		t.Fatalf("delete with the password: %+v", r)
	}
	if r := runArgs(t, "get", "--addr", addr, "*"); r.stdout != "" {
		t.Fatalf("get * after the delete: %q", r.stdout)
	}
}
