package httpapi

import (
	"fmt"
	"net"
	"os"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// access is what the HTTP API knows, at start, about who may reach it:
// the web configuration file (exporter-toolkit's format, served by
// web.Serve) and whether the admin routes may be mounted.
type access struct {
	webConfigFile string // empty: plain HTTP, no authentication
	tls           bool   // the file configures TLS
	controlled    bool   // the file configures basic-auth users or verified client certificates
	loopback      bool   // the API's address is a loopback one
}

// adminAllowed reports whether routes marked admin are mounted: only
// behind access control, or on an address nobody off the machine can
// reach.
func (a access) adminAllowed() bool { return a.controlled || a.loopback }

// newAccess checks the web configuration file with exporter-toolkit's own
// validation (YAML fields, bcrypt hashes, certificate files) and reads what
// the gate needs from it. addr is the address the API will listen on.
func newAccess(webConfigFile, addr string) (access, error) {
	a := access{webConfigFile: webConfigFile, loopback: isLoopback(addr)}
	if webConfigFile == "" {
		return a, nil
	}
	if err := web.Validate(webConfigFile); err != nil {
		return access{}, fmt.Errorf("httpapi: web config file %s: %w", webConfigFile, err)
	}
	// web.Validate has parsed the file strictly; parse it once more into the
	// library's own type to see what it configures.
	raw, err := os.ReadFile(webConfigFile)
	if err != nil {
		return access{}, fmt.Errorf("httpapi: read web config file: %w", err)
	}
	var c web.Config
	if err := yaml.UnmarshalStrict(raw, &c); err != nil {
		return access{}, fmt.Errorf("httpapi: web config file %s: %w", webConfigFile, err)
	}
	a.tls = c.TLSConfig.IsEnabled()
	// Only a certificate checked against the client CA identifies a client;
	// RequireAnyClientCert accepts any self-signed one.
	a.controlled = len(c.Users) > 0 || c.TLSConfig.ClientAuth == "RequireAndVerifyClientCert"
	return a, nil
}

// isLoopback reports whether the listen address addr (host:port) can only
// be reached from this machine: a loopback IP or "localhost". An empty
// host, 0.0.0.0 or any other name listens beyond it.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
