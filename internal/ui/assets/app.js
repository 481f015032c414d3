// app.js: the page. It reads only the public HTTP API that Grafana uses
// (/metrics/find, /render?format=json), plus /metrics and /readyz for the
// status strip; every failed request's error text is shown to the user.
import { Chart, parseRender, palette, toCSV, table, cellText, fmtTime, maxSeries } from "./chart.js";
import {
  ranges, refreshes, decodeState, encodeState, viewRange, resolveTime, findQuery, parseMetrics, statusFrom, fmtDuration,
} from "./state.js";

// findShown is how many key browser results are shown per page; the page
// asks for one more to know whether to offer "more…".
const findShown = 1000;
// tableRows bounds the raw table's rows in the page (the CSV has them all).
const tableRows = 1000;
// statusEvery is the status strip's polling period, in ms.
const statusEvery = 10000;

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k in e && typeof v !== "string") e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
};

let state;
const views = []; // one per chart: {root, chart, series, legend, raw, ...}
let refreshTimer = 0;

// ---- errors ----------------------------------------------------------

/** showError adds a message to the error box; it is never swallowed. */
function showError(msg) {
  const list = $("error-list");
  list.append(el("li", { text: `${new Date().toISOString().slice(11, 19)} ${msg}` }));
  while (list.children.length > 8) list.firstChild.remove();
  $("errors").hidden = false;
}

/** request fetches path from the server and returns the Response; a
 * failure shows "<path>: <status> <the server's text>" and throws. */
async function request(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: "*/*" } });
  } catch (e) {
    showError(`${shortPath(path)}: ${e.message}`);
    throw e;
  }
  if (!res.ok) {
    const body = (await res.text()).trim();
    const err = new Error(`${shortPath(path)}: ${res.status} ${res.statusText}${body ? ": " + body : ""}`);
    showError(err.message);
    throw err;
  }
  return res;
}

function shortPath(p) {
  return p.length > 200 ? p.slice(0, 200) + "…" : p;
}

// ---- URL state ---------------------------------------------------------

function saveState() {
  history.replaceState(null, "", "?" + encodeState(state));
}

// ---- key browser --------------------------------------------------------

let findGen = 0;
let findCap = findShown;

async function search() {
  const gen = ++findGen;
  const query = findQuery($("search").value);
  const q = new URLSearchParams({ query, limit: String(findCap + 1) });
  let nodes;
  try {
    nodes = await (await request("/metrics/find?" + q)).json();
  } catch {
    return;
  }
  if (gen !== findGen) return; // a newer search is on its way
  const list = $("results");
  list.replaceChildren();
  const shown = nodes.slice(0, findCap);
  for (const n of shown) {
    const branch = n.expandable === 1 && n.leaf !== 1;
    list.append(el("li", {}, el("button", {
      type: "button",
      class: branch ? "branch" : "leaf",
      text: n.id,
      title: branch ? "browse " + n.id + "." : "add " + n.id + " to the active chart",
      onclick: () => {
        if (branch) {
          $("search").value = n.id + ".";
          findCap = findShown;
          search();
        } else addTarget(n.id);
      },
    })));
  }
  const more = nodes.length > findCap;
  if (more) {
    list.append(el("li", {}, el("button", {
      type: "button", class: "more", text: "more…",
      onclick: () => { findCap += findShown; search(); },
    })));
  }
  $("result-count").textContent = nodes.length === 0 ? `no key matches ${query}` : `${shown.length}${more ? "+" : ""} match${shown.length === 1 && !more ? "" : "es"} for ${query}`;
}

// ---- charts -------------------------------------------------------------

function addTarget(target) {
  const c = state.charts[state.active];
  if (c.targets.includes(target)) return;
  if (c.targets.length >= maxSeries) {
    showError(`chart ${state.active + 1} has ${maxSeries} targets already; start a new chart`);
    return;
  }
  c.targets.push(target);
  saveState();
  loadChart(state.active);
}

function setActive(i) {
  state.active = i;
  views.forEach((v, k) => v.root.classList.toggle("active", k === i));
  views.forEach((v, k) => (v.activeBox.checked = k === i));
  saveState();
}

/** buildCharts makes one view per chart of the state. */
function buildCharts() {
  const host = $("charts");
  host.replaceChildren();
  views.length = 0;
  state.charts.forEach((c, i) => views.push(buildChart(i)));
  setActive(Math.min(state.active, state.charts.length - 1));
  views.forEach((_, i) => loadChart(i));
}

function buildChart(i) {
  const v = { gen: 0, series: [] };
  const title = `Chart ${i + 1}`;
  v.activeBox = el("input", { type: "radio", name: "active-chart", onchange: () => setActive(i) });
  v.targets = el("ul", { class: "targets", "aria-label": "targets" });
  v.png = el("a", { text: "PNG", title: "server-rendered PNG of this chart" });
  v.svg = el("a", { text: "SVG", title: "server-rendered SVG of this chart" });
  v.csvButton = el("button", { type: "button", text: "CSV", title: "download the chart's points as CSV", onclick: () => downloadCSV(i) });
  const remove = el("button", { type: "button", text: "Remove chart", onclick: () => removeChart(i) });
  const head = el("div", { class: "chart-head" },
    el("h2", { text: title }),
    el("label", {}, v.activeBox, " add keys here"),
    v.targets, v.png, v.svg, v.csvButton, remove);
  const wrap = el("div", { class: "plot-wrap" });
  v.legend = el("div", { class: "legend", role: "group", "aria-label": "series (toggle to hide)" });
  v.empty = el("p", { class: "empty", text: "Add a key from the browser, or type a target." });
  v.rawBody = el("div", { class: "raw-wrap" });
  v.raw = el("details", { class: "raw", ontoggle: () => v.raw.open && fillTable(i) }, el("summary", { text: "Raw points" }), v.rawBody);
  v.root = el("section", { class: "chart", "aria-label": title, "data-chart": String(i), onclick: () => state.active !== i && setActive(i) },
    head, wrap, v.legend, v.empty, v.raw);
  $("charts").append(v.root);
  v.chart = new Chart(wrap, {
    onZoom: (a, b) => {
      state.zoom = [a, b];
      saveState();
      syncControls();
      loadAll();
    },
  });
  return v;
}

function removeChart(i) {
  if (state.charts.length === 1) state.charts[0] = { targets: [], hidden: [] };
  else state.charts.splice(i, 1);
  state.active = Math.min(state.active, state.charts.length - 1);
  saveState();
  buildCharts();
}

function renderParams(c, from, until, extra) {
  const q = new URLSearchParams({ from: String(from), until: String(until), ...extra });
  for (const t of c.targets) q.append("target", t);
  return q;
}

/** loadChart fetches chart i's series for the current range and draws them. */
async function loadChart(i) {
  const v = views[i], c = state.charts[i];
  const [from, until] = viewRange(state, Math.floor(Date.now() / 1000));
  const gen = ++v.gen;
  drawTargets(i);
  const img = { width: "900", height: "400", title: `Chart ${i + 1}` };
  v.png.href = "/render?" + renderParams(c, from, until, { ...img, format: "png" });
  v.svg.href = "/render?" + renderParams(c, from, until, { ...img, format: "svg" });
  v.png.hidden = v.svg.hidden = v.csvButton.hidden = c.targets.length === 0;
  v.empty.hidden = c.targets.length > 0;
  if (c.targets.length === 0) {
    v.series = [];
    v.chart.setData([], from, until);
    drawLegend(i);
    return;
  }
  // One point per pixel column is all the canvas can show; the server
  // consolidates longer series (graphite's maxDataPoints).
  const width = Math.max(100, Math.round(v.chart.canvas.clientWidth));
  let series;
  try {
    const res = await request("/render?" + renderParams(c, from, until, { format: "json", maxDataPoints: String(width) }));
    series = parseRender(await res.json());
  } catch {
    return;
  }
  if (gen !== v.gen) return;
  if (series.length > maxSeries) showError(`chart ${i + 1}: ${series.length} series match; drawing the first ${maxSeries}`);
  v.series = series.slice(0, maxSeries);
  v.chart.hidden = new Set(c.hidden);
  v.chart.setData(v.series, from, until);
  drawLegend(i);
  if (v.raw.open) fillTable(i);
  v.root.dataset.loaded = String(Number(v.root.dataset.loaded || 0) + 1);
  if (!performance.getEntriesByName("metricsd-first-chart").length && v.series.length) performance.mark("metricsd-first-chart");
}

function loadAll() {
  views.forEach((_, i) => loadChart(i));
}

function drawTargets(i) {
  const v = views[i], c = state.charts[i];
  v.targets.replaceChildren(...c.targets.map((t, k) => el("li", {}, t, el("button", {
    type: "button", text: "×", "aria-label": `remove ${t}`,
    onclick: (e) => {
      e.stopPropagation();
      c.targets.splice(k, 1);
      saveState();
      loadChart(i);
    },
  }))));
}

function drawLegend(i) {
  const v = views[i], c = state.charts[i];
  v.legend.replaceChildren(...v.series.map((s, k) => {
    const shown = !c.hidden.includes(s.name);
    return el("button", {
      type: "button", "aria-pressed": String(shown), title: (shown ? "hide " : "show ") + s.name,
      onclick: () => {
        const at = c.hidden.indexOf(s.name);
        if (at >= 0) c.hidden.splice(at, 1);
        else c.hidden.push(s.name);
        saveState();
        v.chart.setHidden(c.hidden);
        drawLegend(i);
      },
    }, el("span", { class: "swatch" }), s.name);
  }));
  // Colours go through the CSSOM (allowed by the page's CSP), not style attributes.
  [...v.legend.querySelectorAll(".swatch")].forEach((sw, k) => (sw.style.background = palette[k % palette.length]));
}

function fillTable(i) {
  const v = views[i];
  const rows = table(v.series);
  const head = el("tr", {}, el("th", { text: "time (UTC)" }), el("th", { text: "timestamp" }), ...v.series.map((s) => el("th", { text: s.name })));
  const body = rows.slice(0, tableRows).map((r) => el("tr", {}, el("td", { text: fmtTime(r.ts) }), el("td", { text: String(r.ts) }), ...r.values.map((x) => el("td", { text: cellText(x) }))));
  const note = rows.length > tableRows ? el("p", { class: "hint", text: `first ${tableRows} of ${rows.length} rows; the CSV has them all` }) : "";
  v.rawBody.replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)), note);
}

function downloadCSV(i) {
  const blob = new Blob([toCSV(views[i].series)], { type: "text/csv" });
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: `metricsd-chart${i + 1}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// ---- time range, refresh, theme ----------------------------------------------

function toLocalInput(ts) {
  return new Date(ts * 1000).toISOString().slice(0, 19);
}

function fromLocalInput(s) {
  const t = Date.parse(s + "Z");
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}

function syncControls() {
  const [from, until] = viewRange(state, Math.floor(Date.now() / 1000));
  $("from").value = toLocalInput(from);
  $("until").value = toLocalInput(until);
  for (const b of $("ranges").children) b.setAttribute("aria-pressed", String(!state.zoom && state.until === "now" && b.dataset.from === state.from));
  $("reset").disabled = !state.zoom;
  $("refresh").value = state.refresh;
  const dark = effectiveTheme() === "dark";
  $("theme").setAttribute("aria-pressed", String(dark));
  document.documentElement.dataset.theme = state.theme;
  if (!state.theme) delete document.documentElement.dataset.theme;
}

function effectiveTheme() {
  return state.theme || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
}

function setRefresh() {
  clearInterval(refreshTimer);
  const ms = refreshes[state.refresh];
  if (ms) refreshTimer = setInterval(() => { loadAll(); pollStatus(); }, ms);
}

function buildControls() {
  for (const r of ranges) {
    $("ranges").append(el("button", {
      type: "button", text: r.label, "data-from": r.from, "aria-label": `last ${r.label}`,
      onclick: () => {
        state.from = r.from;
        state.until = "now";
        state.zoom = null;
        saveState();
        syncControls();
        loadAll();
      },
    }));
  }
  for (const k of Object.keys(refreshes)) $("refresh").append(el("option", { value: k, text: k }));
  $("refresh").addEventListener("change", () => {
    state.refresh = $("refresh").value;
    saveState();
    setRefresh();
  });
  $("apply").addEventListener("click", () => {
    const a = fromLocalInput($("from").value), b = fromLocalInput($("until").value);
    if (a === null || b === null || a >= b) {
      showError("range: pick a from time before the until time");
      return;
    }
    state.from = String(a);
    state.until = String(b);
    state.zoom = null;
    saveState();
    syncControls();
    loadAll();
  });
  $("reset").addEventListener("click", () => {
    state.zoom = null;
    saveState();
    syncControls();
    loadAll();
  });
  $("add-chart").addEventListener("click", () => {
    state.charts.push({ targets: [], hidden: [] });
    state.active = state.charts.length - 1;
    saveState();
    buildCharts();
  });
  $("theme").addEventListener("click", () => {
    state.theme = effectiveTheme() === "dark" ? "light" : "dark";
    saveState();
    syncControls();
    views.forEach((v) => v.chart.draw());
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    syncControls();
    views.forEach((v) => v.chart.draw());
  });
  $("clear-errors").addEventListener("click", () => {
    $("error-list").replaceChildren();
    $("errors").hidden = true;
  });
  let timer = 0;
  $("search").addEventListener("input", () => {
    clearTimeout(timer);
    findCap = findShown;
    timer = setTimeout(search, 200);
  });
  $("search").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    clearTimeout(timer);
    findCap = findShown;
    search();
  });
  $("target-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("target").value.trim();
    if (t) addTarget(t);
    $("target").value = "";
  });
  window.addEventListener("resize", () => views.forEach((v) => v.chart.draw()));
}

// ---- status strip ---------------------------------------------------------------

let lastIngest = null; // {at: ms, count}

async function pollStatus() {
  const ready = $("st-ready");
  try {
    const res = await fetch("/readyz");
    ready.textContent = res.ok ? "ready" : (await res.text()).trim() || `not ready (${res.status})`;
  } catch (e) {
    ready.textContent = "unreachable";
    showError(`/readyz: ${e.message}`);
  }
  let st;
  try {
    st = statusFrom(parseMetrics(await (await request("/metrics")).text()));
  } catch {
    return;
  }
  const now = Date.now();
  $("st-version").textContent = st.version;
  $("st-uptime").textContent = st.start === null ? "unknown" : fmtDuration(now / 1000 - st.start);
  $("st-series").textContent = st.series === null ? "unknown" : st.series.toLocaleString("en-US");
  $("st-points").textContent = st.points === null ? "unknown" : st.points.toLocaleString("en-US");
  if (lastIngest && now > lastIngest.at) {
    const rate = ((st.ingested - lastIngest.count) * 1000) / (now - lastIngest.at);
    $("st-rate").textContent = `${rate.toFixed(rate < 10 ? 1 : 0)} points/s`;
  }
  lastIngest = { at: now, count: st.ingested };
}

// ---- start ----------------------------------------------------------------------

function start() {
  const decoded = decodeState(location.search);
  state = decoded.state;
  decoded.errors.forEach(showError);
  buildControls();
  syncControls();
  setRefresh();
  buildCharts();
  saveState();
  search();
  pollStatus();
  setInterval(pollStatus, statusEvery);
  document.body.dataset.started = "1";
}

start();
