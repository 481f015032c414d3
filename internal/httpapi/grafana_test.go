package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Grafana's exact requests to a Graphite data source (issue #12.7), as
// its front end builds them (public/app/plugins/datasource/graphite/
// datasource.ts: buildGraphiteParams joins "key=" + encodeURIComponent
// (value) with "&" and POSTs it form-encoded; Grafana >= 11.6 wraps each
// target as aliasSub(<target>, "(^.*$)", "\1 <refId>"), grafana#99911),
// each answer decoded the way Grafana decodes it.

// encodeURIComponent is JavaScript's: spaces as %20, and
// A-Z a-z 0-9 - _ . ! ~ * ' ( ) left alone.
func encodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
	}
	return b.String()
}

// grafanaBody is buildGraphiteParams: the targets, then the options in
// Grafana's order.
func grafanaBody(targets []string, opts ...[2]string) string {
	var parts []string
	for _, t := range targets {
		parts = append(parts, "target="+encodeURIComponent(t))
	}
	for _, o := range opts {
		parts = append(parts, o[0]+"="+encodeURIComponent(o[1]))
	}
	return strings.Join(parts, "&")
}

// aliasSubWrap is Grafana >= 11.6's wrapper.
func aliasSubWrap(target, refID string) string {
	return `aliasSub(` + target + `, "(^.*$)", "\1 ` + refID + `")`
}

func (a *testAPI) postRaw(t *testing.T, path, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// grafanaFrame is what Grafana keeps of a series: its name and points
// with timestamps in milliseconds (convertDataPointsToMs).
type grafanaFrame struct {
	name   string
	points [][2]float64 // value (NaN for null), ms
}

func decodeAsGrafana(t *testing.T, body string) []grafanaFrame {
	t.Helper()
	var series []grafanaSeries
	if err := json.Unmarshal([]byte(body), &series); err != nil {
		t.Fatalf("Grafana can't decode the render answer: %v: %s", err, body)
	}
	var out []grafanaFrame
	for _, s := range series {
		f := grafanaFrame{name: s.Target}
		for _, dp := range s.Datapoints {
			if dp[1] == nil {
				t.Fatalf("series %s: a datapoint without a timestamp", s.Target)
			}
			v := -1.0
			if dp[0] != nil {
				v = *dp[0]
			}
			f.points = append(f.points, [2]float64{v, *dp[1] * 1000})
		}
		out = append(out, f)
	}
	return out
}

func TestGrafanaSaveAndTestRequests(t *testing.T) {
	a := startAPI(t, Config{})
	for _, tt := range []struct {
		grafana, target, name string
	}{
		{"<= 11.5", "constantLine(100)", "100.0"},
		{">= 11.6", aliasSubWrap("constantLine(100)", "A"), "100.0 A"},
	} {
		body := grafanaBody([]string{tt.target}, [2]string{"from", "-1h"}, [2]string{"until", "now"}, [2]string{"format", "json"}, [2]string{"maxDataPoints", "300"})
		code, resp := a.postRaw(t, "/render", body)
		if code != 200 {
			t.Fatalf("Grafana %s Save & test: %d %s", tt.grafana, code, resp)
		}
		frames := decodeAsGrafana(t, resp)
		if len(frames) != 1 || frames[0].name != tt.name || len(frames[0].points) != 3 || frames[0].points[0][0] != 100 {
			t.Errorf("Grafana %s Save & test: %+v", tt.grafana, frames)
		}
	}
	// Older Grafana tests the source with a find of "*" instead.
	if code, _, body := a.get(t, "/metrics/find?query=*"); code != 200 || body != "[]" {
		t.Errorf("find * on an empty store = %d %s", code, body)
	}
}

func TestGrafanaPanelRequests(t *testing.T) {
	a := startAPI(t, Config{})
	for i := range 360 {
		ts := testNow.Unix() - 3600 + int64(i)*10
		a.put(t, "servers.web1.cpu.user", float64(i%50), ts)
		a.put(t, "servers.web2.cpu.user", float64(i%30), ts)
	}
	// A panel with two queries, B being sumSeries(#A) (Grafana replaces
	// #A by A's target before sending), Grafana's from/until translation
	// (now-1h -> -1h) and maxDataPoints from the panel width.
	a1 := "servers.*.cpu.user"
	for _, tt := range []struct {
		grafana string
		targets []string
		names   []string
	}{
		{"<= 11.5", []string{a1, "sumSeries(" + a1 + ")"}, []string{"servers.web1.cpu.user", "servers.web2.cpu.user", "sumSeries(servers.*.cpu.user)"}},
		{">= 11.6", []string{aliasSubWrap(a1, "A"), aliasSubWrap("sumSeries("+a1+")", "B")},
			[]string{"servers.web1.cpu.user A", "servers.web2.cpu.user A", "sumSeries(servers.*.cpu.user) B"}},
	} {
		body := grafanaBody(tt.targets, [2]string{"from", "-1h"}, [2]string{"until", "now"}, [2]string{"format", "json"},
			[2]string{"maxDataPoints", "120"}, [2]string{"cacheTimeout", "60"})
		code, resp := a.postRaw(t, "/render", body)
		if code != 200 {
			t.Fatalf("Grafana %s panel: %d %s", tt.grafana, code, resp)
		}
		frames := decodeAsGrafana(t, resp)
		if len(frames) != len(tt.names) {
			t.Fatalf("Grafana %s panel: %d series, want %d: %s", tt.grafana, len(frames), len(tt.names), resp)
		}
		for i, f := range frames {
			if f.name != tt.names[i] || len(f.points) == 0 || len(f.points) > 120 {
				t.Errorf("Grafana %s panel series %d: %q with %d points, want %q with 1..120", tt.grafana, i, f.name, len(f.points), tt.names[i])
			}
			// 360 slots of 10 s into at most 120 points: 3 per point, 30 s apart.
			if len(f.points) > 1 && f.points[1][1]-f.points[0][1] != 30_000 {
				t.Errorf("Grafana %s panel series %q: points %v ms apart, want 30000", tt.grafana, f.name, f.points[1][1]-f.points[0][1])
			}
		}
	}
}

func TestGrafanaEditorAndVariables(t *testing.T) {
	a := startAPI(t, Config{})
	for _, k := range []string{"servers.web1.cpu.user", "servers.web1.cpu.system", "servers.web2.cpu.user", "servers.db1.disk.used"} {
		a.put(t, k, 1, testNow.Unix()-10)
	}
	from, until := "1499996400", "1500000000"
	// Query-editor autocompletion: POST /metrics/find with the panel's range.
	code, body := a.postRaw(t, "/metrics/find", "query="+encodeURIComponent("servers.*")+"&from="+from+"&until="+until)
	var found []grafanaFindResult
	if code != 200 || json.Unmarshal([]byte(body), &found) != nil {
		t.Fatalf("autocomplete find: %d %s", code, body)
	}
	var texts []string
	for _, f := range found {
		if f.Expandable != 1 {
			t.Errorf("find servers.*: %q not expandable", f.Text)
		}
		texts = append(texts, f.Text)
	}
	if strings.Join(texts, ",") != "db1,web1,web2" {
		t.Errorf("find servers.* = %v", texts)
	}
	// A template variable query: GET /metrics/find, then the values of a
	// multi-value variable in a brace list.
	code, _, body = a.get(t, "/metrics/find?query="+url.QueryEscape("servers.{web1,web2}.cpu.*")+"&from="+from+"&until="+until)
	if code != 200 || !strings.Contains(body, `"text": "system"`) || !strings.Contains(body, `"text": "user"`) {
		t.Errorf("variable find: %d %s", code, body)
	}
	// A variable with "expand" (Grafana's useExpand): results as a list.
	code, _, body = a.get(t, "/metrics/expand?query="+url.QueryEscape("servers.*.cpu"))
	var expanded struct {
		Results []string `json:"results"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &expanded) != nil ||
		strings.Join(expanded.Results, ",") != "servers.web1.cpu,servers.web2.cpu" {
		t.Errorf("variable expand: %d %s", code, body)
	}
	// The editor's function list: /functions lists what is evaluated.
	code, _, body = a.get(t, "/functions")
	var funcs map[string]struct {
		Name   string `json:"name"`
		Group  string `json:"group"`
		Params []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"params"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &funcs) != nil {
		t.Fatalf("functions: %d %.200s", code, body)
	}
	for _, name := range []string{"aliasSub", "sumSeries", "movingAverage", "summarize", "groupByNode"} {
		if f, ok := funcs[name]; !ok || f.Name != name || f.Group == "" || len(f.Params) == 0 {
			t.Errorf("/functions %s = %+v", name, f)
		}
	}
	if _, ok := funcs["holtWintersForecast"]; ok {
		t.Error("/functions lists holtWintersForecast, which metricsd does not evaluate")
	}
}

// TestGrafanaBackendRequest is the back-end mode (Grafana's Go data
// source, pkg/tsdb/graphite): the same form, encoded by url.Values, the
// answer decoded into target, tags and [value, timestamp] pairs of
// nullable floats.
func TestGrafanaBackendRequest(t *testing.T) {
	a := startAPI(t, Config{})
	for i := range 60 {
		a.put(t, "app.req.count", float64(i), testNow.Unix()-600+int64(i)*10)
	}
	form := url.Values{
		"from": {"-10min"}, "until": {"now"}, "format": {"json"}, "maxDataPoints": {"30"},
		"target": {aliasSubWrap("summarize(app.req.count, '1min', 'sum')", "A"), aliasSubWrap("app.req.count", "B")},
	}
	code, _, body := a.do(t, http.MethodPost, "/render", form)
	var resp []struct {
		Target     string         `json:"target"`
		Tags       map[string]any `json:"tags"`
		DataPoints [][2]*float64  `json:"datapoints"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &resp) != nil || len(resp) != 2 {
		t.Fatalf("backend render: %d %s", code, body)
	}
	if resp[0].Target != `summarize(app.req.count, "1min", "sum") A` || resp[0].Tags["summarizeFunction"] != "sum" {
		t.Errorf("series A: %q %v", resp[0].Target, resp[0].Tags)
	}
	// 60 s buckets over the 10 minutes: at most 11, each the sum of six.
	if n := len(resp[0].DataPoints); n < 10 || n > 11 || resp[0].DataPoints[1][0] == nil || *resp[0].DataPoints[1][0] != 6+7+8+9+10+11 {
		t.Errorf("series A points: %s", body)
	}
	if resp[1].Target != "app.req.count B" || len(resp[1].DataPoints) > 30 {
		t.Errorf("series B: %q with %d points", resp[1].Target, len(resp[1].DataPoints))
	}
}
