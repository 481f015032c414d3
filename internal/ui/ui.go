// Package ui is metricsd's web page (issue #13): a key browser, charts,
// time ranges and shareable URLs, served from the binary itself. The
// page's code (assets/) is metricsd's own, embedded with go:embed, and
// loads nothing from any other origin; it reads only the public HTTP API
// that Grafana uses (/metrics/find, /render) plus /metrics and /readyz for
// its status strip. docs/ui.md describes what it does.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

// files are the page's assets. The tests (*.test.mjs) and package.json in
// assets/ exist only for node --test and are not served.
//
//go:embed assets/index.html assets/app.js assets/chart.js assets/state.js assets/repr.js assets/style.css
var files embed.FS

// ContentSecurityPolicy is sent with every asset: the page may load
// scripts, styles, images and data from its own origin only, may not be
// framed, and posts forms nowhere else. Inline scripts and style
// attributes are refused too (the page sets styles through the CSSOM).
const ContentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Assets returns the served files, rooted where the page names them
// ("index.html", "app.js", ...).
func Assets() fs.FS {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		panic(err) // "assets" is a literal directory of the embed above
	}
	return sub
}

// Index serves the page itself, at "/".
func Index() http.Handler {
	return secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, Assets(), "index.html")
	}))
}

// Files serves the page's assets under prefix ("/ui/").
func Files(prefix string) http.Handler {
	return secure(http.StripPrefix(prefix, http.FileServerFS(Assets())))
}

// secure adds the page's security headers; no-cache makes a browser
// revalidate (by Last-Modified) so that a new binary's page is used at once.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
