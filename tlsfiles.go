package metricsd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// loadTLS builds the TLS configuration of a TCP port (the protocol's,
// Graphite's) from PEM files: a server certificate and key and, when caFile
// is set, the CAs whose client certificates are required (mutual TLS). It
// returns nil when certFile is empty (TLS off). port names the port in
// errors.
func loadTLS(port, certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("metricsd: load %s TLS key pair %s, %s: %w", port, certFile, keyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("metricsd: read %s client CA file: %w", port, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("metricsd: %s client CA file %s holds no PEM certificate", port, caFile)
	}
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	return cfg, nil
}

// graphiteTLSConfig loads the Graphite port's TLS files, or returns nil
// when its TLS is off.
func (c Config) graphiteTLSConfig() (*tls.Config, error) {
	return loadTLS("Graphite", c.GraphiteTLSCertFile, c.GraphiteTLSKeyFile, c.GraphiteTLSClientCAFile)
}

// validateGraphiteTLS checks the Graphite TLS fields the way validate
// checks the protocol's.
func (c Config) validateGraphiteTLS() error {
	if (c.GraphiteTLSCertFile == "") != (c.GraphiteTLSKeyFile == "") {
		return errors.New("metricsd: Graphite TLS needs both a certificate and a key file")
	}
	if c.GraphiteTLSClientCAFile != "" && c.GraphiteTLSCertFile == "" {
		return errors.New("metricsd: a Graphite client CA file needs Graphite TLS (certificate and key files)")
	}
	if c.GraphiteTLSCertFile != "" && c.GraphiteAddr == "" {
		return errors.New("metricsd: Graphite TLS is served on the Graphite port, which has no address")
	}
	return nil
}
