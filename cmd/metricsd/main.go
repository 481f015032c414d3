// Command metricsd runs the metricsd server and talks to it.
//
//	metricsd serve [--addr 127.0.0.1:8888] [--max-line-length 65536]
//	metricsd put [--addr ADDR] [--timeout 5s] KEY VALUE [TIMESTAMP]
//	metricsd get [--addr ADDR] [--timeout 5s] KEY|'*'
//	metricsd bench [-c 50] [-P 1] [-n 100000] [--duration 1m] [--workload put] [--json]
//	metricsd check [--json] [--allow-known] [--prefix P] HOST:PORT
//	metricsd version
//	metricsd help [COMMAND]
//
// Every command takes --help. Exit codes: 0 on success, 1 when the command
// failed at run time (network, server), 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line is wrong
)

// stdio is where a command writes.
type stdio struct {
	out, err io.Writer
}

// command is one subcommand of the dispatch table.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, std stdio) int
}

// commands is the dispatch table, in the order help lists it. Add
// subcommands here.
func commands() []command {
	return []command{
		{"serve", "run the server until SIGINT or SIGTERM", runServe},
		{"put", "store one value", runPut},
		{"get", "print the values of a key, or of all keys with '*'", runGet},
		{"bench", "load a server and report throughput, latency and errors", runBench},
		{"check", "check a server of the protocol against metricsd's behaviour", runCheck},
		{"version", "print the version", runVersion},
		{"help", "show help for metricsd or one command", runHelp},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args (without the program name) and returns the
// exit code. SIGINT and SIGTERM cancel the command's context.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdio{out: stdout, err: stderr})
}

// runContext is run with the context given: tests cancel it instead of
// sending a signal.
func runContext(ctx context.Context, args []string, std stdio) int {
	if len(args) == 0 {
		printMainUsage(std.err)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		printMainUsage(std.out)
		return exitOK
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(std.err, "metricsd: unknown command %q\n\n", name)
		printMainUsage(std.err)
		return exitUsage
	}
	return cmd.run(ctx, args[1:], std)
}

// lookup finds a subcommand by name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// printMainUsage lists the subcommands.
func printMainUsage(w io.Writer) {
	fmt.Fprint(w, "usage: metricsd <command> [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'metricsd <command> --help' for a command's flags.\n")
}

// runHelp prints the main usage, or a command's usage.
func runHelp(ctx context.Context, args []string, std stdio) int {
	switch {
	case len(args) == 0:
		printMainUsage(std.out)
		return exitOK
	case len(args) > 1:
		return usageError(std, "help", fmt.Errorf("want at most one command, got %d arguments", len(args)))
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help":
		printMainUsage(std.out)
		return exitOK
	}
	cmd, ok := lookup(args[0])
	if !ok {
		return usageError(std, "help", fmt.Errorf("unknown command %q", args[0]))
	}
	return cmd.run(ctx, []string{"--help"}, std)
}

// newFlagSet returns a FlagSet that prints nothing by itself: parseArgs
// reports its errors.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// usage describes a subcommand for --help.
type usage struct {
	synopsis string // after "usage: metricsd "
	text     string // what it does, one paragraph or more
}

// print writes the usage and fs's flags to w.
func (u usage) print(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: metricsd %s\n\n%s\n", u.synopsis, u.text)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// parseArgs parses args with fs. When done is true the command must return
// code: --help printed the usage (exit 0) or the flags were wrong (exit 2).
func parseArgs(fs *flag.FlagSet, args []string, u usage, std stdio) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, false
	case errors.Is(err, flag.ErrHelp):
		u.print(std.out, fs)
		return exitOK, true
	default:
		return usageError(std, fs.Name(), err), true
	}
}

// usageError reports a wrong command line and returns exitUsage.
func usageError(std stdio, cmd string, err error) int {
	fmt.Fprintf(std.err, "metricsd %s: %v\nRun 'metricsd %s --help' for usage.\n", cmd, err, cmd)
	return exitUsage
}

// failure reports a run-time failure and returns exitFailure.
func failure(std stdio, cmd string, err error) int {
	fmt.Fprintf(std.err, "metricsd %s: %v\n", cmd, err)
	return exitFailure
}
