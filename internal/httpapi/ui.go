package httpapi

import (
	"metricsd/internal/ui"
)

// uiRoutes serve the web page (internal/ui) at "/" and its assets under
// "/ui/". "/{$}" matches only "/" itself, so unknown paths stay 404.
func uiRoutes() []route {
	return []route{
		{"ui", []string{"GET /{$}"}, ui.Index()},
		{"ui", []string{"GET /ui/"}, ui.Files("/ui/")},
	}
}
