package chunkenc

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// transform is how an integer block turns its integers into the values it
// packs (see "Integer blocks" in the package documentation).
type transform uint8

const (
	transformPlain        transform = iota // x_i
	transformDelta                         // x_i - x_{i-1}
	transformDeltaOfDelta                  // (x_i - x_{i-1}) - (x_{i-1} - x_{i-2})
	numTransforms
)

// prefixLen is how many leading integers a transform stores as varints
// instead of packing.
func (t transform) prefixLen() int { return int(t) }

// blockPlan is how an integer block will be written: the transform that
// makes it smallest, the frame of reference and bit width of the packed
// values, and the prefix integers.
type blockPlan struct {
	tr     transform
	base   int64
	width  uint
	prefix [2]int64
	size   int // bytes the block will take
}

// planBlock picks, in one pass over xs, the transform whose packed form is
// smallest. Ties go to the simpler transform.
func planBlock(xs []uint64) blockPlan {
	var lo, hi [numTransforms]int64
	for t := range lo {
		lo[t], hi[t] = math.MaxInt64, math.MinInt64
	}
	see := func(t transform, y int64) {
		lo[t] = min(lo[t], y)
		hi[t] = max(hi[t], y)
	}
	var prev, prevDelta uint64
	for i, x := range xs {
		see(transformPlain, int64(x))
		if i >= 1 {
			d := x - prev
			see(transformDelta, int64(d))
			if i >= 2 {
				see(transformDeltaOfDelta, int64(d-prevDelta))
			}
			prevDelta = d
		}
		prev = x
	}
	n := len(xs)
	best := blockPlan{size: math.MaxInt}
	for t := range numTransforms {
		k := t.prefixLen()
		if k > n {
			break
		}
		p := blockPlan{tr: t, size: 1}
		if k >= 1 {
			p.prefix[0] = int64(xs[0])
		}
		if k >= 2 {
			p.prefix[1] = int64(xs[1] - xs[0])
		}
		for _, v := range p.prefix[:k] {
			p.size += varintLen(v)
		}
		if m := n - k; m > 0 {
			p.base = lo[t]
			p.width = uint(bits.Len64(uint64(hi[t]) - uint64(lo[t])))
			p.size += varintLen(p.base) + 1 + (m*int(p.width)+7)/8
		}
		if p.size < best.size {
			best = p
		}
	}
	return best
}

// varintLen is the length of binary.AppendVarint's encoding of v.
func varintLen(v int64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], v)
}

// appendBlock appends xs as planned by planBlock(xs).
func appendBlock(dst []byte, xs []uint64, p blockPlan) []byte {
	dst = append(dst, byte(p.tr))
	k := p.tr.prefixLen()
	for _, v := range p.prefix[:k] {
		dst = binary.AppendVarint(dst, v)
	}
	if len(xs) == k {
		return dst
	}
	dst = binary.AppendVarint(dst, p.base)
	dst = append(dst, byte(p.width))
	pk := bitPacker{dst: dst}
	base := uint64(p.base)
	switch p.tr {
	case transformPlain:
		for _, x := range xs {
			pk.write(x-base, p.width)
		}
	case transformDelta:
		for i := 1; i < len(xs); i++ {
			pk.write(xs[i]-xs[i-1]-base, p.width)
		}
	case transformDeltaOfDelta:
		for i := 2; i < len(xs); i++ {
			pk.write((xs[i]-xs[i-1])-(xs[i-1]-xs[i-2])-base, p.width)
		}
	}
	return pk.finish()
}

// field says which half of a Point an integer block decodes into.
type field uint8

const (
	fieldTimestamp field = iota
	fieldValue           // as raw bits: IEEE bits or a mantissa
)

func (f field) String() string {
	if f == fieldTimestamp {
		return "timestamps"
	}
	return "values"
}

// set stores x in p's field f.
func (f field) set(p *Point, x uint64) {
	if f == fieldTimestamp {
		p.Timestamp = int64(x)
	} else {
		p.Value = math.Float64frombits(x)
	}
}

// decodeIntBlock reads one integer block holding len(pts) integers from the
// start of src into field f of pts, and returns the bytes after it.
func decodeIntBlock(pts []Point, f field, src []byte) ([]byte, error) {
	n := len(pts)
	if len(src) == 0 {
		return nil, corrupt("%s: missing block", f)
	}
	tr := transform(src[0])
	src = src[1:]
	if tr >= numTransforms {
		return nil, corrupt("%s: unknown transform %d", f, tr)
	}
	k := tr.prefixLen()
	if k > n {
		return nil, corrupt("%s: transform %d needs %d values, chunk has %d", f, tr, k, n)
	}
	var prefix [2]uint64
	for i := range k {
		v, used := binary.Varint(src)
		if used <= 0 {
			return nil, corrupt("%s: bad varint", f)
		}
		prefix[i] = uint64(v)
		src = src[used:]
	}
	// The prefix gives x_0 and x_1 - x_0 back directly.
	if k >= 1 {
		f.set(&pts[0], prefix[0])
	}
	if k >= 2 {
		f.set(&pts[1], prefix[0]+prefix[1])
	}
	if n == k {
		return src, nil
	}
	base, used := binary.Varint(src)
	if used <= 0 || used >= len(src) {
		return nil, corrupt("%s: bad frame of reference", f)
	}
	width := uint(src[used])
	src = src[used+1:]
	if width > 64 {
		return nil, corrupt("%s: bit width %d", f, width)
	}
	packedLen := ((n-k)*int(width) + 7) / 8
	if packedLen > len(src) {
		return nil, corrupt("%s: %d packed bytes, %d left", f, packedLen, len(src))
	}
	unpack(pts, f, tr, prefix, uint64(base), width, src[:packedLen])
	return src[packedLen:], nil
}

// unpack reads the packed values of a block and undoes its transform, from
// the first point that the prefix did not give.
func unpack(pts []Point, f field, tr transform, prefix [2]uint64, base uint64, width uint, packed []byte) {
	pos := uint(0)
	next := func() uint64 {
		y := readBits(packed, pos, width) + base
		pos += width
		return y
	}
	switch tr {
	case transformPlain:
		for i := range pts {
			f.set(&pts[i], next())
		}
	case transformDelta:
		x := prefix[0]
		for i := 1; i < len(pts); i++ {
			x += next()
			f.set(&pts[i], x)
		}
	case transformDeltaOfDelta:
		x, d := prefix[0]+prefix[1], prefix[1]
		for i := 2; i < len(pts); i++ {
			d += next()
			x += d
			f.set(&pts[i], x)
		}
	}
}
