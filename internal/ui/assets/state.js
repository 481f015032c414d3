// state.js: the page's state and its URL form, the Graphite times the page
// resolves itself, the key browser's query, and the /metrics text it reads.
// Pure functions, tested by state.test.mjs.

/** ranges are the relative time ranges offered, in Graphite's spelling. */
export const ranges = [
  { label: "5m", from: "-5min" },
  { label: "1h", from: "-1h" },
  { label: "6h", from: "-6h" },
  { label: "24h", from: "-24h" },
  { label: "7d", from: "-7d" },
];

/** refreshes maps the auto-refresh choices to their period in ms. */
export const refreshes = { off: 0, "5s": 5000, "10s": 10000, "30s": 30000, "1m": 60000 };

/** defaultState is the view of a URL without parameters. */
export function defaultState() {
  return { charts: [{ targets: [], hidden: [] }], active: 0, from: "-1h", until: "now", zoom: null, refresh: "off", theme: "" };
}

const units = { s: 1, sec: 1, min: 60, h: 3600, d: 86400, w: 604800 };

/** resolveTime turns a range bound into epoch seconds: "now", an
 * offset from now ("-5min", "-1h", "-7d") or epoch seconds ("1500000000").
 * It throws for anything else. */
export function resolveTime(s, now) {
  if (s === "now") return now;
  if (/^\d{1,12}$/.test(s)) return Number(s);
  const m = /^-(\d+)(s|sec|min|h|d|w)$/.exec(s);
  if (!m) throw new Error(`unsupported time ${JSON.stringify(s)}: use now, -<n><s|min|h|d|w> or epoch seconds`);
  return now - Number(m[1]) * units[m[2]];
}

/** viewRange returns the [from, until] epoch seconds the charts show. */
export function viewRange(state, now) {
  if (state.zoom) return state.zoom;
  const a = resolveTime(state.from, now), b = resolveTime(state.until, now);
  return [Math.min(a, b), Math.max(a, b)];
}

/** encodeState writes state as a query string (without "?"). Targets of
 * chart i are repeated t<i> parameters, so any target text survives. */
export function encodeState(state) {
  const q = new URLSearchParams();
  q.set("from", state.from);
  q.set("until", state.until);
  if (state.zoom) q.set("zoom", state.zoom[0] + ".." + state.zoom[1]);
  if (state.refresh !== "off") q.set("refresh", state.refresh);
  if (state.theme) q.set("theme", state.theme);
  q.set("charts", String(state.charts.length));
  if (state.active) q.set("active", String(state.active));
  state.charts.forEach((c, i) => {
    for (const t of c.targets) q.append("t" + i, t);
    for (const h of c.hidden) q.append("h" + i, h);
  });
  return q.toString();
}

/** decodeState reads a query string back into a state; problems (a bad
 * parameter is replaced by its default) are returned in errors. */
export function decodeState(search) {
  const q = new URLSearchParams(search);
  const s = defaultState();
  const errors = [];
  for (const k of ["from", "until"]) {
    if (!q.has(k)) continue;
    try {
      resolveTime(q.get(k), 0);
      s[k] = q.get(k);
    } catch (e) {
      errors.push(`URL parameter ${k}: ${e.message}`);
    }
  }
  if (q.has("zoom")) {
    const m = /^(\d+)\.\.(\d+)$/.exec(q.get("zoom"));
    if (m && Number(m[1]) < Number(m[2])) s.zoom = [Number(m[1]), Number(m[2])];
    else errors.push(`URL parameter zoom: want <from>..<until> in epoch seconds, got ${JSON.stringify(q.get("zoom"))}`);
  }
  if (q.has("refresh")) {
    if (q.get("refresh") in refreshes) s.refresh = q.get("refresh");
    else errors.push(`URL parameter refresh: want one of ${Object.keys(refreshes).join(", ")}`);
  }
  if (q.get("theme") === "dark" || q.get("theme") === "light") s.theme = q.get("theme");
  let n = Number(q.get("charts") || "1");
  if (!Number.isInteger(n) || n < 1 || n > 50) {
    errors.push("URL parameter charts: want 1 to 50");
    n = 1;
  }
  s.charts = [];
  for (let i = 0; i < n; i++) s.charts.push({ targets: q.getAll("t" + i), hidden: q.getAll("h" + i) });
  const a = Number(q.get("active") || "0");
  s.active = Number.isInteger(a) && a >= 0 && a < n ? a : 0;
  return { state: s, errors };
}

/** findQuery is the /metrics/find query for what is typed in the key
 * search box: a glob as typed, a prefix otherwise; "*" for nothing. */
export function findQuery(text) {
  text = text.trim();
  if (text === "") return "*";
  return /[*?[{]/.test(text) ? text : text + "*";
}

/**
 * parseMetrics reads the Prometheus text format into
 * {name: [{labels: {...}, value}]}, enough for the status strip.
 */
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split("\n")) {
    if (line === "" || line[0] === "#") continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    (out[m[1]] ||= []).push({ labels, value: Number(m[4]) });
  }
  return out;
}

/**
 * statusFrom extracts the status strip's figures from parsed metrics:
 * version ("unknown" without metricsd_build_info), process start time,
 * series and points stored, and the count of points ingested so far
 * (protocol puts plus Graphite lines stored), whose rate the page derives.
 */
export function statusFrom(m) {
  const one = (name, pred = () => true) => (m[name] || []).filter((s) => pred(s.labels)).reduce((a, s) => a + s.value, 0);
  const bi = (m.metricsd_build_info || [])[0];
  return {
    version: bi && bi.labels.version ? bi.labels.version : "unknown",
    start: m.process_start_time_seconds ? m.process_start_time_seconds[0].value : null,
    series: m.metricsd_series ? m.metricsd_series[0].value : null,
    points: m.metricsd_points ? m.metricsd_points[0].value : null,
    ingested: one("metricsd_requests_total", (l) => l.command === "put" && l.result === "ok") + one("metricsd_graphite_points_stored_total"),
  };
}

/** fmtDuration writes seconds as "3d 4h", "2h 5m", "4m 10s" or "9s". */
export function fmtDuration(s) {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}
