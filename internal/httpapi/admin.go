package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"metricsd/internal/graphiteweb"
	"metricsd/internal/store"
)

// adminRoutes are the calls under /api/v1/admin/ (issue #11.2): present
// when cfg has a Deleter. Who may reach them is the access control's
// business (see docs/operations.md).
func adminRoutes(cfg Config) []route {
	if cfg.Deleter == nil {
		return nil
	}
	a := &adminAPI{del: cfg.Deleter, log: cfg.Logger}
	return []route{
		{"admin_delete", []string{"POST /api/v1/admin/delete"}, http.HandlerFunc(a.delete)},
	}
}

// adminAPI serves the admin calls.
type adminAPI struct {
	del store.Deleter
	log *slog.Logger
}

// deleteAnswer is the JSON body of every answer of the delete call.
type deleteAnswer struct {
	Deleted int    `json:"deleted"`
	Error   string `json:"error,omitempty"`
}

// Fixed texts of the delete call's errors (docs/operations.md).
const (
	errNoMatch     = "want exactly one match parameter: a Graphite glob such as servers.*.cpu"
	errUnavailable = "the store refused the delete (not ready, shutting down, or its log failed); the keys counted in deleted were deleted, see the server log"
)

// delete serves POST /api/v1/admin/delete?match=GLOB: it deletes every key
// the Graphite glob matches, durably, and answers {"deleted": N}.
func (a *adminAPI) delete(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		answerDelete(w, http.StatusBadRequest, deleteAnswer{Error: "malformed form: " + err.Error()})
		return
	}
	globs := r.Form["match"]
	if len(globs) != 1 {
		answerDelete(w, http.StatusBadRequest, deleteAnswer{Error: errNoMatch})
		return
	}
	p, err := graphiteweb.CompilePattern(globs[0])
	if err != nil {
		var qe *graphiteweb.QueryError
		msg := errNoMatch
		if errors.As(err, &qe) {
			msg = qe.Error()
		}
		answerDelete(w, http.StatusBadRequest, deleteAnswer{Error: msg})
		return
	}
	n, err := a.del.Delete(p.Match)
	if err != nil {
		a.log.Error("admin delete failed", "match", globs[0], "deleted", n, "remote", r.RemoteAddr, "err", err)
		answerDelete(w, http.StatusServiceUnavailable, deleteAnswer{Deleted: n, Error: errUnavailable})
		return
	}
	a.log.Info("admin delete", "match", globs[0], "deleted", n, "remote", r.RemoteAddr)
	answerDelete(w, http.StatusOK, deleteAnswer{Deleted: n})
}

// answerDelete writes ans as JSON with status code.
func answerDelete(w http.ResponseWriter, code int, ans deleteAnswer) {
	body, _ := json.Marshal(ans) // two plain fields: cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}
