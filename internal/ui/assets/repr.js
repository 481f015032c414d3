// repr.js: a float formatted exactly as metricsd's protocol formats a
// point, which is Python's repr() (docs/protocol.md, "Formatting a point";
// the Go side is internal/protocol/repr.go). Checked against
// internal/protocol/testdata/repr_golden.txt by repr.test.mjs.

// Python writes fixed notation when the decimal exponent of the first
// digit is in [-4, 16), scientific otherwise.
const minFixedExp = -4;
const maxFixedExp = 16;

/**
 * pyRepr returns Python's repr() of the float x: "23.7", "10.0", "1e-05",
 * "1e+16", "-0.0", "nan", "inf", "-inf".
 * @param {number} x
 * @returns {string}
 */
export function pyRepr(x) {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  let sign = "";
  if (x < 0 || Object.is(x, -0)) {
    sign = "-";
    x = -x;
  }
  // toExponential() with no argument gives the shortest digits that read
  // back as the same double: the digits repr() uses; only the layout differs.
  const form = x.toExponential();
  const e = form.indexOf("e");
  const digits = form.slice(0, e).replace(".", "");
  const exp = Number(form.slice(e + 1));
  if (exp < minFixedExp || exp >= maxFixedExp) {
    const mant = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    const abs = Math.abs(exp);
    return sign + mant + "e" + (exp < 0 ? "-" : "+") + (abs < 10 ? "0" : "") + abs;
  }
  if (exp < 0) return sign + "0." + "0".repeat(-exp - 1) + digits;
  const intLen = exp + 1;
  if (digits.length <= intLen) return sign + digits + "0".repeat(intLen - digits.length) + ".0";
  return sign + digits.slice(0, intLen) + "." + digits.slice(intLen);
}
