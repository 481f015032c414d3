package ui_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/prometheus/client_golang/prometheus"

	"metricsd/internal/buildinfo"
	"metricsd/internal/httpapi"
	"metricsd/internal/protocol"
	"metricsd/internal/store"
	"metricsd/internal/testnet"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds one browser test as a whole.
const browserTimeout = 90 * time.Second

// testServer is an HTTP API on 127.0.0.1 over a store the test fills.
type testServer struct {
	url   string
	store *store.Memory
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	st := store.NewMemory()
	reg := prometheus.NewRegistry()
	if err := httpapi.RegisterStoreMetrics(reg, st); err != nil {
		t.Fatal(err)
	}
	// What the status strip shows as the version.
	if err := reg.Register(buildinfo.Info{Version: "v0.0.0-uitest", GoVersion: "go"}.Collector()); err != nil {
		t.Fatal(err)
	}
	srv, err := httpapi.New(httpapi.Config{Storage: st, Gatherer: reg, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	})
	return &testServer{url: "http://" + ln.Addr().String(), store: st}
}

func (s *testServer) put(t *testing.T, key string, ts int64, v float64) {
	t.Helper()
	if err := s.store.Put([]byte(key), store.Point{Timestamp: ts, Value: v}); err != nil {
		t.Fatal(err)
	}
}

// points returns key's stored points in (from, until].
func (s *testServer) points(t *testing.T, key string, from, until int64) map[int64]float64 {
	t.Helper()
	out := map[int64]float64{}
	err := s.store.Get([]byte(key), func(_ []byte, pts []store.Point) error {
		for _, p := range pts {
			if p.Timestamp > from && p.Timestamp <= until {
				out[p.Timestamp] = p.Value
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func repr(v float64) string { return string(protocol.AppendFloat(nil, v)) }

// browserRun is a headless Chromium tab that records what the page does
// wrong: uncaught exceptions, console errors, and requests to any origin
// but the server's.
type browserRun struct {
	ctx    context.Context
	origin string

	mu         sync.Mutex
	allowed    []string // URL parts whose failed requests the test provokes
	exceptions []string
	consoleErr []string
	foreign    []string
	requests   int
}

func startBrowser(t *testing.T, origin string) *browserRun {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: .ci/run must install Debian's chromium", chromiumPath)
		}
		t.Skipf("%s is not installed: skipping the browser test (apt-get install chromium)", chromiumPath)
	}
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(acancel)
	b := &browserRun{origin: origin}
	tctx, tcancel := chromedp.NewContext(actx, chromedp.WithListener(b.record))
	t.Cleanup(tcancel)
	b.ctx = tctx
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// record runs in the tab's event loop: it only notes what it sees.
func (b *browserRun) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		b.exceptions = append(b.exceptions, fmt.Sprintf("%s:%d %s", d.URL, d.LineNumber, text))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			b.consoleErr = append(b.consoleErr, fmt.Sprint("console.error ", ev.Args))
		}
	case *cdplog.EventEntryAdded:
		// Chromium asks for /favicon.ico on its own; the page has none.
		provoked := slices.ContainsFunc(b.allowed, func(s string) bool { return strings.Contains(ev.Entry.URL, s) })
		if ev.Entry.Level == cdplog.EntryLevelError && !strings.HasSuffix(ev.Entry.URL, "/favicon.ico") && !provoked {
			b.consoleErr = append(b.consoleErr, ev.Entry.Text+" "+ev.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		b.requests++
		u := ev.Request.URL
		// data: URLs never leave the browser (Chromium's own date picker
		// icon is one); blob: URLs are the page's CSV export.
		same := u == b.origin || strings.HasPrefix(u, b.origin+"/") || strings.HasPrefix(u, "blob:"+b.origin+"/")
		if !same && !strings.HasPrefix(u, "data:") {
			b.foreign = append(b.foreign, u)
		}
	}
}

// allow tells record that the test provokes failed requests whose URL
// contains part.
func (b *browserRun) allow(part string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, part)
}

// check fails the test for any exception, console error or foreign request.
func (b *browserRun) check(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.exceptions) > 0 {
		t.Errorf("%d JS exceptions: %q", len(b.exceptions), b.exceptions)
	}
	if len(b.consoleErr) > 0 {
		t.Errorf("%d console errors: %q", len(b.consoleErr), b.consoleErr)
	}
	if len(b.foreign) > 0 {
		t.Errorf("%d requests to other origins: %q", len(b.foreign), b.foreign)
	}
	if b.requests == 0 {
		t.Error("no request was seen: the network events are not recorded")
	}
}

func (b *browserRun) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, b *browserRun, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS polls a JS condition in the page, with a deadline.
func waitJS(t *testing.T, b *browserRun, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// box is a chart canvas's place in the viewport and its plot area (the
// margins of chart.js).
type box struct{ X, Y, W, H float64 }

func (bx box) plotLeft() float64  { return bx.X + 64 }
func (bx box) plotRight() float64 { return bx.X + bx.W - 12 }
func (bx box) midY() float64      { return bx.Y + bx.H/2 }

func canvasBox(t *testing.T, b *browserRun) box {
	return eval[box](t, b, `(() => { const r = document.querySelector('[data-chart="0"] canvas').getBoundingClientRect();
		return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`)
}

// tip is the hover box's content.
type tip struct {
	Time string
	Rows [][2]string // series name, value text
}

func readTip(t *testing.T, b *browserRun) tip {
	waitJS(t, b, "the hover box", `!document.querySelector('[data-chart="0"] .tip').hidden`)
	return eval[tip](t, b, `(() => { const tip = document.querySelector('[data-chart="0"] .tip');
		return {Time: tip.querySelector('.tip-time').textContent,
			Rows: [...tip.querySelectorAll('.tip-row')].map(r => [r.querySelector('.tip-name').textContent, r.querySelector('.tip-value').textContent])}; })()`)
}

// checkTip compares the hover box with the stored points: each series'
// value at the time shown, formatted as the protocol formats it.
func checkTip(t *testing.T, s *testServer, got tip, keys []string) int64 {
	t.Helper()
	tm, err := time.Parse(time.DateTime+" UTC", got.Time)
	if err != nil {
		t.Fatalf("hover time %q: %v", got.Time, err)
	}
	ts := tm.Unix()
	if len(got.Rows) != len(keys) {
		t.Fatalf("hover rows %q, want one per key of %q", got.Rows, keys)
	}
	for i, key := range keys {
		// /render lays every series on its step grid, so a time without a
		// stored point is a null slot, which the hover box shows as "null".
		want := "null"
		if v, ok := s.points(t, key, ts-1, ts)[ts]; ok {
			want = repr(v)
		}
		if got.Rows[i][0] != key || got.Rows[i][1] != want {
			t.Errorf("hover at %s: row %d = %q, want [%s %s]", got.Time, i, got.Rows[i], key, want)
		}
	}
	return ts
}

// TestBrowser drives the page in Chromium as a newcomer would: search a key,
// chart it, read the hover values, zoom, reload the URL, switch the theme,
// export CSV; with no JS exception and no request to another origin.
func TestBrowser(t *testing.T) {
	s := startServer(t)
	now := time.Now().Unix()
	base := now - now%10 - 3600
	keys := []string{"palm.host0.cpu", "palm.host1.cpu"}
	for i := range 361 {
		ts := base + int64(i)*10
		s.put(t, keys[0], ts, float64(i)*0.1) // 0.30000000000000004 and friends
		if i%90 != 45 {                       // a few missing points
			s.put(t, keys[1], ts, 1/float64(i+1))
		}
		s.put(t, "oak.disk.used", ts, 1e16+float64(i)*2)
	}
	// More keys at one level than the key browser shows.
	for i := range 1005 {
		s.put(t, fmt.Sprintf("many.k%04d", i), base, 1)
	}
	b := startBrowser(t, s.url)
	downloads := t.TempDir()
	yes := true
	if _, err := chromedp.Call(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, EventsEnabled: &yes,
	}); err != nil {
		t.Fatalf("set download directory: %v", err)
	}

	b.do(t, "load the page", chromedp.Navigate(s.url+"/"))
	waitJS(t, b, "the page to start", `document.body.dataset.started === "1"`)
	waitJS(t, b, "the status strip", `document.getElementById("st-series").textContent === "1,008" &&
		document.getElementById("st-version").textContent === "v0.0.0-uitest" && document.getElementById("st-ready").textContent === "ready"`)

	// The key browser shows 1,000 of the 1,005 keys under many, then more….
	b.do(t, "search many", chromedp.SendKeys(chromedp.ID("search"), "many.k"))
	waitJS(t, b, "1,000 keys and more…", `document.getElementById("result-count").textContent === "1000+ matches for many.k*" &&
		document.querySelectorAll('#results button.leaf').length === 1000 && document.querySelector('#results button.more') !== null`)
	b.do(t, "more…", chromedp.Click(chromedp.CSS(`#results button.more`)))
	waitJS(t, b, "all 1,005 keys", `document.querySelectorAll('#results button.leaf').length === 1005 && document.querySelector('#results button.more') === null`)
	b.do(t, "clear the search", chromedp.Evaluate[chromedp.Void](`document.getElementById("search").value = ""`))

	// Search by prefix; the server matches one level: the branch "palm".
	b.do(t, "type a prefix", chromedp.SendKeys(chromedp.ID("search"), "pal"))
	waitJS(t, b, "the palm branch", `document.getElementById("result-count").textContent.endsWith("for pal*") &&
		[...document.querySelectorAll('#results button')].map(e => e.textContent).join() === "palm"`)
	b.do(t, "open palm", chromedp.Click(chromedp.CSS(`#results button.branch`)))
	waitJS(t, b, "palm's hosts", `[...document.querySelectorAll('#results button')].map(e => e.textContent).join() === "palm.host0,palm.host1"`)
	b.do(t, "open palm.host0", chromedp.Click(chromedp.CSS(`#results li:first-child button`)))
	waitJS(t, b, "the leaf", `document.querySelector('#results button.leaf')?.textContent === "palm.host0.cpu"`)
	b.do(t, "add the key", chromedp.Click(chromedp.CSS(`#results button.leaf`)))
	waitJS(t, b, "the chart", `document.querySelector('[data-chart="0"]').dataset.loaded >= "1"`)
	// A target typed by hand passes through as target=.
	b.do(t, "type a target", chromedp.SendKeys(chromedp.ID("target"), keys[1]+"\r"))
	waitJS(t, b, "both series", `document.querySelectorAll('[data-chart="0"] .legend button').length === 2`)

	// Hover in the middle of the plot.
	bx := canvasBox(t, b)
	mid := (bx.plotLeft() + bx.plotRight()) / 2
	b.do(t, "hover", chromedp.MouseEvent(chromedp.MouseMoved, mid, bx.midY()))
	hoverTS := checkTip(t, s, readTip(t, b), keys)
	// The keyboard moves the cursor to the next stored time.
	b.do(t, "arrow right", chromedp.Focus(chromedp.CSS(`[data-chart="0"] canvas`)), chromedp.KeyEvent(kb.ArrowRight))
	waitJS(t, b, "the cursor to move", fmt.Sprintf(`document.querySelector('[data-chart="0"] .tip-time').textContent !== %q`, time.Unix(hoverTS, 0).UTC().Format(time.DateTime)+" UTC"))
	if next := checkTip(t, s, readTip(t, b), keys); next != hoverTS+10 {
		t.Errorf("ArrowRight moved the cursor from %d to %d, want the next point", hoverTS, next)
	}

	// Legend toggle hides a series from the hover box and the URL keeps it.
	b.do(t, "hide host1", chromedp.Click(chromedp.CSS(`[data-chart="0"] .legend button:nth-child(2)`)))
	waitJS(t, b, "host1 hidden", `location.search.includes("h0=palm.host1.cpu")`)
	b.do(t, "show host1", chromedp.Click(chromedp.CSS(`[data-chart="0"] .legend button:nth-child(2)`)))
	waitJS(t, b, "host1 shown", `!location.search.includes("h0=")`)

	// Drag from 25% to 50% of the plot: the URL gets the zoomed range.
	x1 := bx.plotLeft() + (bx.plotRight()-bx.plotLeft())*0.25
	x2 := mid
	loaded := eval[string](t, b, `document.querySelector('[data-chart="0"]').dataset.loaded`)
	b.do(t, "drag to zoom",
		chromedp.MouseEvent(chromedp.MousePressed, x1, bx.midY(), chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseMoved, (x1+x2)/2, bx.midY(), chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, x2, bx.midY(), chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, x2, bx.midY(), chromedp.ButtonLeft, chromedp.ClickCount(1)),
	)
	waitJS(t, b, "the zoom in the URL", `location.search.includes("zoom=")`)
	waitJS(t, b, "the zoomed chart", fmt.Sprintf(`document.querySelector('[data-chart="0"]').dataset.loaded !== %q`, loaded))
	shareURL := eval[string](t, b, `location.href`)
	zq, err := url.Parse(shareURL)
	if err != nil {
		t.Fatal(err)
	}
	zoomFrom, zoomUntil, ok := strings.Cut(zq.Query().Get("zoom"), "..")
	zf, err1 := strconv.ParseInt(zoomFrom, 10, 64)
	zu, err2 := strconv.ParseInt(zoomUntil, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("zoom parameter %q", zq.Query().Get("zoom"))
	}
	if span := zu - zf; span < 850 || span > 950 { // a quarter of the hour
		t.Errorf("zoomed %d..%d (%d s), want about 900 s", zf, zu, span)
	}
	if zq.Query()["t0"] == nil || !slices.Equal(zq.Query()["t0"], keys) {
		t.Errorf("URL targets %q, want %q", zq.Query()["t0"], keys)
	}
	b.do(t, "hover the zoomed chart", chromedp.MouseEvent(chromedp.MouseMoved, mid, bx.midY()))
	zoomedTip := readTip(t, b)
	checkTip(t, s, zoomedTip, keys)

	// Reload the shared URL: the same view, the same hover.
	b.do(t, "reload the URL", chromedp.Navigate(shareURL))
	waitJS(t, b, "the page to start", `document.body.dataset.started === "1"`)
	waitJS(t, b, "the chart", `document.querySelector('[data-chart="0"]').dataset.loaded >= "1"`)
	if got := eval[string](t, b, `location.href`); got != shareURL {
		t.Errorf("after reload the URL is %s, want %s", got, shareURL)
	}
	chips := eval[[]string](t, b, `[...document.querySelectorAll('[data-chart="0"] .targets li')].map(li => li.firstChild.textContent)`)
	if !slices.Equal(chips, keys) {
		t.Errorf("after reload the chart has %q, want %q", chips, keys)
	}
	b.do(t, "hover again", chromedp.MouseEvent(chromedp.MouseMoved, mid, bx.midY()))
	if again := readTip(t, b); fmt.Sprint(again) != fmt.Sprint(zoomedTip) {
		t.Errorf("after reload the hover shows %v, want %v", again, zoomedTip)
	}
	screenshot(t, b, "ui-browser.png")

	// The raw table lists every stored time of the zoomed range.
	b.do(t, "open the raw table", chromedp.Click(chromedp.CSS(`[data-chart="0"] details.raw summary`)))
	waitJS(t, b, "the raw table", `document.querySelectorAll('[data-chart="0"] .raw tbody tr').length > 0`)
	wantRows := len(s.points(t, keys[0], zf, zu))
	if got := eval[int](t, b, `document.querySelectorAll('[data-chart="0"] .raw tbody tr').length`); got != wantRows {
		t.Errorf("raw table has %d rows, want %d", got, wantRows)
	}
	cells := eval[[]string](t, b, `[...document.querySelectorAll('[data-chart="0"] .raw tbody tr:first-child td')].map(td => td.textContent)`)
	first := slices.Min(slices.Collect(maps.Keys(s.points(t, keys[0], zf, zu))))
	if want := []string{time.Unix(first, 0).UTC().Format(time.DateTime), strconv.FormatInt(first, 10), repr(s.points(t, keys[0], zf, zu)[first])}; !slices.Equal(cells[:3], want) {
		t.Errorf("raw table's first row %q, want %q...", cells, want)
	}

	// Auto-refresh reloads the charts by itself, and goes in the URL.
	loaded = eval[string](t, b, `document.querySelector('[data-chart="0"]').dataset.loaded`)
	b.do(t, "refresh every 5 s", chromedp.Evaluate[chromedp.Void](`(() => { const r = document.getElementById("refresh"); r.value = "5s"; r.dispatchEvent(new Event("change")); })()`))
	waitJS(t, b, "an automatic reload", fmt.Sprintf(`location.search.includes("refresh=5s") && document.querySelector('[data-chart="0"]').dataset.loaded !== %q`, loaded))
	b.do(t, "refresh off", chromedp.Evaluate[chromedp.Void](`(() => { const r = document.getElementById("refresh"); r.value = "off"; r.dispatchEvent(new Event("change")); })()`))

	// Theme: the toggle switches to dark (headless prefers light).
	bg := eval[string](t, b, `getComputedStyle(document.body).backgroundColor`)
	b.do(t, "toggle the theme", chromedp.Click(chromedp.ID("theme")))
	waitJS(t, b, "dark theme", `document.documentElement.dataset.theme === "dark" && location.search.includes("theme=dark")`)
	if dark := eval[string](t, b, `getComputedStyle(document.body).backgroundColor`); dark == bg {
		t.Errorf("the background stayed %s after the theme toggle", bg)
	}

	// CSV export: the downloaded file holds exactly the stored points of
	// the zoomed range.
	b.do(t, "export CSV", chromedp.Click(chromedp.CSS(`[data-chart="0"] .chart-head button[title^="download"]`)))
	csvPath := filepath.Join(downloads, "metricsd-chart1.csv")
	testnet.WaitFor(t, "the CSV download", func() bool {
		_, err := os.Stat(csvPath)
		return err == nil
	})
	checkCSV(t, s, csvPath, keys, zf, zu)

	// The PNG export link is the server's render of the same view.
	pngHref := eval[string](t, b, `document.querySelector('[data-chart="0"] .chart-head a').href`)
	resp, err := http.Get(pngHref)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.Contains(pngHref, "zoom") && !strings.Contains(pngHref, "from="+zoomFrom) {
		t.Errorf("PNG export %s: %d %s", pngHref, resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// A failed request's error text is shown: a bad target.
	b.allow("nosuchfunction")
	b.do(t, "type a bad target", chromedp.SendKeys(chromedp.ID("target"), "nosuchfunction(a.b)\r"))
	waitJS(t, b, "the error box", `!document.getElementById("errors").hidden && document.getElementById("error-list").textContent.includes("400")`)
	b.do(t, "remove the bad target", chromedp.Click(chromedp.CSS(`[data-chart="0"] .targets li:last-child button`)))
	b.do(t, "dismiss the error", chromedp.Click(chromedp.ID("clear-errors")))
	waitJS(t, b, "the error box to go", `document.getElementById("errors").hidden`)

	screenshot(t, b, "ui-browser-dark.png")
	b.check(t)
}

// checkCSV compares the downloaded CSV with the store.
func checkCSV(t *testing.T, s *testServer, path string, keys []string, from, until int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	if want := append([]string{"timestamp", "time"}, keys...); !slices.Equal(rows[0], want) {
		t.Fatalf("CSV header %q, want %q", rows[0], want)
	}
	stored := make([]map[int64]float64, len(keys))
	times := map[int64]bool{}
	for i, k := range keys {
		stored[i] = s.points(t, k, from, until)
		for ts := range stored[i] {
			times[ts] = true
		}
	}
	if len(rows)-1 != len(times) {
		t.Errorf("CSV has %d rows, the store %d times in (%d, %d]", len(rows)-1, len(times), from, until)
	}
	for _, row := range rows[1:] {
		ts, err := strconv.ParseInt(row[0], 10, 64)
		if err != nil {
			t.Fatalf("CSV row %q: %v", row, err)
		}
		if row[1] != time.Unix(ts, 0).UTC().Format(time.DateTime) {
			t.Errorf("CSV row %q: time column", row)
		}
		for i := range keys {
			want := ""
			if v, ok := stored[i][ts]; ok {
				want = repr(v)
			}
			if row[2+i] != want {
				t.Errorf("CSV at %d, %s: %q, want %q", ts, keys[i], row[2+i], want)
			}
		}
	}
}

// screenshot saves the page to $METRICSD_ARTIFACTS (or the test's temp
// directory); METRICSD_UPDATE_DOCS=1 makes ui-browser.png refresh
// docs/ui.png.
func screenshot(t *testing.T, b *browserRun, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("METRICSD_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if os.Getenv("METRICSD_UPDATE_DOCS") == "1" && name == "ui-browser.png" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "ui.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowserFirstChart measures how long the page takes from navigation
// to its first chart drawn, for 10 series × 1 day at 10 s (issue #13 asks
// for under 1 s). It records the figure and asserts nothing on time.
func TestBrowserFirstChart(t *testing.T) {
	s := startServer(t)
	now := time.Now().Unix()
	base := now - now%10 - 86400
	q := url.Values{"from": {"-24h"}, "until": {"now"}}
	for k := range 10 {
		key := fmt.Sprintf("load.s%d", k)
		q.Add("t0", key)
		for i := range 8640 {
			s.put(t, key, base+int64(i)*10, float64(k*100+i%100))
		}
	}
	b := startBrowser(t, s.url)
	b.do(t, "load the page", chromedp.Navigate(s.url+"/?"+q.Encode()))
	waitJS(t, b, "the first chart", `performance.getEntriesByName("metricsd-first-chart").length === 1`)
	ms := eval[float64](t, b, `performance.getEntriesByName("metricsd-first-chart")[0].startTime`)
	n := eval[int](t, b, `document.querySelectorAll('[data-chart="0"] .legend button').length`)
	if n != 10 {
		t.Errorf("the chart has %d series, want 10", n)
	}
	t.Logf("first chart drawn %.0f ms after navigation start (10 series x 8640 points; shared machine)", ms)
	if dir := os.Getenv("METRICSD_ARTIFACTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "ui-first-chart-ms.txt"), []byte(fmt.Sprintf("%.0f\n", ms)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	screenshot(t, b, "ui-first-chart.png")
	b.check(t)
}
