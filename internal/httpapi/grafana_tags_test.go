package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The requests of this file are the ones Grafana's Graphite data source
// sends for tags, template variables, annotations and its version probe
// (grafana/grafana public/app/plugins/datasource/graphite/datasource.ts:
// getTagsAutoComplete, getTagValuesAutoComplete, metricFindQuery's tags()
// and tag_values(), events(), getVersion; and pkg/tsdb/graphite
// resource_handler.go handleEvents for the back-end mode), with the
// parameters serialized as Grafana's backendSrv does (arrays as repeated
// keys, "=" as %3D), and each answer decoded the way Grafana decodes it.

// grafanaGet sends one request and returns the status and raw body.
func grafanaGet(t *testing.T, a *testAPI, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(a.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// mapToTags decodes an auto-completion answer as Grafana's mapToTags does:
// each element of the JSON array becomes a {text: value} suggestion.
func mapToTags(t *testing.T, body []byte) []string {
	t.Helper()
	var values []any
	if err := json.Unmarshal(body, &values); err != nil {
		t.Fatalf("answer %q is not a JSON array: %v", body, err)
	}
	out := make([]string, len(values))
	for i, v := range values {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("suggestion %v is not a string", v)
		}
		out[i] = s
	}
	return out
}

func TestGrafanaTagAutoCompletion(t *testing.T) {
	a := startAPI(t, Config{})
	putTagSeries(t, a)
	// The editor's range is sent along (from/until, unix seconds) and
	// ignored, as graphite-web ignores it; limit is Grafana's
	// MAX_SUGGESTIONS, 10000 for template variables.
	const rng = "&from=1499996400&until=1500000000"
	tests := []struct {
		name, path string
		want       []string
	}{
		{"first tag of a seriesByTag, typed 'h'",
			"/tags/autoComplete/tags?tagPrefix=h&limit=5000" + rng, []string{"host"}},
		{"next tag, with the expression already chosen",
			"/tags/autoComplete/tags?expr=name%3Dcpu.user&limit=5000" + rng, []string{"dc", "host", "rack"}},
		{"two expressions chosen",
			"/tags/autoComplete/tags?expr=name%3Dcpu.user&expr=dc%3Deu&limit=5000" + rng, []string{"host", "rack"}},
		{"values of a tag, typed 'web'",
			"/tags/autoComplete/values?expr=name%3Dcpu.user&tag=host&valuePrefix=web&limit=5000" + rng, []string{"web01", "web02", "web03"}},
		{"values with a regex expression",
			"/tags/autoComplete/values?expr=name%3D~cpu%5C..*&tag=dc&limit=5000" + rng, []string{"eu", "us"}},
		{"template variable tags(name=app.req)",
			"/tags/autoComplete/tags?expr=name%3Dapp.req&limit=10000", []string{"path", "status"}},
		{"template variable tag_values(status, name=app.req)",
			"/tags/autoComplete/values?expr=name%3Dapp.req&tag=status&limit=10000", []string{"200", "500"}},
		{"template variable tag_values(name) without expressions",
			"/tags/autoComplete/values?tag=name&limit=10000",
			[]string{"app.req", "cpu.system", "cpu.user", "disk.used", "mem", "plain.metric.one", "plain.metric.two", "x"}},
	}
	for _, tt := range tests {
		code, body := grafanaGet(t, a, tt.path)
		if code != 200 {
			t.Errorf("%s: %s = %d %s", tt.name, tt.path, code, body)
			continue
		}
		if got := mapToTags(t, body); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: suggestions %q, want %q", tt.name, got, tt.want)
		}
	}
}

// grafanaEvent is an event as Grafana's front end reads it
// (annotationEvents: when, what, tags as a list or a string, data) and as
// its back end decodes it (GraphiteEventsResponse: when is an int64).
type grafanaEvent struct {
	When int64    `json:"when"`
	What string   `json:"what"`
	Tags []string `json:"tags"`
	Data string   `json:"data"`
}

func TestGrafanaAnnotations(t *testing.T) {
	a := startAPI(t, Config{})
	for _, body := range []string{
		`{"what": "deploy api", "tags": ["deploy", "web"], "data": "v1.2", "when": 1499990000}`,
		`{"what": "deploy db", "tags": "deploy db", "data": "v7", "when": 1499995000}`,
		`{"what": "outage", "tags": "incident web", "when": 1499999000}`,
	} {
		if code, _ := a.ask(t, "POST", "/events/", &body); code != 200 {
			t.Fatalf("POST /events/ = %d", code)
		}
	}
	tests := []struct {
		name, path string
		want       []string // what, in order
	}{
		// Front end: relative range as translateTime makes it ("now-6h" is
		// "-6h"), the annotation's tags joined by a space and put in the URL
		// as they are (the browser sends the space as %20).
		{"front end, relative range, two tags", "/events/get_data?from=-6h&until=now&tags=deploy%20web", []string{"deploy api"}},
		{"front end, one tag", "/events/get_data?from=-6h&until=now&tags=deploy", []string{"deploy api", "deploy db"}},
		{"front end, no tags", "/events/get_data?from=-6h&until=now", []string{"deploy api", "deploy db", "outage"}},
		// Absolute range: unix seconds, one second widened each side.
		{"front end, absolute range", "/events/get_data?from=1499994999&until=1499999001&tags=web", []string{"outage"}},
		// Back end mode: url.Values.Encode, keys sorted, space as "+".
		{"back end mode", "/events/get_data?from=-6h&tags=deploy+db&until=now", []string{"deploy db"}},
	}
	for _, tt := range tests {
		code, body := grafanaGet(t, a, tt.path)
		if code != 200 {
			t.Errorf("%s: %d %s", tt.name, code, body)
			continue
		}
		var evs []grafanaEvent
		if err := json.Unmarshal(body, &evs); err != nil {
			t.Errorf("%s: %q does not decode as Grafana's GraphiteEventsResponse list: %v", tt.name, body, err)
			continue
		}
		var got []string
		for _, e := range evs {
			got = append(got, e.What)
			if e.When < 1499990000 || e.When > 1500000000 || e.Tags == nil {
				t.Errorf("%s: event %+v: when out of range or tags missing", tt.name, e)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// Grafana draws an annotation at when*1000 ms, titled what, text data.
	_, body := grafanaGet(t, a, "/events/get_data?from=-6h&until=now&tags=deploy%20web")
	var evs []grafanaEvent
	if err := json.Unmarshal(body, &evs); err != nil || len(evs) != 1 ||
		evs[0].When*1000 != 1499990000000 || evs[0].Data != "v1.2" || strings.Join(evs[0].Tags, ",") != "deploy,web" {
		t.Errorf("annotation = %+v, %v", evs, err)
	}
}

// semverRE is the shape of a version Grafana's getVersion keeps (it
// passes the body to semver's valid(), and drops anything else).
var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$`)

func TestGrafanaVersionProbe(t *testing.T) {
	a := startAPI(t, Config{})
	code, body := grafanaGet(t, a, "/version")
	if code != 200 || !semverRE.Match(body) {
		t.Fatalf("/version = %d %q, not a semver Grafana keeps", code, body)
	}
	// Grafana's backendSrv first tries JSON; "1.1.8" is not JSON, so it
	// keeps the text, as it does for graphite-web's answer.
	var v any
	if json.Unmarshal(body, &v) == nil {
		t.Errorf("/version %q parses as JSON; Grafana would not see a string", body)
	}
	// supportsTags and supportsFunctionIndex: version >= 1.1.0.
	parts := strings.Split(string(body), ".")
	major, _ := strconv.Atoi(parts[0])
	minor, _ := strconv.Atoi(parts[1])
	if major < 1 || (major == 1 && minor < 1) {
		t.Errorf("/version %q is below 1.1.0: Grafana would turn tags off", body)
	}
}
