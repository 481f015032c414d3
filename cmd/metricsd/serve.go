package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"metricsd"
)

// shutdownTimeout bounds the graceful shutdown after SIGINT or SIGTERM.
const shutdownTimeout = 10 * time.Second

// serveUsage describes the serve command.
func serveUsage() usage {
	return usage{
		synopsis: "serve [flags]",
		text: `Serve the metrics protocol until SIGINT or SIGTERM, then shut down
gracefully. The log goes to stderr; its first line says where the server
listens ("metricsd listening" addr=HOST:PORT), with the port actually bound
when --addr asks for port 0.`,
	}
}

// newServeFlagSet returns the serve flags, bound to the fields of cfg, whose
// current values are the defaults. Flags for new Config fields go here.
func newServeFlagSet(cfg *metricsd.Config) *flag.FlagSet {
	fs := newFlagSet("serve")
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr,
		"listen `address` host:port (port 0 picks a free port)")
	fs.IntVar(&cfg.MaxLineLength, "max-line-length", cfg.MaxLineLength,
		"longest request line in `bytes`; a longer line is answered with an error")
	return fs
}

// serveConfig builds the server's Config from the serve command's
// arguments. It returns flag.ErrHelp for --help.
func serveConfig(args []string) (metricsd.Config, error) {
	cfg := metricsd.DefaultConfig()
	fs := newServeFlagSet(&cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Addr == "" {
		return cfg, errors.New("--addr must not be empty")
	}
	if cfg.MaxLineLength < 1 {
		return cfg, fmt.Errorf("--max-line-length %d must be at least 1", cfg.MaxLineLength)
	}
	return cfg, nil
}

// runServe is the serve command.
func runServe(ctx context.Context, args []string, std stdio) int {
	cfg, err := serveConfig(args)
	if errors.Is(err, flag.ErrHelp) {
		defaults := metricsd.DefaultConfig()
		serveUsage().print(std.out, newServeFlagSet(&defaults))
		return exitOK
	}
	if err != nil {
		return usageError(std, "serve", err)
	}
	log := slog.New(slog.NewTextHandler(std.err, nil))
	cfg.Logger = log
	if err := serve(ctx, cfg); err != nil {
		log.Error("metricsd failed", "err", err)
		return exitFailure
	}
	return exitOK
}

// serve runs a server with cfg until ctx ends, then shuts it down within
// shutdownTimeout. The server logs "metricsd listening" with the bound
// address once the listener is open.
func serve(ctx context.Context, cfg metricsd.Config) error {
	srv, err := metricsd.NewServer(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	cfg.Logger.Info("metricsd shutting down", "cause", context.Cause(ctx))
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-served
}
