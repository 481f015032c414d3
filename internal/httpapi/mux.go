package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// route is one handler of the mux, under the patterns that reach it.
type route struct {
	name     string // the "handler" label of the HTTP metrics
	patterns []string
	handler  http.Handler
}

// adminPrefixes are the paths under which a route is an admin route (see
// route.admin).
var adminPrefixes = [...]string{"/debug/pprof", "/api/v1/admin"}

// admin reports whether r is an admin route: one of its patterns lies
// under /debug/pprof/ or /api/v1/admin/. Admin routes can profile the
// process or change the store, so newMux mounts them only behind access
// control or on a loopback address. The property follows from the path,
// so that an admin route added later cannot forget to be marked: put it
// under /api/v1/admin/ and it is gated.
func (r route) admin() bool {
	for _, p := range r.patterns {
		path := p
		if _, after, ok := strings.Cut(p, " "); ok { // "METHOD /path"
			path = after
		}
		if i := strings.IndexByte(path, '/'); i > 0 { // "host/path"
			path = path[i:]
		}
		for _, prefix := range adminPrefixes {
			if path == prefix || strings.HasPrefix(path, prefix+"/") {
				return true
			}
		}
	}
	return false
}

// newMux builds the routes of cfg, each instrumented. Handlers are
// mounted on their own mux, never on http.DefaultServeMux, so that nothing
// (pprof included) is served unless configured here. Admin routes are
// left out, with a warning, unless acc allows them.
func newMux(cfg Config, acc access) (*http.ServeMux, error) {
	api := &graphiteAPI{st: cfg.Storage, now: cfg.Now, log: cfg.Logger}
	routes := []route{
		// graphite-web accepts these paths with and without a final slash.
		{"find", []string{"GET /metrics/find", "POST /metrics/find", "GET /metrics/find/{$}", "POST /metrics/find/{$}"}, bounded(api.find)},
		{"render", []string{"GET /render", "POST /render", "GET /render/{$}", "POST /render/{$}"}, bounded(api.render)},
		{"index", []string{"GET /metrics/index.json", "POST /metrics/index.json"}, bounded(api.index)},
		{"healthz", []string{"GET /healthz"}, http.HandlerFunc(healthz)},
		{"readyz", []string{"GET /readyz"}, readyz(cfg.Ready)},
	}
	if cfg.Gatherer != nil {
		h := promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
			ErrorLog:      slogPrinter{cfg.Logger},
			ErrorHandling: promhttp.ContinueOnError, // a broken collector must not hide the others
			Registry:      cfg.Registerer,           // counts promhttp's own errors
		})
		routes = append(routes, route{"metrics", []string{"GET /metrics"}, h})
	}
	if cfg.Pprof {
		routes = append(routes,
			route{"pprof", []string{"GET /debug/pprof/"}, http.HandlerFunc(pprof.Index)},
			route{"pprof", []string{"GET /debug/pprof/cmdline"}, http.HandlerFunc(pprof.Cmdline)},
			route{"pprof", []string{"GET /debug/pprof/profile"}, http.HandlerFunc(pprof.Profile)},
			route{"pprof", []string{"GET /debug/pprof/symbol", "POST /debug/pprof/symbol"}, http.HandlerFunc(pprof.Symbol)},
			route{"pprof", []string{"GET /debug/pprof/trace"}, http.HandlerFunc(pprof.Trace)},
		)
	}
	m, err := newHTTPMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return mount(routes, acc, m, cfg.Logger, cfg.Addr), nil
}

// mount puts routes on a new mux, each instrumented under its name. An
// admin route is left out, and a warning logged at start, unless acc
// allows admin routes: a request for it is then a 404, as for any path
// not served.
func mount(routes []route, acc access, m *httpMetrics, log *slog.Logger, addr string) *http.ServeMux {
	mux := http.NewServeMux()
	var gated []string
	for _, r := range routes {
		if r.admin() && !acc.adminAllowed() {
			gated = append(gated, r.patterns...)
			continue
		}
		h := m.instrument(r.name, r.handler)
		for _, p := range r.patterns {
			mux.Handle(p, h)
		}
	}
	if len(gated) > 0 {
		log.Warn("admin routes not served: the HTTP API has no access control (--web-config-file with basic_auth_users or client_auth_type RequireAndVerifyClientCert) and listens beyond loopback", "addr", addr, "routes", gated)
	}
	return mux
}

// bounded gives a Graphite request a deadline of writeTimeout: past it the
// answer can't be written any more, so scanning keys or reading series on
// would only waste the server's time.
func bounded(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), writeTimeout)
		defer cancel()
		h(w, r.WithContext(ctx))
	})
}

// httpMetrics count the HTTP API's requests.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metricsd_http_requests_total",
			Help: "HTTP requests answered, by handler, method and status code.",
		}, []string{"handler", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "metricsd_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by handler.",
			Buckets: prometheus.ExponentialBuckets(1e-4, 4, 10), // 100 µs .. 26 s
		}, []string{"handler"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("httpapi: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// instrument counts and times h's requests under the handler label name.
func (m *httpMetrics) instrument(name string, h http.Handler) http.Handler {
	labels := prometheus.Labels{"handler": name}
	h = promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(labels), h)
	return promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(labels), h)
}
