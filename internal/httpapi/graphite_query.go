package httpapi

import (
	"net/http"

	"metricsd/internal/graphiteweb"
)

// queryRoutes are the graphite-web query endpoints added with the query
// engine (issue #12.4): /metrics/expand and /functions.
func queryRoutes(api *graphiteAPI) []route {
	return []route{
		{"expand", []string{"GET /metrics/expand", "POST /metrics/expand", "GET /metrics/expand/{$}", "POST /metrics/expand/{$}"}, bounded(api.expand)},
		{"functions", []string{"GET /functions", "GET /functions/{$}"}, http.HandlerFunc(api.functions)},
	}
}

// expand serves /metrics/expand: the paths matching each query, as
// Grafana's template variables ask for them.
func (a *graphiteAPI) expand(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	queries := r.Form["query"]
	if len(queries) == 0 {
		a.badRequest(w, r, &graphiteweb.QueryError{Msg: "missing required parameter 'query'"})
		return
	}
	leavesOnly, err1 := intParam(r.Form, "leavesOnly")
	groupByExpr, err2 := intParam(r.Form, "groupByExpr")
	if err1 != nil || err2 != nil {
		a.badRequest(w, r, &graphiteweb.QueryError{Msg: "invalid leavesOnly or groupByExpr: want an integer"})
		return
	}
	results, err := a.engine.Expand(r.Context(), queries, leavesOnly != 0)
	if err != nil {
		a.queryFailed(w, r, err)
		return
	}
	writeJSON(w, graphiteweb.AppendExpandJSON(nil, results, groupByExpr != 0))
}

// functions serves /functions: graphite-web's description of every
// function metricsd evaluates, so that Grafana's editor offers only
// those.
func (a *graphiteAPI) functions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, graphiteweb.AppendFunctionsJSON(nil))
}
