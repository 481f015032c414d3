package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"metricsd/internal/store"
	"metricsd/internal/testcerts"
	"metricsd/internal/testnet"
)

// publicAddr is a non-loopback listen address for the gate's decision;
// the tests still listen on 127.0.0.1 (the gate reads Config.Addr).
const publicAddr = "0.0.0.0:8889"

// writeWebConfig writes a web config file with body into a temp dir.
func writeWebConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// bcryptHash hashes password at the cheapest cost, to keep tests fast.
func bcryptHash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// serveAccess serves cfg on 127.0.0.1:0 until the test ends and returns
// the listen address.
func serveAccess(t *testing.T, cfg Config) string {
	t.Helper()
	cfg.Storage = store.NewMemory()
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want http.ErrServerClosed", err)
		}
	})
	return ln.Addr().String()
}

// status requests url with client (basic auth when user is set) and
// returns the status code, or the transport error.
func status(t *testing.T, client *http.Client, method, url, user, pass string) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// plainClient is a client of its own, whose idle connections end with the
// test (goleak checks).
func plainClient(t *testing.T, tlsCfg *tls.Config) *http.Client {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: testTimeout}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// TestWebConfigBasicAuth leaves out an unknown user: exporter-toolkit
// compares it against a fixed cost-10 bcrypt hash (against timing
// attacks), which takes seconds under the race detector.
func TestWebConfigBasicAuth(t *testing.T) {
	path := writeWebConfig(t, "basic_auth_users:\n  alice: "+bcryptHash(t, "s3cret")+"\n")
	addr := serveAccess(t, Config{WebConfigFile: path, Addr: publicAddr, Pprof: true})
	c := plainClient(t, nil)
	for _, path := range []string{"/healthz", "/readyz", "/render?target=a&format=json", "/metrics/find?query=*", "/debug/pprof/"} {
		for _, tc := range []struct {
			name, user, pass string
			want             int
		}{
			{"right password", "alice", "s3cret", http.StatusOK},
			{"wrong password", "alice", "guess", http.StatusUnauthorized},
			{"no credentials", "", "", http.StatusUnauthorized},
		} {
			code, err := status(t, c, http.MethodGet, "http://"+addr+path, tc.user, tc.pass)
			if err != nil || code != tc.want {
				t.Errorf("%s %s: %d, %v; want %d", tc.name, path, code, err, tc.want)
			}
		}
	}
}

func TestWebConfigTLS(t *testing.T) {
	certs, err := testcerts.New()
	if err != nil {
		t.Fatal(err)
	}
	files, err := certs.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := writeWebConfig(t, "tls_server_config:\n  cert_file: "+files.ServerCert+"\n  key_file: "+files.ServerKey+
		"\nbasic_auth_users:\n  alice: "+bcryptHash(t, "s3cret")+"\n")
	addr := serveAccess(t, Config{WebConfigFile: path, Addr: publicAddr})
	c := plainClient(t, &tls.Config{RootCAs: certs.CAPool})
	if code, err := status(t, c, http.MethodGet, "https://"+addr+"/healthz", "alice", "s3cret"); err != nil || code != http.StatusOK {
		t.Errorf("https with the password: %d, %v; want 200", code, err)
	}
	if code, err := status(t, c, http.MethodGet, "https://"+addr+"/healthz", "", ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("https without the password: %d, %v; want 401", code, err)
	}
	// Plain HTTP on the TLS port: net/http answers 400 to it, never the API.
	if code, err := status(t, c, http.MethodGet, "http://"+addr+"/healthz", "alice", "s3cret"); err == nil && code == http.StatusOK {
		t.Errorf("plain HTTP on the TLS port: %d, want no 200", code)
	}
	// An unknown CA fails the handshake.
	if _, err := status(t, plainClient(t, &tls.Config{}), http.MethodGet, "https://"+addr+"/healthz", "alice", "s3cret"); err == nil {
		t.Error("https with an unknown server CA succeeded")
	}
}

func TestWebConfigClientCertificates(t *testing.T) {
	certs, err := testcerts.New()
	if err != nil {
		t.Fatal(err)
	}
	files, err := certs.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := writeWebConfig(t, "tls_server_config:\n  cert_file: "+files.ServerCert+"\n  key_file: "+files.ServerKey+
		"\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: "+files.CA+"\n")
	addr := serveAccess(t, Config{WebConfigFile: path, Addr: publicAddr, Pprof: true})
	with := plainClient(t, &tls.Config{RootCAs: certs.CAPool, Certificates: []tls.Certificate{certs.Client}})
	// A verified client certificate is access control: pprof is mounted.
	for _, p := range []string{"/healthz", "/debug/pprof/"} {
		if code, err := status(t, with, http.MethodGet, "https://"+addr+p, "", ""); err != nil || code != http.StatusOK {
			t.Errorf("%s with a client certificate: %d, %v; want 200", p, code, err)
		}
	}
	without := plainClient(t, &tls.Config{RootCAs: certs.CAPool})
	if code, err := status(t, without, http.MethodGet, "https://"+addr+"/healthz", "", ""); err == nil {
		t.Errorf("without a client certificate: %d, want a failed handshake", code)
	}
}

func TestWebConfigRejected(t *testing.T) {
	for name, body := range map[string]string{
		"unknown field":   "basic_auth_user:\n  alice: x\n",
		"not a bcrypt":    "basic_auth_users:\n  alice: plaintext\n",
		"missing key":     "tls_server_config:\n  cert_file: /nonexistent.pem\n",
		"unknown CA file": "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n  client_auth_type: RequireAndVerifyClientCert\n",
	} {
		path := writeWebConfig(t, body)
		if _, err := New(Config{Storage: store.NewMemory(), WebConfigFile: path}); err == nil {
			t.Errorf("%s: New accepted the web config", name)
		}
	}
	if _, err := New(Config{Storage: store.NewMemory(), WebConfigFile: filepath.Join(t.TempDir(), "missing.yml")}); err == nil {
		t.Error("missing web config file: New succeeded")
	}
}

func TestAdminRoutesGated(t *testing.T) {
	users := "basic_auth_users:\n  alice: " + bcryptHash(t, "pw") + "\n"
	for _, tc := range []struct {
		name    string
		addr    string
		web     string // web config body; empty: none
		want    int    // status of GET /debug/pprof/ with alice's password
		warning bool
	}{
		{"loopback without access control", "127.0.0.1:8889", "", http.StatusOK, false},
		{"localhost without access control", "localhost:8889", "", http.StatusOK, false},
		{"IPv6 loopback", "[::1]:8889", "", http.StatusOK, false},
		{"all interfaces without access control", publicAddr, "", http.StatusNotFound, true},
		{"empty host without access control", ":8889", "", http.StatusNotFound, true},
		{"host name without access control", "metrics.example:8889", "", http.StatusNotFound, true},
		{"all interfaces with basic auth", publicAddr, users, http.StatusOK, false},
		{"all interfaces with a header-only web config", publicAddr, "http_server_config:\n  http2: false\n", http.StatusNotFound, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs testnet.LogBuffer
			cfg := Config{Addr: tc.addr, Pprof: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			if tc.web != "" {
				cfg.WebConfigFile = writeWebConfig(t, tc.web)
			}
			addr := serveAccess(t, cfg)
			c := plainClient(t, nil)
			if code, err := status(t, c, http.MethodGet, "http://"+addr+"/debug/pprof/", "alice", "pw"); err != nil || code != tc.want {
				t.Errorf("GET /debug/pprof/: %d, %v; want %d", code, err, tc.want)
			}
			if code, err := status(t, c, http.MethodGet, "http://"+addr+"/healthz", "alice", "pw"); err != nil || code != http.StatusOK {
				t.Errorf("GET /healthz: %d, %v; want 200 (only admin routes are gated)", code, err)
			}
			if got := strings.Contains(logs.String(), "admin routes not served"); got != tc.warning {
				t.Errorf("warning logged %v, want %v; log:\n%s", got, tc.warning, logs.String())
			}
		})
	}
}

// TestAdminRouteProperty pins which routes are admin ones: any under
// /debug/pprof/ or /api/v1/admin/, whatever the method, so that an admin
// route added later is gated without further marking.
func TestAdminRouteProperty(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		want     bool
	}{
		{[]string{"GET /debug/pprof/"}, true},
		{[]string{"GET /debug/pprof/profile"}, true},
		{[]string{"POST /api/v1/admin/delete"}, true},
		{[]string{"/api/v1/admin/"}, true},
		{[]string{"GET /render", "POST /api/v1/admin/x"}, true},
		{[]string{"example.org/api/v1/admin/x"}, true},
		{[]string{"GET /api/v1/administrator"}, false},
		{[]string{"POST /api/v1/write"}, false},
		{[]string{"GET /render", "POST /render"}, false},
		{[]string{"GET /debug/pprofx"}, false},
	} {
		if got := (route{patterns: tc.patterns}).admin(); got != tc.want {
			t.Errorf("route%v.admin() = %v, want %v", tc.patterns, got, tc.want)
		}
	}
}

// TestAdminRouteMountedByGate mounts an admin route the way another
// package's would be appended, and checks the gate both ways.
func TestAdminRouteMountedByGate(t *testing.T) {
	m, err := newHTTPMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "deleted") })
	routes := []route{
		{"delete", []string{"POST /api/v1/admin/delete"}, ok},
		{"healthz", []string{"GET /healthz"}, http.HandlerFunc(healthz)},
	}
	for _, tc := range []struct {
		acc  access
		want int
	}{
		{access{loopback: true}, http.StatusOK},
		{access{controlled: true}, http.StatusOK},
		{access{}, http.StatusNotFound},
		{access{tls: true}, http.StatusNotFound},
	} {
		mux := mount(routes, tc.acc, m, slog.New(slog.DiscardHandler), publicAddr)
		for _, r := range []struct {
			method, path string
			want         int
		}{{http.MethodPost, "/api/v1/admin/delete", tc.want}, {http.MethodGet, "/healthz", http.StatusOK}} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(r.method, r.path, nil))
			if rec.Code != r.want {
				t.Errorf("%+v: %s %s = %d, want %d", tc.acc, r.method, r.path, rec.Code, r.want)
			}
		}
	}
}

// htpasswdHash was made by `htpasswd -nbBC 4 alice s3cret` (Debian's
// apache2-utils), the command docs/operations.md gives with cost 10: its
// "$2y$" bcrypt variant is accepted.
const htpasswdHash = "$2y$04$T1U1iFwJ/ixYceL0CfmAGeCypAeiIrAtRwW9CnDugHMP9B4TJXShq"

func TestWebConfigAcceptsHtpasswdHash(t *testing.T) {
	path := writeWebConfig(t, "basic_auth_users:\n  alice: "+htpasswdHash+"\n")
	addr := serveAccess(t, Config{WebConfigFile: path, Addr: publicAddr})
	c := plainClient(t, nil)
	if code, err := status(t, c, http.MethodGet, "http://"+addr+"/healthz", "alice", "s3cret"); err != nil || code != http.StatusOK {
		t.Errorf("right password: %d, %v; want 200", code, err)
	}
	if code, err := status(t, c, http.MethodGet, "http://"+addr+"/healthz", "alice", "S3cret"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, %v; want 401", code, err)
	}
}

// TestWebConfigReloaded pins what docs/operations.md says of
// exporter-toolkit: the file is read again on each request, so a changed
// password applies without a restart, and a file that no longer parses
// fails requests with 500 rather than letting them through.
func TestWebConfigReloaded(t *testing.T) {
	path := writeWebConfig(t, "basic_auth_users:\n  alice: "+bcryptHash(t, "old")+"\n")
	addr := serveAccess(t, Config{WebConfigFile: path, Addr: publicAddr})
	c := plainClient(t, nil)
	url := "http://" + addr + "/healthz"
	if code, err := status(t, c, http.MethodGet, url, "alice", "old"); err != nil || code != http.StatusOK {
		t.Fatalf("old password before the change: %d, %v", code, err)
	}
	if err := os.WriteFile(path, []byte("basic_auth_users:\n  alice: "+bcryptHash(t, "new")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, err := status(t, c, http.MethodGet, url, "alice", "old"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("old password after the change: %d, %v; want 401", code, err)
	}
	if code, err := status(t, c, http.MethodGet, url, "alice", "new"); err != nil || code != http.StatusOK {
		t.Errorf("new password after the change: %d, %v; want 200", code, err)
	}
	if err := os.WriteFile(path, []byte("basic_auth_users: [not, a, map\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, err := status(t, c, http.MethodGet, url, "alice", "new"); err != nil || code != http.StatusInternalServerError {
		t.Errorf("broken file: %d, %v; want 500", code, err)
	}
}
