// Run: node --test internal/ui/assets/*.test.mjs (TestNodeUnitTests runs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  defaultState, resolveTime, viewRange, encodeState, decodeState, findQuery, parseMetrics, statusFrom, fmtDuration,
} from "./state.js";

test("resolveTime reads now, offsets and epoch seconds", () => {
  const now = 1500000000;
  const cases = [["now", now], ["-5min", now - 300], ["-1h", now - 3600], ["-24h", now - 86400], ["-7d", now - 604800],
    ["-30s", now - 30], ["-2w", now - 1209600], ["1400000000", 1400000000]];
  for (const [s, want] of cases) assert.equal(resolveTime(s, now), want, s);
  for (const bad of ["", "-1y", "yesterday", "-h", "1e9", "-1H"]) assert.throws(() => resolveTime(bad, now), /unsupported time/, bad);
});

test("viewRange prefers the zoom and orders the bounds", () => {
  const s = defaultState();
  assert.deepEqual(viewRange(s, 1000000), [1000000 - 3600, 1000000]);
  s.from = "now";
  s.until = "-1h";
  assert.deepEqual(viewRange(s, 1000000), [1000000 - 3600, 1000000]);
  s.zoom = [5, 9];
  assert.deepEqual(viewRange(s, 1000000), [5, 9]);
});

test("encodeState and decodeState round-trip every part of the view", () => {
  const s = {
    charts: [{ targets: ["a.b", "sumSeries(x.{a,b}|c)&d=1"], hidden: ["a.b"] }, { targets: [], hidden: [] }, { targets: ["z"], hidden: [] }],
    active: 2, from: "-6h", until: "now", zoom: [1500000000, 1500003600], refresh: "30s", theme: "dark",
  };
  const q = encodeState(s);
  assert.match(q, /zoom=1500000000\.\.1500003600/);
  const { state, errors } = decodeState("?" + q);
  assert.deepEqual(errors, []);
  assert.deepEqual(state, s);
  assert.deepEqual(decodeState("").state, defaultState());
  assert.deepEqual(decodeState(encodeState(defaultState())).state, defaultState());
});

test("decodeState reports bad parameters and keeps defaults", () => {
  const { state, errors } = decodeState("from=yesterday&zoom=9..5&refresh=2s&charts=0&active=7");
  assert.equal(errors.length, 4);
  assert.deepEqual(state, defaultState());
});

test("findQuery sends a prefix as a glob and a glob as typed", () => {
  const cases = [["", "*"], ["  ", "*"], ["palm", "palm*"], ["palm.c", "palm.c*"], ["palm.*", "palm.*"], ["a.{b,c}", "a.{b,c}"], ["a?", "a?"], ["[ab]x", "[ab]x"]];
  for (const [text, want] of cases) assert.equal(findQuery(text), want, text);
});

test("parseMetrics and statusFrom read the status strip's figures", () => {
  const text = [
    "# HELP metricsd_build_info Build.",
    "# TYPE metricsd_build_info gauge",
    'metricsd_build_info{goversion="go1.26",revision="abc",version="v1.2.3"} 1',
    "process_start_time_seconds 1.5e+09",
    "metricsd_series 12",
    "metricsd_points 3456",
    'metricsd_requests_total{command="put",result="ok"} 100',
    'metricsd_requests_total{command="put",result="error"} 7',
    'metricsd_requests_total{command="get",result="ok"} 5',
    "metricsd_graphite_points_stored_total 20",
    'odd{a="x\\"y"} 2',
  ].join("\n");
  const m = parseMetrics(text);
  assert.equal(m.odd[0].labels.a, 'x"y');
  assert.deepEqual(statusFrom(m), { version: "v1.2.3", start: 1500000000, series: 12, points: 3456, ingested: 120 });
  assert.deepEqual(statusFrom(parseMetrics("metricsd_series 1\n")), { version: "unknown", start: null, series: 1, points: null, ingested: 0 });
});

test("fmtDuration", () => {
  const cases = [[0, "0s"], [59.9, "59s"], [61, "1m 1s"], [3600, "1h 0m"], [90061, "1d 1h"]];
  for (const [s, want] of cases) assert.equal(fmtDuration(s), want);
});
