package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
)

// healthz answers while the process serves HTTP at all: liveness.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// readyz answers 200 when ready() is nil, else 503 with its reason: the
// store is loading (replaying its log), has failed, or the server is
// shutting down. Load balancers and orchestrators route by it.
func readyz(ready func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		if err := ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

// slogPrinter lets promhttp report collection errors to the log.
type slogPrinter struct{ log *slog.Logger }

// Println implements promhttp.Logger.
func (p slogPrinter) Println(v ...any) {
	p.log.Warn("metrics collection failed", "err", fmt.Sprint(v...))
}
