// Package testcerts makes a throwaway certificate authority with server and
// client certificates for 127.0.0.1, so TLS and mutual-TLS tests need no
// files and no network.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Set is a CA and the certificates it signed.
type Set struct {
	CAPool *x509.CertPool
	CAPEM  []byte
	Server tls.Certificate
	Client tls.Certificate
	// PEM forms, for code that loads files.
	ServerCertPEM, ServerKeyPEM []byte
	ClientCertPEM, ClientKeyPEM []byte
}

// New makes a fresh Set valid for an hour.
func New() (*Set, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcerts: ca key: %w", err)
	}
	caTmpl := template(1, "metricsd test CA")
	caTmpl.IsCA = true
	caTmpl.BasicConstraintsValid = true
	caTmpl.KeyUsage = x509.KeyUsageCertSign
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("testcerts: ca cert: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("testcerts: parse ca: %w", err)
	}
	s := &Set{CAPool: x509.NewCertPool(), CAPEM: pemBlock("CERTIFICATE", caDER)}
	s.CAPool.AddCert(ca)

	srvTmpl := template(2, "127.0.0.1")
	srvTmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	srvTmpl.DNSNames = []string{"localhost"}
	srvTmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if s.Server, s.ServerCertPEM, s.ServerKeyPEM, err = leaf(srvTmpl, ca, caKey); err != nil {
		return nil, err
	}
	cliTmpl := template(3, "metricsd test client")
	cliTmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if s.Client, s.ClientCertPEM, s.ClientKeyPEM, err = leaf(cliTmpl, ca, caKey); err != nil {
		return nil, err
	}
	return s, nil
}

func template(serial int64, cn string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
}

// leaf signs tmpl with the CA and returns it as a tls.Certificate and PEM.
func leaf(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (tls.Certificate, []byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("testcerts: key for %s: %w", tmpl.Subject.CommonName, err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("testcerts: cert for %s: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("testcerts: marshal key: %w", err)
	}
	certPEM, keyPEM := pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("testcerts: key pair: %w", err)
	}
	return cert, certPEM, keyPEM, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// Files is where WriteFiles put the PEM files.
type Files struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// WriteFiles writes the PEM files into dir, for tests of file-based
// configuration (flags).
func (s *Set) WriteFiles(dir string) (Files, error) {
	f := Files{
		CA:         filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	for path, data := range map[string][]byte{
		f.CA: s.CAPEM, f.ServerCert: s.ServerCertPEM, f.ServerKey: s.ServerKeyPEM,
		f.ClientCert: s.ClientCertPEM, f.ClientKey: s.ClientKeyPEM,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return Files{}, fmt.Errorf("testcerts: %w", err)
		}
	}
	return f, nil
}
