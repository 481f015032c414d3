package graphite

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"metricsd/internal/testcerts"
	"metricsd/internal/testnet"
)

// startTLSReceiver serves Graphite over TLS with a fresh test CA; with
// mutual, client certificates signed by it are required.
func startTLSReceiver(t *testing.T, mutual bool) (*testReceiver, *testcerts.Set) {
	t.Helper()
	certs, err := testcerts.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{certs.Server}, MinVersion: tls.VersionTLS12}
	if mutual {
		cfg.ClientCAs = certs.CAPool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return startReceiver(t, ReceiverConfig{TLS: cfg}), certs
}

// sendTLS writes lines over TLS with clientCfg and closes, then waits until
// the receiver has finished with the connection. It returns the
// handshake's error (the client's side).
func (tr *testReceiver) sendTLS(t *testing.T, clientCfg *tls.Config, lines string) error {
	t.Helper()
	raw := tr.dial(t)
	clientCfg.ServerName = "127.0.0.1"
	c := tls.Client(raw, clientCfg)
	err := c.Handshake()
	if err == nil {
		_, err = io.WriteString(c, lines)
	}
	if err == nil {
		err = c.CloseWrite()
	}
	if err == nil {
		// TLS 1.3 reports a refused client certificate only at the first
		// read after the handshake: read until the server closes.
		c.SetReadDeadline(time.Now().Add(testTimeout))
		_, err = c.Read(make([]byte, 1))
		if err == io.EOF {
			err = nil
		}
	}
	c.Close()
	testnet.WaitFor(t, "connection handled", func() bool { return testutil.ToFloat64(tr.rcv.metrics.open) == 0 })
	return err
}

func TestReceiverTLS(t *testing.T) {
	tr, certs := startTLSReceiver(t, false)
	if err := tr.sendTLS(t, &tls.Config{RootCAs: certs.CAPool}, "secure.line 1.5 1500000000\n"); err != nil {
		t.Fatalf("TLS send: %v", err)
	}
	if got := points(t, tr.store, "secure.line"); len(got) != 1 || got[0] != "1.5@1500000000" {
		t.Errorf("stored %v, want [1.5@1500000000]", got)
	}
}

func TestReceiverMutualTLS(t *testing.T) {
	tr, certs := startTLSReceiver(t, true)
	with := &tls.Config{RootCAs: certs.CAPool, Certificates: []tls.Certificate{certs.Client}}
	if err := tr.sendTLS(t, with, "mtls.ok 1 1500000000\n"); err != nil {
		t.Fatalf("mTLS send with a client certificate: %v", err)
	}
	if err := tr.sendTLS(t, &tls.Config{RootCAs: certs.CAPool}, "mtls.nocert 1 1500000000\n"); err == nil {
		t.Error("mTLS send without a client certificate: no error")
	}
	if got := points(t, tr.store, "mtls.ok"); len(got) != 1 {
		t.Errorf("mtls.ok stored %v, want one point", got)
	}
	if got := points(t, tr.store, "mtls.nocert"); len(got) != 0 {
		t.Errorf("a client without a certificate stored %v", got)
	}
	if got := testutil.ToFloat64(tr.rcv.metrics.handshakeFailures); got != 1 {
		t.Errorf("handshake failures = %v, want 1", got)
	}
}

// TestReceiverTLSRefusesPlainTCP sends a plaintext line to the TLS port:
// the receiver fails the handshake, stores nothing and closes the
// connection (the client reads an end, not a hang).
func TestReceiverTLSRefusesPlainTCP(t *testing.T) {
	tr, _ := startTLSReceiver(t, false)
	c := tr.dial(t)
	if _, err := io.WriteString(c, "plain.line 1 1500000000\n"); err != nil {
		t.Fatal(err)
	}
	// The server answers a TLS alert at most, then closes.
	if _, err := io.Copy(io.Discard, c); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the TLS port kept a plain TCP connection open: %v", err)
		}
	}
	testnet.WaitFor(t, "connection closed", func() bool { return testutil.ToFloat64(tr.rcv.metrics.open) == 0 })
	if got := points(t, tr.store, "plain.line"); len(got) != 0 {
		t.Errorf("plain TCP on the TLS port stored %v", got)
	}
	if got := testutil.ToFloat64(tr.rcv.metrics.handshakeFailures); got != 1 {
		t.Errorf("handshake failures = %v, want 1", got)
	}
}
