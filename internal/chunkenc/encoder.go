package chunkenc

import "math"

// Encoder encodes runs of points into block chunks (EncDecimal or EncBits,
// whichever is smaller). It keeps scratch space between calls, so reusing
// one Encoder makes encoding allocate nothing beyond growing dst. The zero
// value is ready to use; an Encoder is not safe for concurrent use.
type Encoder struct {
	ts, bits, mant []uint64
	exps           []int8
}

// Append appends the encoding of pts, which may be any sequence of at most
// MaxPoints points (the store passes them sorted and unique, but the codec
// does not need that), and returns the extended slice.
func (e *Encoder) Append(dst []byte, pts []Point) ([]byte, error) {
	n := len(pts)
	if n > MaxPoints {
		return dst, ErrTooManyPoints
	}
	if n == 0 {
		return appendHeader(dst, EncBits, 0), nil
	}
	e.ts, e.bits = e.ts[:0], e.bits[:0]
	for _, p := range pts {
		e.ts = append(e.ts, uint64(p.Timestamp))
		e.bits = append(e.bits, math.Float64bits(p.Value))
	}
	tsPlan := planBlock(e.ts)
	enc, vals, valPlan := EncBits, e.bits, planBlock(e.bits)
	// Decimal mantissas cost one exponent byte more; they win whenever the
	// values are short decimals, which is the common case.
	exp, ok := e.mantissas(pts)
	if ok {
		if p := planBlock(e.mant); p.size+1 <= valPlan.size {
			enc, vals, valPlan = EncDecimal, e.mant, p
		}
	}
	dst = appendHeader(dst, enc, n)
	dst = appendBlock(dst, e.ts, tsPlan)
	if enc == EncDecimal {
		dst = append(dst, byte(int8(exp)))
	}
	return appendBlock(dst, vals, valPlan), nil
}

// mantissas fills e.mant with every value's mantissa at the chunk's common
// exponent (the smallest of the values' own), and returns that exponent.
// ok is false if some value has no decimal form, or if bringing one to the
// common exponent would take its mantissa past 2^53.
func (e *Encoder) mantissas(pts []Point) (exp int, ok bool) {
	e.mant, e.exps = e.mant[:0], e.exps[:0]
	exp = maxExp10
	for _, p := range pts {
		m, x, ok := decimalOf(p.Value)
		if !ok {
			return 0, false
		}
		e.mant = append(e.mant, uint64(m))
		e.exps = append(e.exps, int8(x))
		if m != 0 {
			exp = min(exp, x)
		}
	}
	for i, m := range e.mant {
		scaled, ok := rescale(int64(m), int(e.exps[i])-exp, maxMantissa)
		if !ok {
			return 0, false
		}
		e.mant[i] = uint64(scaled)
	}
	return exp, true
}

// Append encodes pts with a fresh Encoder: convenient for one-off use; code
// that encodes often should keep an Encoder.
func Append(dst []byte, pts []Point) ([]byte, error) {
	var e Encoder
	return e.Append(dst, pts)
}
