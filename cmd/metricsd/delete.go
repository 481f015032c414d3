package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// deleteUsage describes the delete command.
func deleteUsage() usage {
	return usage{
		synopsis: "delete [flags] GLOB",
		text: `Delete every key that the Graphite glob GLOB matches, with its points, on the
server whose HTTP API is at --http-addr (POST /api/v1/admin/delete), and print
how many keys were deleted. A glob matches whole keys node by node ('*' does
not cross a '.'): 'servers.*.cpu', 'servers.{a,b}.*', 'evil'. With a data
directory the delete is as durable as a put; a key put again later is a new
series, at the end of the first-insertion order. Quote GLOB from the shell.`,
	}
}

// runDelete is the delete command.
func runDelete(ctx context.Context, args []string, std stdio) int {
	fs := newFlagSet("delete")
	addr := fs.String("http-addr", "127.0.0.1:8889", "the server's HTTP API address (host:port)")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on the whole request")
	if code, done := parseArgs(fs, args, deleteUsage(), std); done {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(std, "delete", fmt.Errorf("want one GLOB, got %d arguments", fs.NArg()))
	}
	if *timeout <= 0 {
		return usageError(std, "delete", errors.New("--timeout must be positive"))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	n, err := deleteKeys(ctx, *addr, fs.Arg(0))
	if err != nil {
		return failure(std, "delete", err)
	}
	fmt.Fprintf(std.out, "%d\n", n)
	return exitOK
}

// deleteKeys asks the server at addr to delete the keys glob matches.
func deleteKeys(ctx context.Context, addr, glob string) (int, error) {
	u := url.URL{Scheme: "http", Host: addr, Path: "/api/v1/admin/delete", RawQuery: url.Values{"match": {glob}}.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("read the answer: %w", err)
	}
	var ans struct {
		Deleted int    `json:"deleted"`
		Error   string `json:"error"`
	}
	if jerr := json.Unmarshal(body, &ans); jerr != nil {
		return 0, fmt.Errorf("server answered %s: %.200q", resp.Status, body)
	}
	if resp.StatusCode != http.StatusOK {
		return ans.Deleted, fmt.Errorf("server answered %s: %s (%d keys deleted)", resp.Status, ans.Error, ans.Deleted)
	}
	return ans.Deleted, nil
}
