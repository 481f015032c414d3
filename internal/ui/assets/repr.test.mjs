// Run: node --test internal/ui/assets/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pyRepr } from "./repr.js";

function fromBits(hex) {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt("0x" + hex));
  return dv.getFloat64(0);
}

test("pyRepr matches every line of the protocol's repr golden file", () => {
  const url = new URL("../../protocol/testdata/repr_golden.txt", import.meta.url);
  const lines = readFileSync(url, "utf8").split("\n").filter((l) => l !== "");
  assert.ok(lines.length > 10000, "golden file has " + lines.length + " lines");
  let bad = 0;
  for (const line of lines) {
    const [hex, want] = line.split(" ");
    const got = pyRepr(fromBits(hex));
    if (got !== want && bad++ < 10) assert.fail(`pyRepr(0x${hex}) = ${got}, want ${want}`);
  }
  assert.equal(bad, 0);
});

test("pyRepr edge cases", () => {
  const cases = [
    [0, "0.0"], [-0, "-0.0"], [10, "10.0"], [23.7, "23.7"], [0.0001, "0.0001"],
    [0.00001, "1e-05"], [1e16, "1e+16"], [1.5e16, "1.5e+16"], [1234567890123456.8, "1234567890123456.8"],
    [5e-324, "5e-324"], [1.7976931348623157e308, "1.7976931348623157e+308"], [NaN, "nan"],
    [Infinity, "inf"], [-Infinity, "-inf"], [-95000000.00000001, "-95000000.00000001"], [1e100, "1e+100"],
  ];
  for (const [x, want] of cases) assert.equal(pyRepr(x), want, String(x));
});
