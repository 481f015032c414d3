package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
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

// passwordEnv holds the basic-auth password of `metricsd delete --user`:
// an environment variable rather than a flag, which ps would show.
const passwordEnv = "METRICSD_HTTP_PASSWORD"

// runDelete is the delete command.
func runDelete(ctx context.Context, args []string, std stdio) int {
	fs := newFlagSet("delete")
	var tf clientFlags // only its TLS fields
	addr := fs.String("http-addr", "127.0.0.1:8889", "the server's HTTP API address (host:port)")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on the whole request")
	user := fs.String("user", "", "basic-auth `user` of the server's --web-config-file; the password comes from $"+passwordEnv)
	fs.BoolVar(&tf.tls, "tls", false, "speak HTTPS, verifying the server against the system's CAs")
	fs.StringVar(&tf.tlsCA, "tls-ca", "", "speak HTTPS, verifying the server against the CAs in this PEM `file`")
	fs.StringVar(&tf.tlsCert, "tls-cert", "", "client certificate PEM `file` (needs --tls-key)")
	fs.StringVar(&tf.tlsKey, "tls-key", "", "private key PEM `file` of --tls-cert")
	if code, done := parseArgs(fs, args, deleteUsage(), std); done {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(std, "delete", fmt.Errorf("want one GLOB, got %d arguments", fs.NArg()))
	}
	if *timeout <= 0 {
		return usageError(std, "delete", errors.New("--timeout must be positive"))
	}
	if (tf.tlsCert == "") != (tf.tlsKey == "") {
		return usageError(std, "delete", errors.New("--tls-cert and --tls-key go together"))
	}
	tlsCfg, err := tf.tlsConfig()
	if err != nil {
		return failure(std, "delete", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	n, err := deleteKeys(ctx, deleteRequest{addr: *addr, glob: fs.Arg(0), user: *user, password: os.Getenv(passwordEnv), tls: tlsCfg})
	if err != nil {
		return failure(std, "delete", err)
	}
	fmt.Fprintf(std.out, "%d\n", n)
	return exitOK
}

// deleteRequest is one call of the delete API.
type deleteRequest struct {
	addr, glob     string
	user, password string      // basic auth when user is set
	tls            *tls.Config // HTTPS when set
}

// deleteKeys asks the server to delete the keys r.glob matches.
func deleteKeys(ctx context.Context, r deleteRequest) (int, error) {
	u := url.URL{Scheme: "http", Host: r.addr, Path: "/api/v1/admin/delete", RawQuery: url.Values{"match": {r.glob}}.Encode()}
	hc := &http.Client{}
	if r.tls != nil {
		u.Scheme = "https"
		hc.Transport = &http.Transport{TLSClientConfig: r.tls}
	}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.password)
	}
	resp, err := hc.Do(req)
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
	if resp.StatusCode == http.StatusUnauthorized {
		return 0, fmt.Errorf("server answered %s: give --user and $%s as in its --web-config-file", resp.Status, passwordEnv)
	}
	if resp.StatusCode == http.StatusNotFound {
		return 0, fmt.Errorf("server answered %s: it has no admin API here (an HTTP address beyond loopback without access control does not serve it)", resp.Status)
	}
	if jerr := json.Unmarshal(body, &ans); jerr != nil {
		return 0, fmt.Errorf("server answered %s: %.200q", resp.Status, body)
	}
	if resp.StatusCode != http.StatusOK {
		return ans.Deleted, fmt.Errorf("server answered %s: %s (%d keys deleted)", resp.Status, ans.Error, ans.Deleted)
	}
	return ans.Deleted, nil
}
