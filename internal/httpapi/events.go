package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"

	"metricsd/internal/events"
	"metricsd/internal/graphiteweb"
)

// GraphiteWebVersion is what /version answers: the graphite-web release
// whose API metricsd follows. Grafana reads it to pick the version of its
// Graphite data source (1.1.x turns on tags and /functions).
const GraphiteWebVersion = "1.1.8"

// version serves /version as graphite-web does: the bare version string.
func version(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, GraphiteWebVersion)
}

// eventsAPI serves graphite-web's events: POST /events/ and
// /events/get_data, the annotations of Grafana's Graphite data source.
type eventsAPI struct {
	api    *graphiteAPI
	events *events.Store
}

// Texts of the event errors; the one about tags is graphite-web's own.
const (
	errTextEventJSON  = "the body must be a JSON object"
	errTextEventTags  = `"tags" must be an array or space-separated string`
	errTextEventWhat  = `"what" must be a string`
	errTextEventWhen  = `"when" must be a number of seconds since 1970 within years 1 to 9999`
	errTextEventFull  = "too many events stored"
	errTextEventLarge = "event too large"
	// errTextEventsNotReady answers while the data directory is being
	// recovered (the events file is loaded after it) or after shutdown.
	errTextEventsNotReady = "events not loaded yet: the server is starting or stopping"
)

// Bounds of "when": Python's datetime covers years 1 to 9999.
const (
	minWhenSeconds = -62135596800
	maxWhenSeconds = 253402300799
)

// postedEvent is the JSON body of POST /events/, each field kept raw so
// that its type can be checked as graphite-web checks it.
type postedEvent struct {
	What json.RawMessage `json:"what"`
	Tags json.RawMessage `json:"tags"`
	Data json.RawMessage `json:"data"`
	When json.RawMessage `json:"when"`
}

// post serves POST /events/: 200 with an empty body once the event is
// stored (and, with a data directory, fsynced).
func (e *eventsAPI) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, events.MaxEventBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, errTextEventLarge)
			return
		}
		e.api.badRequest(w, r, &graphiteweb.QueryError{Msg: "malformed request: " + err.Error()})
		return
	}
	ev, text := e.decode(body)
	if text != "" {
		e.refuse(w, r, text)
		return
	}
	if _, err := e.events.Add(ev); err != nil {
		switch {
		case errors.Is(err, events.ErrFull):
			writeJSONError(w, http.StatusInsufficientStorage, errTextEventFull)
		case errors.Is(err, events.ErrTooLarge):
			writeJSONError(w, http.StatusRequestEntityTooLarge, errTextEventLarge)
		case errors.Is(err, events.ErrNotOpen), errors.Is(err, events.ErrClosed):
			writeJSONError(w, http.StatusServiceUnavailable, errTextEventsNotReady)
		default:
			e.api.serverError(w, r, err)
		}
		return
	}
	w.WriteHeader(http.StatusOK)
}

// decode reads a posted event; a non-empty text is why it is refused.
func (e *eventsAPI) decode(body []byte) (events.Event, string) {
	var p postedEvent
	var ev events.Event
	if err := json.Unmarshal(body, &p); err != nil || !strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
		return ev, errTextEventJSON
	}
	if !isJSONString(p.What) || json.Unmarshal(p.What, &ev.What) != nil {
		return ev, errTextEventWhat
	}
	switch {
	case isNull(p.Tags):
	case isJSONString(p.Tags):
		if json.Unmarshal(p.Tags, &ev.Tags) != nil {
			return ev, errTextEventTags
		}
	default:
		var list []string
		if json.Unmarshal(p.Tags, &list) != nil {
			return ev, errTextEventTags
		}
		ev.Tags = strings.Join(list, " ")
	}
	switch {
	case isNull(p.Data):
	case isJSONString(p.Data):
		if json.Unmarshal(p.Data, &ev.Data) != nil {
			return ev, errTextEventJSON
		}
	default:
		// graphite-web stores Python's str() of other values; metricsd
		// keeps their JSON text.
		ev.Data = string(p.Data)
	}
	if p.When == nil {
		ev.WhenUS = e.api.now().UnixMicro()
		return ev, ""
	}
	var when float64
	if isNull(p.When) || json.Unmarshal(p.When, &when) != nil || !(when >= minWhenSeconds && when <= maxWhenSeconds) {
		return ev, errTextEventWhen
	}
	ev.WhenUS = int64(math.Round(when * 1e6)) // Python's datetime keeps microseconds
	return ev, ""
}

// isNull reports whether a raw field is absent or null.
func isNull(raw json.RawMessage) bool { return raw == nil || string(raw) == "null" }

// isJSONString reports whether a raw field is a JSON string.
func isJSONString(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }

// refuse answers 400 with a JSON {"error": text}, as graphite-web does for
// bad tags.
func (e *eventsAPI) refuse(w http.ResponseWriter, r *http.Request, text string) {
	e.api.log.Debug("event refused", "path", r.URL.Path, "reason", text)
	writeJSONError(w, http.StatusBadRequest, text)
}

// eventJSON is one event of /events/get_data, graphite-web's as_dict.
type eventJSON struct {
	When int64    `json:"when"`
	What string   `json:"what"`
	Data string   `json:"data"`
	Tags []string `json:"tags"`
	ID   int64    `json:"id"`
}

// getData serves /events/get_data: the events between from (default the
// epoch) and until (default now) with the tags asked for, sorted by time.
// graphite-web reads only the query string here, for POST too.
func (e *eventsAPI) getData(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := e.api.now()
	query := events.Query{FromUS: 0, UntilUS: now.UnixMicro()}
	if s, ok := q["from"]; ok {
		t, err := graphiteweb.ParseTime(s[0], now)
		if err != nil {
			e.refuse(w, r, err.Error())
			return
		}
		query.FromUS = t.UnixMicro()
	}
	if s, ok := q["until"]; ok {
		t, err := graphiteweb.ParseTime(s[0], now)
		if err != nil {
			e.refuse(w, r, err.Error())
			return
		}
		query.UntilUS = t.UnixMicro()
	}
	if s, ok := q["tags"]; ok {
		query.Tags = strings.Split(s[0], " ")
	}
	switch q.Get("set") {
	case "union":
		query.Set = events.SetUnion
	case "intersection":
		query.Set = events.SetIntersection
	}
	found, err := e.events.Find(query)
	if err != nil {
		writeJSONError(w, http.StatusServiceUnavailable, errTextEventsNotReady)
		return
	}
	out := make([]eventJSON, len(found))
	for i, ev := range found {
		out[i] = eventJSON{
			When: floorDiv(ev.WhenUS, 1e6), // graphite-web's epoch() drops the microseconds
			What: ev.What, Data: ev.Data, Tags: ev.TagList(), ID: ev.ID,
		}
		if out[i].Tags == nil {
			out[i].Tags = []string{}
		}
	}
	body, err := json.Marshal(out)
	if err != nil {
		e.api.serverError(w, r, err)
		return
	}
	writeJSON(w, body)
}

// floorDiv divides rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
