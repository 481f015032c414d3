package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"

	"metricsd/client"
	"metricsd/internal/protocol"
)

// getUsage describes the get command.
func getUsage() usage {
	return usage{
		synopsis: "get [flags] KEY|'*'",
		text: `Print the points of KEY, or of every key for '*' (quote it from the shell),
one "<key> <value> <timestamp>" line each: keys in the order they were first
put, points by timestamp, values as Python's repr(). A key without points
prints nothing.`,
	}
}

// runGet is the get command.
func runGet(ctx context.Context, args []string, std stdio) int {
	var cf clientFlags
	fs := newClientFlagSet("get", &cf)
	if code, done := parseArgs(fs, args, getUsage(), std); done {
		return code
	}
	if err := cf.check(); err != nil {
		return usageError(std, "get", err)
	}
	if fs.NArg() != 1 {
		return usageError(std, "get", fmt.Errorf("want one KEY, got %d arguments", fs.NArg()))
	}
	key := fs.Arg(0)
	if err := client.CheckKey(key); err != nil {
		return usageError(std, "get", err)
	}
	var series []client.Series
	err := cf.withClient(ctx, func(ctx context.Context, c *client.Client) error {
		var err error
		series, err = c.GetSeries(ctx, key)
		return err
	})
	if err == nil {
		err = printSeries(std, series)
	}
	if err != nil {
		return failure(std, "get", err)
	}
	return exitOK
}

// printSeries writes one "<key> <value> <timestamp>" line per point.
func printSeries(std stdio, series []client.Series) error {
	w := bufio.NewWriter(std.out)
	var line []byte
	for _, s := range series {
		for _, p := range s.Points {
			line = append(line[:0], s.Key...)
			line = append(line, ' ')
			line = protocol.AppendFloat(line, p.Value)
			line = append(line, ' ')
			line = strconv.AppendInt(line, p.Timestamp, 10)
			line = append(line, '\n')
			w.Write(line) // a write error sticks in w and comes out of Flush
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
