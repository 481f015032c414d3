package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"metricsd/internal/graphiteweb"
	"metricsd/internal/store"
)

// maxFormBytes bounds a POSTed form: Grafana posts a few targets, and a
// render or find has no business sending more.
const maxFormBytes = 1 << 20

// defaultFrom is graphite-web's render range when from is not given.
const defaultFrom = "-1d"

// maxTargets bounds the targets of one render: each glob target scans
// every key. A Grafana panel has at most 26 queries (A to Z).
const maxTargets = 256

// graphiteAPI serves graphite-web's endpoints over a store.
type graphiteAPI struct {
	st     store.Engine
	engine *graphiteweb.Engine
	now    func() time.Time
	log    *slog.Logger
}

// find serves /metrics/find: the nodes one level down that a query
// matches, in graphite-web's treejson format.
func (a *graphiteAPI) find(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	form := r.Form
	query, err := requiredParam(form.Get("query"), form.Has("query"))
	if err != nil {
		a.badRequest(w, r, err)
		return
	}
	wildcards, err1 := intParam(form, "wildcards")
	leavesOnly, err2 := intParam(form, "leavesOnly")
	err3 := a.checkFindTimes(form)
	limit, err4 := findLimit(form)
	if err := errors.Join(err1, err2, err3, err4, formatParam(form.Get("format"))); err != nil {
		a.badRequest(w, r, err)
		return
	}
	var nodes []graphiteweb.Node
	if limit > 0 {
		nodes, err = a.engine.FindFirst(r.Context(), query, limit)
	} else {
		nodes, err = a.engine.Find(r.Context(), query)
	}
	if err != nil {
		a.queryFailed(w, r, err)
		return
	}
	writeJSON(w, graphiteweb.AppendTreeJSON(nil, nodes, query, wildcards != 0, leavesOnly != 0))
}

// index serves /metrics/index.json: every key, sorted.
func (a *graphiteAPI) index(w http.ResponseWriter, r *http.Request) {
	keys, err := graphiteweb.Index(r.Context(), a.st)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	writeJSON(w, graphiteweb.AppendIndexJSON(nil, keys))
}

// render serves /render: the points of the targets' series in a time
// range, as JSON or CSV, streamed.
func (a *graphiteAPI) render(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	if f, ok := imageFormat(r.Form); ok {
		a.renderImage(w, r, f)
		return
	}
	req, err := a.renderRequest(r.Form)
	if err != nil {
		a.badRequest(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	ctx, cancel := context.WithTimeout(r.Context(), a.engine.Limits.WithDefaults().Timeout)
	defer cancel()
	list, err := a.engine.Evaluate(ctx, req)
	if err != nil {
		a.queryFailed(w, r, err)
		return
	}
	if req.Format == graphiteweb.FormatCSV {
		h.Set("Content-Type", "text/csv")
	} else if req.Format == graphiteweb.FormatRaw {
		h.Set("Content-Type", "text/plain")
	} else {
		h.Set("Content-Type", "application/json")
	}
	cw := &countingWriter{w: w}
	if err := graphiteweb.WriteSeries(cw, list, req); err != nil {
		a.renderFailed(w, r, cw.n, err)
	}
}

// queryFailed answers an evaluation that failed before anything was
// written: 400 for a bad target, 422 for a passed limit, 503 for the
// time budget, 500 otherwise.
func (a *graphiteAPI) queryFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case graphiteweb.IsLimitError(err):
		a.log.Info("graphite query refused by a limit", "path", r.URL.Path, "err", err)
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
	case graphiteweb.IsRequestError(err):
		a.badRequest(w, r, err)
	case graphiteweb.IsTimeBudget(err) && r.Context().Err() == nil:
		a.log.Warn("graphite query ran out of its time budget", "path", r.URL.Path)
		http.Error(w, "query time budget exceeded (--graphite-query-timeout)", http.StatusServiceUnavailable)
	default:
		a.serverError(w, r, err)
	}
}

// renderFailed handles an error of a render in progress: if nothing was
// sent yet, a 500; if the client went away, nothing; else the response is
// aborted, so that the client sees a broken answer rather than a short one
// that parses.
func (a *graphiteAPI) renderFailed(w http.ResponseWriter, r *http.Request, sent int64, err error) {
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		a.log.Debug("render abandoned by the client", "err", err)
	case sent == 0:
		a.serverError(w, r, err)
	default:
		a.log.Warn("render failed mid-answer; aborting it", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// renderRequest checks a render form as graphite-web does.
func (a *graphiteAPI) renderRequest(form map[string][]string) (graphiteweb.RenderRequest, error) {
	var req graphiteweb.RenderRequest
	var err error
	if req.Targets, err = targets(form); err != nil {
		return req, err
	}
	if req.Format, err = graphiteweb.ParseFormat(first(form, "format")); err != nil {
		return req, err
	}
	if req.From, req.Until, err = a.timeRange(form); err != nil {
		return req, err
	}
	if req.MaxDataPoints, err = maxDataPoints(first(form, "maxDataPoints")); err != nil {
		return req, err
	}
	_, req.NoNullPoints = form["noNullPoints"]
	return req, nil
}

// targets parses the target parameters (or target[], as jQuery sends
// them); blank ones are skipped, as graphite-web skips them.
func targets(form map[string][]string) ([]graphiteweb.Target, error) {
	raw := form["target"]
	if len(raw) == 0 {
		raw = form["target[]"]
	}
	if len(raw) > maxTargets {
		return nil, &graphiteweb.QueryError{Msg: "too many targets: " + strconv.Itoa(len(raw)) + ", at most " + strconv.Itoa(maxTargets)}
	}
	var out []graphiteweb.Target
	for _, s := range raw {
		if strings.TrimSpace(s) == "" {
			continue
		}
		t, err := graphiteweb.ParseTarget(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, &graphiteweb.QueryError{Msg: "missing required parameter 'target'"}
	}
	return out, nil
}

// timeRange reads now, from and until as graphite-web's render does: until
// defaults to now and from to a day before; reversed bounds are swapped,
// and an empty range is an error.
func (a *graphiteAPI) timeRange(form map[string][]string) (from, until int64, err error) {
	now := a.now()
	if s, ok := form["now"]; ok {
		if now, err = graphiteweb.ParseTime(s[0], now); err != nil {
			return 0, 0, err
		}
	}
	f, err := graphiteweb.ParseTime(firstOr(form, "from", defaultFrom), now)
	if err != nil {
		return 0, 0, err
	}
	u, err := graphiteweb.ParseTime(firstOr(form, "until", "now"), now)
	if err != nil {
		return 0, 0, err
	}
	from, until = min(f.Unix(), u.Unix()), max(f.Unix(), u.Unix())
	if from == until {
		return 0, 0, &graphiteweb.QueryError{Msg: "invalid empty time range"}
	}
	return from, until, nil
}

// checkFindTimes checks find's optional now, from and until ("-1" meaning
// absent for the last two) as graphite-web does; find itself ignores them,
// since metricsd's keys don't expire.
func (a *graphiteAPI) checkFindTimes(form map[string][]string) error {
	for _, name := range []string{"now", "from", "until"} {
		v, ok := form[name]
		if !ok || (name != "now" && v[0] == "-1") {
			continue
		}
		if _, err := graphiteweb.ParseTime(v[0], a.now()); err != nil {
			return err
		}
	}
	return nil
}

// firstOr returns form's first value for name, or def if absent.
func firstOr(form map[string][]string, name, def string) string {
	if v, ok := form[name]; ok {
		return v[0]
	}
	return def
}

func first(form map[string][]string, name string) string { return firstOr(form, name, "") }

// maxDataPoints reads maxDataPoints as graphite-web does: a value that is
// not all digits is ignored; 0 is refused (graphite-web fails on it).
func maxDataPoints(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n == 0 {
		return 0, &graphiteweb.QueryError{Msg: "invalid maxDataPoints " + strconv.Quote(s) + ": want a positive integer"}
	}
	return min(n, graphiteweb.MaxDataPointsLimit), nil
}

// requiredParam returns a required parameter's value, or graphite-web's
// errors for a missing or empty one.
func requiredParam(v string, present bool) (string, error) {
	switch {
	case !present:
		return "", &graphiteweb.QueryError{Msg: "missing required parameter 'query'"}
	case v == "":
		return "", &graphiteweb.QueryError{Msg: "required parameter 'query' is empty"}
	}
	return v, nil
}

// intParam reads an optional integer parameter (0 when absent).
func intParam(form map[string][]string, name string) (int, error) {
	s := first(form, name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &graphiteweb.QueryError{Msg: "invalid int value " + strconv.Quote(s) + " for param " + name}
	}
	return n, nil
}

// findLimit reads find's limit, a metricsd extension that the web UI's key
// browser sends (graphite-web has none): at most that many nodes, the first
// by path. 0 or absent means no cap.
func findLimit(form map[string][]string) (int, error) {
	n, err := intParam(form, "limit")
	if err == nil && n < 0 {
		err = &graphiteweb.QueryError{Msg: "invalid limit " + strconv.Itoa(n) + ": want a positive integer"}
	}
	return n, err
}

// formatParam accepts find's only format, graphite-web's default.
func formatParam(s string) error {
	if s != "" && s != "treejson" {
		return &graphiteweb.QueryError{Msg: "invalid value for 'format' parameter: metricsd answers treejson"}
	}
	return nil
}

// parseForm reads the query string and a POSTed form, bounded; it answers
// the error itself and reports whether to go on.
func (a *graphiteAPI) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return false
		}
		a.badRequest(w, r, &graphiteweb.QueryError{Msg: "malformed request: " + err.Error()})
		return false
	}
	return true
}

// badRequest answers a QueryError (or errors.Join of them) with 400 and
// its text.
func (a *graphiteAPI) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Debug("bad graphite query", "path", r.URL.Path, "err", err)
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// serverErrorText is the whole body of every 500: an error's text can
// name files and addresses of the server, so it goes to the log only.
const serverErrorText = "internal error: the server's log has the details"

// serverError answers a failure that is not the request's fault with
// serverErrorText, and logs the failure. A client that went away gets
// nothing.
func (a *graphiteAPI) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	a.log.Warn("graphite API request failed", "path", r.URL.Path, "err", err)
	http.Error(w, serverErrorText, http.StatusInternalServerError)
}

// writeJSON answers 200 with a JSON body that graphite-web marks uncacheable.
func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// countingWriter counts what a streamed answer has sent.
type countingWriter struct {
	w io.Writer
	n int64
}

// Write implements io.Writer.
func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
