package main

import (
	"context"
	"errors"
	"flag"
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
}

// newClientFlagSet returns a FlagSet named name with the shared client flags
// bound to cf.
func newClientFlagSet(name string, cf *clientFlags) *flag.FlagSet {
	fs := newFlagSet(name)
	fs.StringVar(&cf.addr, "addr", metricsd.DefaultAddr, "server `address` host:port")
	fs.DurationVar(&cf.timeout, "timeout", defaultTimeout,
		"bound on the whole command, connecting included (0 = none)")
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
	return nil
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
	c, err := client.Dial(ctx, cf.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c)
}
