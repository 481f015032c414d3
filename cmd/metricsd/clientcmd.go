package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"metricsd"
	"metricsd/client"
)

// defaultTimeout bounds a put or get, connecting included.
const defaultTimeout = 5 * time.Second

// clientFlags are the flags shared by the commands that talk to a server.
type clientFlags struct {
	addr    string
	timeout time.Duration
	tlsCA   string // CA file; setting any TLS flag turns TLS on
	tlsCert string
	tlsKey  string
	tls     bool
}

// newClientFlagSet returns a FlagSet named name with the shared client flags
// bound to cf.
func newClientFlagSet(name string, cf *clientFlags) *flag.FlagSet {
	fs := newFlagSet(name)
	fs.StringVar(&cf.addr, "addr", metricsd.DefaultAddr, "server `address` host:port")
	fs.DurationVar(&cf.timeout, "timeout", defaultTimeout,
		"bound on the whole command, connecting included (0 = none)")
	fs.BoolVar(&cf.tls, "tls", false, "speak TLS, verifying the server against the system's CAs")
	fs.StringVar(&cf.tlsCA, "tls-ca", "", "speak TLS, verifying the server against the CAs in this PEM `file`")
	fs.StringVar(&cf.tlsCert, "tls-cert", "", "client certificate PEM `file` for mutual TLS (needs --tls-key)")
	fs.StringVar(&cf.tlsKey, "tls-key", "", "private key PEM `file` of --tls-cert")
	return fs
}

// check validates the flags.
func (cf clientFlags) check() error {
	if cf.addr == "" {
		return errors.New("--addr must not be empty")
	}
	if cf.timeout < 0 {
		return errors.New("--timeout must not be negative")
	}
	if (cf.tlsCert == "") != (cf.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	return nil
}

// tlsConfig builds the client's TLS configuration, or nil without TLS.
func (cf clientFlags) tlsConfig() (*tls.Config, error) {
	if !cf.tls && cf.tlsCA == "" && cf.tlsCert == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cf.tlsCA != "" {
		pem, err := os.ReadFile(cf.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("read --tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", cf.tlsCA)
		}
	}
	if cf.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cf.tlsCert, cf.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// context returns ctx bounded by the --timeout.
func (cf clientFlags) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if cf.timeout == 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, cf.timeout)
}

// withClient dials the server and runs fn with a client, under --timeout.
func (cf clientFlags) withClient(ctx context.Context, fn func(context.Context, *client.Client) error) error {
	ctx, cancel := cf.context(ctx)
	defer cancel()
	tlsCfg, err := cf.tlsConfig()
	if err != nil {
		return err
	}
	var opts []client.Option
	if tlsCfg != nil {
		opts = append(opts, client.WithTLS(tlsCfg))
	}
	c, err := client.Dial(ctx, cf.addr, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}
