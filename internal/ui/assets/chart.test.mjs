// Run: node --test internal/ui/assets/*.test.mjs (TestNodeUnitTests runs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  parseRender, extent, valueTicks, timeTicks, nearest, hover, segments, table, toCSV,
  fmtTime, fmtTick, cellText, palette, maxSeries,
} from "./chart.js";

const render = [
  { target: "a.b", tags: { name: "a.b" }, datapoints: [[1.5, 100], [null, 110], [2.25, 120], [10.0, 130]] },
  { target: "c,d", tags: { name: "c,d" }, datapoints: [[-3, 110], [1e-05, 130], [1e16, 140]] },
];

test("parseRender turns [value, ts] pairs into [ts, value] points, keeping nulls", () => {
  const s = parseRender(render);
  assert.deepEqual(s[0], { name: "a.b", points: [[100, 1.5], [110, null], [120, 2.25], [130, 10]] });
  assert.equal(s[1].name, "c,d");
  assert.deepEqual(parseRender([{ target: "e" }]), [{ name: "e", points: [] }]);
  assert.throws(() => parseRender({ error: "x" }));
});

test("extent skips nulls and hidden series", () => {
  const s = parseRender(render);
  assert.deepEqual(extent(s), { lo: -3, hi: 1e16 });
  assert.deepEqual(extent(s, new Set(["c,d"])), { lo: 1.5, hi: 10 });
  assert.equal(extent(s, new Set(["a.b", "c,d"])), null);
  assert.equal(extent([{ name: "x", points: [[1, null]] }]), null);
});

test("valueTicks covers the range with round steps", () => {
  const cases = [
    [0, 10, 5, 0, 10, [0, 2, 4, 6, 8, 10]],
    [1.5, 9.2, 4, 0, 10, [0, 2, 4, 6, 8, 10]],
    [-3, 3, 3, -4, 4, [-4, -2, 0, 2, 4]], [-3, 3, 6, -3, 3, [-3, -2, -1, 0, 1, 2, 3]],
    [0.1, 0.3, 2, 0.1, 0.3, [0.1, 0.2, 0.3]],
    [5, 5, 5, 2, 8, [2, 3, 4, 5, 6, 7, 8]],
    [0, 0, 2, -1, 1, [-1, 0, 1]],
  ];
  for (const [lo, hi, n, wlo, whi, wticks] of cases) {
    const got = valueTicks(lo, hi, n);
    assert.deepEqual(got, { lo: wlo, hi: whi, ticks: wticks }, `valueTicks(${lo}, ${hi}, ${n})`);
  }
});

test("timeTicks picks a round spacing inside the range", () => {
  assert.deepEqual(timeTicks(0, 3600, 6), { step: 600, ticks: [0, 600, 1200, 1800, 2400, 3000, 3600] });
  const day = timeTicks(1500000000, 1500086400, 6);
  assert.equal(day.step, 21600);
  assert.ok(day.ticks.every((t) => t % 21600 === 0 && t >= 1500000000 && t <= 1500086400));
  assert.equal(timeTicks(10, 11, 6).step, 1);
});

test("fmtTime and fmtTick format UTC", () => {
  assert.equal(fmtTime(1500000000), "2017-07-14 02:40:00");
  assert.equal(fmtTick(1500000000, 600), "02:40");
  assert.equal(fmtTick(1500000000, 86400), "07-14");
  assert.equal(fmtTick(1500000005, 5), "02:40:05");
});

test("nearest finds the closest timestamp, ties to the earlier", () => {
  const pts = [[10, 1], [20, 2], [40, 3]];
  const cases = [[0, 0], [10, 0], [14, 0], [15, 0], [16, 1], [29, 1], [30, 1], [31, 2], [99, 2]];
  for (const [ts, want] of cases) assert.equal(nearest(pts, ts), want, `nearest(${ts})`);
  assert.equal(nearest([], 5), -1);
});

test("hover shows each visible series' stored value at the nearest stored time", () => {
  const s = parseRender(render);
  const h = hover(s, new Set(), 128);
  assert.equal(h.ts, 130);
  assert.equal(h.time, "1970-01-01 00:02:10");
  assert.deepEqual(h.rows.map((r) => [r.name, r.text, r.color]), [["a.b", "10.0", palette[0]], ["c,d", "1e-05", palette[1]]]);
  const gap = hover(s, new Set(), 111);
  assert.deepEqual(gap.rows.map((r) => r.text), ["null", "-3.0"]);
  const only = hover(s, new Set(["a.b"]), 101);
  assert.equal(only.ts, 110);
  assert.deepEqual(only.rows.map((r) => r.name), ["c,d"]);
  const missing = hover(s, new Set(), 100);
  assert.deepEqual(missing.rows.map((r) => r.text), ["1.5", ""]);
  assert.equal(hover(s, new Set(["a.b", "c,d"]), 100), null);
});

test("segments break lines at nulls so that gaps are drawn as gaps", () => {
  const pts = [[1, 1], [2, null], [3, 3], [4, 4], [5, null], [6, null], [7, NaN], [8, 8]];
  assert.deepEqual(segments(pts), [[[1, 1]], [[3, 3], [4, 4]], [[8, 8]]]);
  assert.deepEqual(segments([]), []);
  assert.deepEqual(segments([[1, null]]), []);
});

test("table merges the series' timestamps", () => {
  const rows = table(parseRender(render));
  assert.deepEqual(rows.map((r) => r.ts), [100, 110, 120, 130, 140]);
  assert.deepEqual(rows[1].values, [null, -3]);
  assert.deepEqual(rows[0].values, [1.5, undefined]);
  assert.deepEqual(rows.map((r) => r.values.map(cellText)), [
    ["1.5", ""], ["null", "-3.0"], ["2.25", ""], ["10.0", "1e-05"], ["", "1e+16"],
  ]);
});

test("toCSV writes one row per timestamp, values in repr, names quoted when needed", () => {
  assert.equal(toCSV(parseRender(render)), [
    'timestamp,time,a.b,"c,d"',
    "100,1970-01-01 00:01:40,1.5,",
    "110,1970-01-01 00:01:50,,-3.0",
    "120,1970-01-01 00:02:00,2.25,",
    "130,1970-01-01 00:02:10,10.0,1e-05",
    "140,1970-01-01 00:02:20,,1e+16",
    "",
  ].join("\r\n"));
});

test("the palette has a distinct colour for every series a chart draws", () => {
  assert.equal(palette.length, maxSeries);
  assert.equal(new Set(palette).size, maxSeries);
});
