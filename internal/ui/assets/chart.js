// chart.js: metricsd's own time-series chart, drawn on a canvas. The pure
// functions (data preparation, scales, hover, table, CSV) are exported and
// tested by chart.test.mjs; the Chart class only draws and listens.
import { pyRepr } from "./repr.js";

/** palette gives series their colours, in order (the server's PNG/SVG
 * renderer, internal/renderimage, uses the same list). */
export const palette = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#637939", "#ad494a", "#7b4173", "#3182bd",
  "#e6550d", "#31a354", "#756bb1", "#636363",
];

/** maxSeries is how many series one chart draws (issue #13). */
export const maxSeries = 20;

/**
 * parseRender turns /render?format=json's answer into series:
 * [{name, points: [[ts, value|null], ...]}], points in time order.
 * Graphite sends [value, ts] pairs; null is a gap.
 */
export function parseRender(json) {
  if (!Array.isArray(json)) throw new Error("render answer is not a list");
  return json.map((s) => ({
    name: String(s.target),
    points: (s.datapoints || []).map(([v, ts]) => [ts, v === null ? null : Number(v)]),
  }));
}

/** extent returns the value range of the visible series' non-null points,
 * or null when there is none. */
export function extent(series, hidden = new Set()) {
  let lo = Infinity, hi = -Infinity;
  for (const s of series) {
    if (hidden.has(s.name)) continue;
    for (const [, v] of s.points) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? { lo, hi } : null;
}

/** niceStep rounds a raw step up to 1, 2 or 5 times a power of ten. */
function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** valueTicks returns about count round values covering [lo, hi], and the
 * padded range {lo, hi} the axis should show. */
export function valueTicks(lo, hi, count = 5) {
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) / 2;
    lo -= d;
    hi += d;
  }
  const step = niceStep((hi - lo) / count);
  // toPrecision(12) drops the float noise of step multiples (0.30000000000000004).
  const start = +(Math.floor(lo / step) * step).toPrecision(12), end = +(Math.ceil(hi / step) * step).toPrecision(12);
  const ticks = [];
  for (let i = 0; start + i * step <= end + step / 1e9; i++) ticks.push(+(start + i * step).toPrecision(12));
  return { lo: start, hi: end, ticks };
}

// timeSteps are the spacings of time ticks, in seconds.
const timeSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
  21600, 43200, 86400, 172800, 604800, 2592000, 7776000, 31536000];

/** timeTicks returns at most about count timestamps (s) in [t0, t1] at a
 * round spacing (in UTC). */
export function timeTicks(t0, t1, count = 6) {
  const want = (t1 - t0) / count;
  const step = timeSteps.find((s) => s >= want) || timeSteps[timeSteps.length - 1];
  const ticks = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  return { step, ticks };
}

function pad(n) {
  return n < 10 ? "0" + n : String(n);
}

/** fmtTime formats a timestamp (s) as "YYYY-MM-DD HH:MM:SS" in UTC, as
 * Graphite's CSV does. */
export function fmtTime(ts) {
  const d = new Date(ts * 1000);
  return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
    pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
}

/** fmtTick labels a time tick, shorter when the spacing allows. */
export function fmtTick(ts, step) {
  const s = fmtTime(ts);
  if (step >= 86400) return s.slice(5, 10);
  if (step >= 60) return s.slice(11, 16);
  return s.slice(11);
}

/** nearest returns the index of the point of points (sorted by time) whose
 * timestamp is closest to ts, or -1 for no points. */
export function nearest(points, ts) {
  if (points.length === 0) return -1;
  let lo = 0, hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < ts) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && ts - points[lo - 1][0] <= points[lo][0] - ts) lo--;
  return lo;
}

/**
 * hover returns what the hover box shows for the time ts: the stored
 * timestamp closest to ts over the visible series, and each visible
 * series' value at exactly that time, formatted as the protocol formats
 * it ("null" for a gap, "" when the series has no point then).
 */
export function hover(series, hidden, ts) {
  let best = null;
  for (const s of series) {
    if (hidden.has(s.name)) continue;
    const i = nearest(s.points, ts);
    if (i >= 0 && (best === null || Math.abs(s.points[i][0] - ts) < Math.abs(best - ts))) best = s.points[i][0];
  }
  if (best === null) return null;
  const rows = [];
  series.forEach((s, k) => {
    if (hidden.has(s.name)) return;
    const i = nearest(s.points, best);
    let text = "";
    if (i >= 0 && s.points[i][0] === best) text = s.points[i][1] === null ? "null" : pyRepr(s.points[i][1]);
    rows.push({ name: s.name, color: palette[k % palette.length], text, value: i >= 0 && s.points[i][0] === best ? s.points[i][1] : undefined });
  });
  return { ts: best, time: fmtTime(best), rows };
}

/** segments splits points into runs without nulls (or non-finite values),
 * so that a gap is drawn as a gap. */
export function segments(points) {
  const out = [];
  let run = [];
  for (const p of points) {
    if (p[1] === null || !Number.isFinite(p[1])) {
      if (run.length) out.push(run);
      run = [];
    } else run.push(p);
  }
  if (run.length) out.push(run);
  return out;
}

/** table returns the chart's points as rows: one per timestamp of any
 * series, sorted, with each series' value (null for a gap, undefined when
 * it has no point then). */
export function table(series) {
  const byTs = new Map();
  series.forEach((s, k) => {
    for (const [ts, v] of s.points) {
      let row = byTs.get(ts);
      if (!row) byTs.set(ts, (row = new Array(series.length).fill(undefined)));
      row[k] = v;
    }
  });
  return [...byTs.keys()].sort((a, b) => a - b).map((ts) => ({ ts, values: byTs.get(ts) }));
}

function csvField(s) {
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function cell(v) {
  return v === undefined || v === null ? "" : pyRepr(v);
}

/** toCSV writes table(series) as CSV: "timestamp,time,<series>...", one
 * row per timestamp, values as the protocol formats them, empty for none;
 * "\r\n" line ends as Graphite's CSV. */
export function toCSV(series) {
  const lines = [["timestamp", "time", ...series.map((s) => s.name)].map(csvField).join(",")];
  for (const r of table(series)) lines.push([String(r.ts), fmtTime(r.ts), ...r.values.map(cell)].join(","));
  return lines.join("\r\n") + "\r\n";
}

/** cellText is how the raw table shows a value. */
export function cellText(v) {
  return v === undefined ? "" : v === null ? "null" : pyRepr(v);
}

// Layout of the plot inside the canvas, in CSS pixels.
const margin = { left: 64, right: 12, top: 10, bottom: 24 };

/**
 * Chart draws series over a time range on a canvas inside el, with a hover
 * box, drag-to-zoom and keyboard use (arrows move the cursor, Escape hides
 * it). Callbacks: onZoom(from, until) in seconds.
 */
export class Chart {
  constructor(el, { onZoom } = {}) {
    this.el = el;
    this.onZoom = onZoom || (() => {});
    this.series = [];
    this.hidden = new Set();
    this.from = 0;
    this.until = 1;
    this.cursor = null; // hovered timestamp
    this.drag = null; // {x0, x1} in CSS pixels while dragging
    this.canvas = document.createElement("canvas");
    this.canvas.tabIndex = 0;
    this.canvas.className = "plot";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", "chart; arrow keys move the cursor, drag to zoom");
    this.tip = document.createElement("div");
    this.tip.className = "tip";
    this.tip.hidden = true;
    this.sel = document.createElement("div");
    this.sel.className = "sel";
    this.sel.hidden = true;
    el.append(this.canvas, this.sel, this.tip);
    this.listen();
  }

  /** setData replaces the series and the time range (seconds). */
  setData(series, from, until) {
    this.series = series.slice(0, maxSeries);
    this.from = from;
    this.until = until;
    this.draw();
    if (this.cursor !== null) this.showHover(this.cursor);
  }

  /** setHidden sets the names of the series not drawn. */
  setHidden(hidden) {
    this.hidden = new Set(hidden);
    this.draw();
  }

  plotBox() {
    const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    return { x: margin.left, y: margin.top, w: Math.max(1, w - margin.left - margin.right), h: Math.max(1, h - margin.top - margin.bottom) };
  }

  xOf(ts, box) {
    return box.x + ((ts - this.from) / (this.until - this.from)) * box.w;
  }

  tsOf(x, box) {
    return this.from + ((x - box.x) / box.w) * (this.until - this.from);
  }

  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const css = getComputedStyle(this.el);
    const fg = css.getPropertyValue("--fg").trim() || "#000";
    const grid = css.getPropertyValue("--grid").trim() || "#ddd";
    g.clearRect(0, 0, w, h);
    const box = this.plotBox();
    const ext = extent(this.series, this.hidden) || { lo: 0, hi: 1 };
    const vt = valueTicks(ext.lo, ext.hi, Math.max(2, Math.floor(box.h / 40)));
    this.vlo = vt.lo;
    this.vhi = vt.hi;
    const yOf = (v) => box.y + box.h - ((v - vt.lo) / (vt.hi - vt.lo)) * box.h;
    g.font = "11px system-ui, sans-serif";
    g.lineWidth = 1;
    g.strokeStyle = grid;
    g.fillStyle = fg;
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (const v of vt.ticks) {
      const y = Math.round(yOf(v)) + 0.5;
      g.beginPath();
      g.moveTo(box.x, y);
      g.lineTo(box.x + box.w, y);
      g.stroke();
      g.fillText(pyRepr(v).replace(/\.0$/, ""), box.x - 6, y);
    }
    const tt = timeTicks(this.from, this.until, Math.max(2, Math.floor(box.w / 110)));
    g.textAlign = "center";
    g.textBaseline = "top";
    for (const t of tt.ticks) {
      const x = Math.round(this.xOf(t, box)) + 0.5;
      g.beginPath();
      g.moveTo(x, box.y);
      g.lineTo(x, box.y + box.h);
      g.stroke();
      g.fillText(fmtTick(t, tt.step), x, box.y + box.h + 6);
    }
    g.save();
    g.beginPath();
    g.rect(box.x, box.y, box.w, box.h);
    g.clip();
    g.lineWidth = 1.5;
    this.series.forEach((s, k) => {
      if (this.hidden.has(s.name)) return;
      g.strokeStyle = g.fillStyle = palette[k % palette.length];
      for (const run of segments(s.points)) {
        if (run.length === 1) {
          g.fillRect(this.xOf(run[0][0], box) - 1.5, yOf(run[0][1]) - 1.5, 3, 3);
          continue;
        }
        g.beginPath();
        run.forEach(([ts, v], i) => (i ? g.lineTo : g.moveTo).call(g, this.xOf(ts, box), yOf(v)));
        g.stroke();
      }
    });
    if (this.cursor !== null) {
      const hv = hover(this.series, this.hidden, this.cursor);
      if (hv) {
        const x = this.xOf(hv.ts, box);
        g.strokeStyle = fg;
        g.lineWidth = 1;
        g.beginPath();
        g.moveTo(x, box.y);
        g.lineTo(x, box.y + box.h);
        g.stroke();
        for (const r of hv.rows) {
          if (typeof r.value !== "number" || !Number.isFinite(r.value)) continue;
          g.fillStyle = r.color;
          g.beginPath();
          g.arc(x, yOf(r.value), 3, 0, 2 * Math.PI);
          g.fill();
        }
      }
    }
    g.restore();
    this.drawn = (this.drawn || 0) + 1;
    this.el.dataset.drawn = String(this.drawn);
  }

  /** showHover puts the cursor at the stored time nearest ts and fills the
   * hover box; it returns what hover() returned. */
  showHover(ts) {
    const hv = hover(this.series, this.hidden, ts);
    this.cursor = hv ? hv.ts : null;
    this.draw();
    if (!hv) {
      this.tip.hidden = true;
      return null;
    }
    this.tip.replaceChildren();
    const head = document.createElement("div");
    head.className = "tip-time";
    head.textContent = hv.time + " UTC";
    this.tip.append(head);
    for (const r of hv.rows) {
      const row = document.createElement("div");
      row.className = "tip-row";
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = r.color;
      const name = document.createElement("span");
      name.className = "tip-name";
      name.textContent = r.name;
      const val = document.createElement("span");
      val.className = "tip-value";
      val.textContent = r.text;
      row.append(sw, name, val);
      this.tip.append(row);
    }
    const box = this.plotBox();
    const x = this.xOf(hv.ts, box);
    this.tip.hidden = false;
    const left = x + 12 + this.tip.offsetWidth > this.canvas.clientWidth ? x - 12 - this.tip.offsetWidth : x + 12;
    this.tip.style.left = Math.max(0, left) + "px";
    this.tip.style.top = box.y + "px";
    return hv;
  }

  hideHover() {
    this.cursor = null;
    this.tip.hidden = true;
    this.draw();
  }

  /** step moves the cursor to the previous (-1) or next (+1) stored time. */
  step(dir) {
    const times = table(this.series.filter((s) => !this.hidden.has(s.name))).map((r) => r.ts);
    if (times.length === 0) return;
    let i = this.cursor === null ? (dir > 0 ? -1 : times.length) : times.indexOf(this.cursor);
    i = Math.min(times.length - 1, Math.max(0, i + dir));
    this.showHover(times[i]);
  }

  listen() {
    const c = this.canvas;
    const localX = (e) => e.clientX - c.getBoundingClientRect().left;
    c.addEventListener("mousemove", (e) => {
      const x = localX(e);
      if (this.drag) {
        this.drag.x1 = x;
        const l = Math.min(this.drag.x0, x), r = Math.max(this.drag.x0, x);
        this.sel.hidden = false;
        this.sel.style.left = l + "px";
        this.sel.style.width = r - l + "px";
        this.sel.style.top = margin.top + "px";
        this.sel.style.height = this.plotBox().h + "px";
      }
      this.showHover(this.tsOf(x, this.plotBox()));
    });
    c.addEventListener("mouseleave", () => {
      if (!this.drag) this.hideHover();
    });
    c.addEventListener("mousedown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      c.focus();
      this.drag = { x0: localX(e), x1: localX(e) };
    });
    window.addEventListener("mouseup", () => {
      const d = this.drag;
      if (!d) return;
      this.drag = null;
      this.sel.hidden = true;
      if (Math.abs(d.x1 - d.x0) < 4) return;
      const box = this.plotBox();
      const a = Math.round(this.tsOf(Math.min(d.x0, d.x1), box));
      const b = Math.round(this.tsOf(Math.max(d.x0, d.x1), box));
      if (b > a) this.onZoom(a, b);
    });
    c.addEventListener("keydown", (e) => {
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        e.preventDefault();
        this.step(e.key === "ArrowLeft" ? -1 : 1);
      } else if (e.key === "Escape") this.hideHover();
    });
    c.addEventListener("blur", () => this.hideHover());
  }
}
