package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"metricsd/internal/store"
	"metricsd/internal/testnet"
)

// failingDeleter fails every delete after deleting n keys.
type failingDeleter struct{ n int }

func (f failingDeleter) Delete(func([]byte) bool) (int, error) {
	return f.n, errors.New("storage failed: disk on fire")
}

func TestAdminDelete(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		query    string
		body     string // form body, for POST
		code     int
		answer   string
		keysLeft string
	}{
		{"one node", "POST", "match=servers.*.cpu", "", 200, `{"deleted":2}`, "servers.a.mem servers.b.cpu.user top"},
		{"braces", "POST", "match=" + url.QueryEscape("servers.{a,b}.*"), "", 200, `{"deleted":3}`, "servers.b.cpu.user top"},
		{"a literal", "POST", "match=top", "", 200, `{"deleted":1}`, "servers.a.cpu servers.a.mem servers.b.cpu servers.b.cpu.user"},
		{"nothing matches", "POST", "match=nothing.*", "", 200, `{"deleted":0}`, "servers.a.cpu servers.a.mem servers.b.cpu servers.b.cpu.user top"},
		{"in the form body", "POST", "", "match=top", 200, `{"deleted":1}`, "servers.a.cpu servers.a.mem servers.b.cpu servers.b.cpu.user"},
		{"no match", "POST", "", "", 400, `{"deleted":0,"error":"` + errNoMatch + `"}`, "servers.a.cpu servers.a.mem servers.b.cpu servers.b.cpu.user top"},
		{"two matches", "POST", "match=top&match=x", "", 400, `{"deleted":0,"error":"` + errNoMatch + `"}`, "servers.a.cpu servers.a.mem servers.b.cpu servers.b.cpu.user top"},
		{"a bad glob", "POST", "match=" + url.QueryEscape("a.[b"), "", 400, "", "servers.a.cpu servers.a.mem servers.b.cpu servers.b.cpu.user top"},
		{"GET is not a delete", "GET", "match=top", "", 405, "", "servers.a.cpu servers.a.mem servers.b.cpu servers.b.cpu.user top"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := store.NewMemory()
			api := startAPI(t, Config{Storage: st, Deleter: st, Addr: "127.0.0.1:0"})
			for _, k := range strings.Fields("servers.a.cpu servers.a.mem servers.b.cpu servers.b.cpu.user top") {
				if err := st.Put([]byte(k), store.Point{Timestamp: 1, Value: 1}); err != nil {
					t.Fatal(err)
				}
			}
			req, err := http.NewRequest(tt.method, api.url+"/api/v1/admin/delete?"+tt.query, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || (tt.answer != "" && string(body) != tt.answer+"\n") {
				t.Fatalf("%s: %d %q, want %d %q", tt.query, resp.StatusCode, body, tt.code, tt.answer)
			}
			if tt.code == 400 && !strings.Contains(string(body), `"error":`) {
				t.Errorf("a refused delete without an error message: %s", body)
			}
			var keys []string
			st.Keys(func(k []byte) error { keys = append(keys, string(k)); return nil })
			if got := strings.Join(keys, " "); got != tt.keysLeft {
				t.Errorf("keys left: %q, want %q", got, tt.keysLeft)
			}
		})
	}
}

func TestAdminDeleteFailure(t *testing.T) {
	api := startAPI(t, Config{Deleter: failingDeleter{n: 2}, Addr: "127.0.0.1:0"})
	resp, err := http.Post(api.url+"/api/v1/admin/delete?match=*", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || string(body) != `{"deleted":2,"error":"`+errUnavailable+`"}`+"\n" || strings.Contains(string(body), "fire") {
		t.Fatalf("failed delete answered %d %s", resp.StatusCode, body)
	}
}

func TestAdminDeleteUnrouted(t *testing.T) {
	st := store.NewMemory()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"without a Deleter", Config{Addr: "127.0.0.1:0"}},
		{"beyond loopback without access control", Config{Storage: st, Deleter: st, Addr: "0.0.0.0:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := startAPI(t, tt.cfg)
			resp, err := http.Post(api.url+"/api/v1/admin/delete?match=*", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Fatalf("delete: %d, want 404", resp.StatusCode)
			}
		})
	}
}

func TestAdminDeleteIsLogged(t *testing.T) {
	var logs testnet.LogBuffer
	st := store.NewMemory()
	st.Put([]byte("evil"), store.Point{Timestamp: 99999999999, Value: 1})
	api := startAPI(t, Config{Storage: st, Deleter: st, Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	resp, err := http.Post(api.url+"/api/v1/admin/delete?match=evil", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := logs.String(); !strings.Contains(got, `msg="admin delete" match=evil deleted=1 remote=127.0.0.1:`) {
		t.Fatalf("the delete was not logged:\n%s", got)
	}
}
