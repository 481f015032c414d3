package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"metricsd/internal/store"
	"metricsd/internal/tags"
)

// tagsAPI serves graphite-web's tag endpoints (/tags, /tags/<tag>,
// /tags/autoComplete/*, /tags/findSeries) from the store's keys.
//
// There is no tag index: each request scans the keys once (store.ForEachKey)
// under the request's deadline, so the answer always agrees with the store
// and nothing else holds a copy of the series; the cost is one pass over the
// keys per request (see docs/graphite.md).
type tagsAPI struct {
	api *graphiteAPI
}

// Texts of the errors the tag endpoints answer, in graphite-web's words
// where it has them; the JSON body is graphite-web's {"error": text}.
const (
	errTextOnlyEmpty = "At least one tagspec must not match the empty string"
	errTextNoExprs   = "no tag expressions specified"
	errTextNoTag     = "no tag specified"
	errTextRegexp    = "invalid regular expression"
	errTextLimit     = "limit must be a whole number, 0 or more"
)

// names returns the store's key scan as the tags package wants it.
func (t *tagsAPI) names(ctx context.Context) tags.Names {
	return func(fn func(name []byte) error) error { return store.ForEachKey(ctx, t.api.st, fn) }
}

// tagList serves /tags: [{"tag": ...}, ...] (graphite-web also sends its
// database ids, which mean nothing here and are left out).
func (t *tagsAPI) tagList(w http.ResponseWriter, r *http.Request) {
	// graphite-web reads these from the query string only (request.GET).
	q := r.URL.Query()
	limit, ok := t.limit(w, q.Get("limit"), tags.NoLimit)
	if !ok {
		return
	}
	list, err := tags.ListTags(t.names(r.Context()), q.Get("filter"), limit)
	if err != nil {
		t.failed(w, r, err)
		return
	}
	out := make([]tagJSON, len(list))
	for i, tag := range list {
		out[i] = tagJSON{Tag: tag}
	}
	t.answer(w, r, out)
}

// tagJSON is one element of /tags.
type tagJSON struct {
	Tag string `json:"tag"`
}

// tagDetailsJSON is the answer of /tags/<tag>.
type tagDetailsJSON struct {
	Tag    string      `json:"tag"`
	Values []valueJSON `json:"values"`
}

// valueJSON is one value of /tags/<tag>.
type valueJSON struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// tagDetails serves /tags/<tag>: the tag's values with their series counts,
// or null when no series has the tag.
func (t *tagsAPI) tagDetails(w http.ResponseWriter, r *http.Request) {
	if !t.api.parseForm(w, r) {
		return
	}
	limit, ok := t.limit(w, r.Form.Get("limit"), tags.NoLimit)
	if !ok {
		return
	}
	tag := r.PathValue("tag")
	values, found, err := tags.TagValues(t.names(r.Context()), tag, r.Form.Get("filter"), limit)
	if err != nil {
		t.failed(w, r, err)
		return
	}
	if !found {
		t.answer(w, r, nil)
		return
	}
	out := tagDetailsJSON{Tag: tag, Values: make([]valueJSON, len(values))}
	for i, v := range values {
		out.Values[i] = valueJSON{v.Value, v.Count}
	}
	t.answer(w, r, out)
}

// findSeries serves /tags/findSeries: the sorted names the expr parameters
// select.
func (t *tagsAPI) findSeries(w http.ResponseWriter, r *http.Request) {
	if !t.api.parseForm(w, r) {
		return
	}
	exprs := exprParams(r.Form)
	if len(exprs) == 0 {
		t.refuse(w, errTextNoExprs)
		return
	}
	names, err := tags.FindSeries(t.names(r.Context()), exprs)
	if err != nil {
		t.failed(w, r, err)
		return
	}
	t.answer(w, r, nonNil(names))
}

// autoCompleteTags serves /tags/autoComplete/tags (expr, tagPrefix, limit).
func (t *tagsAPI) autoCompleteTags(w http.ResponseWriter, r *http.Request) {
	if !t.api.parseForm(w, r) {
		return
	}
	limit, ok := t.limit(w, r.Form.Get("limit"), tags.DefaultAutoCompleteLimit)
	if !ok {
		return
	}
	list, err := tags.AutoCompleteTags(t.names(r.Context()), exprParams(r.Form), r.Form.Get("tagPrefix"), limit)
	if err != nil {
		t.failed(w, r, err)
		return
	}
	t.answer(w, r, nonNil(list))
}

// autoCompleteValues serves /tags/autoComplete/values (tag, expr,
// valuePrefix, limit).
func (t *tagsAPI) autoCompleteValues(w http.ResponseWriter, r *http.Request) {
	if !t.api.parseForm(w, r) {
		return
	}
	tag := r.Form.Get("tag")
	if tag == "" {
		t.refuse(w, errTextNoTag)
		return
	}
	limit, ok := t.limit(w, r.Form.Get("limit"), tags.DefaultAutoCompleteLimit)
	if !ok {
		return
	}
	list, err := tags.AutoCompleteValues(t.names(r.Context()), exprParams(r.Form), tag, r.Form.Get("valuePrefix"), limit)
	if err != nil {
		t.failed(w, r, err)
		return
	}
	t.answer(w, r, nonNil(list))
}

// exprParams returns the expr parameters, or expr[] as jQuery sends them.
func exprParams(form url.Values) []string {
	if e := form["expr"]; len(e) > 0 {
		return e
	}
	return form["expr[]"]
}

// nonNil makes an empty answer [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// limit reads a limit parameter: def when absent; graphite-web's int(); a
// negative limit is refused (graphite-web's answer to one depends on the
// endpoint and is never useful).
func (t *tagsAPI) limit(w http.ResponseWriter, s string, def int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		t.refuse(w, errTextLimit)
		return 0, false
	}
	return n, true
}

// failed answers an error of the tags package or of the key scan.
func (t *tagsAPI) failed(w http.ResponseWriter, r *http.Request, err error) {
	var ee *tags.ExprError
	switch {
	case errors.Is(err, tags.ErrOnlyEmpty):
		t.refuse(w, errTextOnlyEmpty)
	case errors.Is(err, tags.ErrRegexp):
		t.api.log.Debug("bad regular expression in a tag request", "path", r.URL.Path, "err", err)
		t.refuse(w, errTextRegexp)
	case errors.As(err, &ee):
		t.refuse(w, "Invalid tagspec "+ee.Expr)
	default:
		t.api.serverError(w, r, err)
	}
}

// refuse answers 400 with graphite-web's JSON error body.
func (t *tagsAPI) refuse(w http.ResponseWriter, text string) {
	writeJSONError(w, http.StatusBadRequest, text)
}

// writeJSONError answers status with graphite-web's JSON error body,
// {"error": text}.
func writeJSONError(w http.ResponseWriter, status int, text string) {
	quoted, err := json.Marshal(text)
	if err != nil { // a string always encodes; keep the answer valid anyway
		quoted = []byte(`"bad request"`)
	}
	body := append(append([]byte(`{"error": `), quoted...), '}')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// answer sends v as JSON.
func (t *tagsAPI) answer(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		t.api.serverError(w, r, fmt.Errorf("encode tag answer: %w", err))
		return
	}
	writeJSON(w, body)
}
