package main

import (
	"context"
	"fmt"
	"time"

	"metricsd/client"
	"metricsd/internal/protocol"
)

// putUsage describes the put command.
func putUsage() usage {
	return usage{
		synopsis: "put [flags] KEY VALUE [TIMESTAMP]",
		text: `Store VALUE under KEY at TIMESTAMP (unix seconds; default now), replacing
any value KEY has at that second. VALUE is read as Python's float() reads it
(1, 2.5, -1e-3, 1_000, inf, nan), TIMESTAMP as Python's int(). Flags go
before KEY; a negative VALUE needs no "--". Prints nothing on success.`,
	}
}

// putArgs is a parsed put command line.
type putArgs struct {
	key   string
	value float64
	ts    int64
}

// parsePutArgs checks KEY VALUE [TIMESTAMP]; now gives the default
// timestamp.
func parsePutArgs(args []string, now func() time.Time) (putArgs, error) {
	if len(args) < 2 || len(args) > 3 {
		return putArgs{}, fmt.Errorf("want KEY VALUE [TIMESTAMP], got %d arguments", len(args))
	}
	p := putArgs{key: args[0], ts: now().Unix()}
	if err := client.CheckKey(p.key); err != nil {
		return putArgs{}, err
	}
	v, err := protocol.ParseFloat([]byte(args[1]))
	if err != nil {
		return putArgs{}, fmt.Errorf("invalid VALUE %q: want a number as Python's float() reads it", args[1])
	}
	p.value = v
	if len(args) == 3 {
		ts, err := protocol.ParseInt([]byte(args[2]))
		if err != nil {
			return putArgs{}, fmt.Errorf("invalid TIMESTAMP %q: want an integer (unix seconds) that fits 64 bits", args[2])
		}
		p.ts = ts
	}
	return p, nil
}

// runPut is the put command.
func runPut(ctx context.Context, args []string, std stdio) int {
	var cf clientFlags
	fs := newClientFlagSet("put", &cf)
	if code, done := parseArgs(fs, args, putUsage(), std); done {
		return code
	}
	if err := cf.check(); err != nil {
		return usageError(std, "put", err)
	}
	p, err := parsePutArgs(fs.Args(), time.Now)
	if err != nil {
		return usageError(std, "put", err)
	}
	err = cf.withClient(ctx, func(ctx context.Context, c *client.Client) error {
		return c.Put(ctx, p.key, p.value, p.ts)
	})
	if err != nil {
		return failure(std, "put", err)
	}
	return exitOK
}
