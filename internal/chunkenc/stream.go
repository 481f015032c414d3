package chunkenc

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
)

// The code tables of the stream encoding (package documentation, encoding
// 3): code k of a timestamp or a decimal value carries a delta of delta in
// the given number of bits.
var (
	tsWidths    = [...]uint{0, 8, 16, 32, 64}
	valueWidths = [...]uint{0, 4, 8, 16, 32, 64}
)

const (
	tsMaxCode    = len(tsWidths) - 1
	codeExponent = len(valueWidths) // exponent change, then a value code
	codeRawBits  = codeExponent + 1 // the value's IEEE bits
	valueMaxCode = codeRawBits      // the longest value code
	expBits      = 6                // width of an exponent change's e'+22
	minStreamExp = -maxExp10        // the smallest exponent a stream uses
	rawValueBits = 64               // width of a code-7 value
	firstTSBits  = 64               // width of the first timestamp
	streamMinCap = 16               // first allocation of an Appender's buffer

	// Recycle keeps a buffer with up to 1/4 more room than the chunk
	// used, and otherwise makes one with 1/8 more: chunks of one series
	// vary by a few percent, so the next one rarely outgrows it.
	recycleSlack  = 4
	recycleMargin = 8
)

// streamState is what both an Appender and a stream decoder know after a
// point: where the next point starts and what it is coded against.
// It is packed small because a store holds two per series.
type streamState struct {
	t, td int64  // last timestamp and last timestamp delta
	m, md int64  // last decimal mantissa and its last delta
	nbits uint32 // bits of the body used (MaxPoints points need < 2^24)
	count uint16 // points so far (at most MaxPoints)
	exp   int8   // the exponent of decimal mantissas
}

// Appender builds an EncStream chunk one point at a time: the chunk being
// filled, before the store re-encodes it as a block chunk. Appending a point
// costs a few dozen nanoseconds and no allocation once the buffer has grown
// (Reset keeps it). The zero value is an empty chunk ready for use; an
// Appender is not safe for concurrent use.
type Appender struct {
	buf  []byte      // the chunk: header, then the body
	cur  streamState // after the last point
	prev streamState // before the last point, for ReplaceLast
}

// Len returns the number of points appended.
func (a *Appender) Len() int { return int(a.cur.count) }

// LastTimestamp returns the timestamp of the last point; it is only
// meaningful when Len() > 0.
func (a *Appender) LastTimestamp() int64 { return a.cur.t }

// Bytes returns the chunk built so far, nil before the first point. The
// slice is only valid until the Appender is next changed.
func (a *Appender) Bytes() []byte { return a.buf }

// Reset empties the chunk and keeps its buffer for the next one.
func (a *Appender) Reset() {
	a.buf = a.buf[:0]
	a.cur, a.prev = streamState{}, streamState{}
}

// Recycle empties the chunk for a next one of about the same size: it keeps
// the buffer, unless the buffer has much more room than this chunk used (as
// append's doubling leaves it), in which case it swaps it for one of this
// chunk's size and a small margin. A store keeps one Appender per series, so
// that slack would otherwise be held by every series.
func (a *Appender) Recycle() {
	used := len(a.buf)
	if cap(a.buf) > used+used/recycleSlack {
		a.buf = slices.Grow([]byte(nil), used+used/recycleMargin)
	}
	a.Reset()
}

// Release empties the chunk and drops its buffer, for an Appender that may
// stay empty for long.
func (a *Appender) Release() {
	a.Reset()
	a.buf = nil
}

// Append adds a point after the others. Timestamps need not be ascending
// for the encoding, but Put relies on it. It fails only when the chunk
// already holds MaxPoints points.
func (a *Appender) Append(t int64, v float64) error {
	if a.cur.count == MaxPoints {
		return ErrTooManyPoints
	}
	a.appendPoint(t, v)
	return nil
}

// appendPoint is Append once the count is known to have room.
func (a *Appender) appendPoint(t int64, v float64) {
	if len(a.buf) == 0 {
		a.buf = appendHeader(slices.Grow(a.buf, streamMinCap), EncStream, 0)
	}
	a.prev = a.cur
	a.appendTimestamp(t)
	a.appendValue(v)
	a.cur.count++
	binary.LittleEndian.PutUint16(a.buf[1:], a.cur.count)
}

// ReplaceLast gives the last point the value v. The chunk must not be empty.
func (a *Appender) ReplaceLast(v float64) {
	t := a.cur.t
	a.truncateTo(a.prev)
	a.appendPoint(t, v)
}

// Put stores (t, v) with last-write-wins semantics in a chunk whose points
// are in ascending timestamp order: it appends when t is after the last
// point, replaces the value of an equal timestamp, and otherwise inserts
// the point in order. An insert decodes the chunk up to t and re-encodes the
// points from t on, so it costs O(Len) time, least for points near the end.
// scratch is working space, returned for reuse. added reports whether the
// chunk gained a point (false when a value was replaced).
func (a *Appender) Put(t int64, v float64, scratch []Point) (added bool, _ []Point, err error) {
	switch {
	case a.cur.count == 0 || t > a.cur.t:
		return true, scratch, a.Append(t, v)
	case t == a.cur.t:
		a.ReplaceLast(v)
		return false, scratch, nil
	}
	// Find the first point at or after t, remembering the state before it:
	// the stream is cut there and the rest appended again.
	r := streamReader{src: a.buf[headerLen:]}
	var cut streamState
	var p Point
	for {
		cut = r.state()
		if p, err = r.next(); err != nil {
			return false, scratch, err
		}
		if p.Timestamp >= t {
			break
		}
	}
	rest := append(scratch[:0], Point{Timestamp: t, Value: v})
	added = p.Timestamp != t
	if added {
		if a.cur.count == MaxPoints {
			return false, rest, ErrTooManyPoints
		}
		rest = append(rest, p)
	}
	for int(r.st.count) < int(a.cur.count) {
		if p, err = r.next(); err != nil {
			return false, rest, err
		}
		rest = append(rest, p)
	}
	a.truncateTo(cut)
	for _, p := range rest {
		a.appendPoint(p.Timestamp, p.Value)
	}
	return added, rest, nil
}

// truncateTo cuts the chunk back to an earlier state: the body is shortened
// to its bits and the bits after them zeroed, as appendBits expects.
func (a *Appender) truncateTo(st streamState) {
	a.cur = st
	a.buf = a.buf[:headerLen+int(st.nbits+7)/8]
	if used := st.nbits & 7; used != 0 {
		a.buf[len(a.buf)-1] &= byte(1<<used - 1)
	}
	binary.LittleEndian.PutUint16(a.buf[1:], st.count)
}

// put appends the w low bits of x to the body.
func (a *Appender) put(x uint64, w uint) {
	a.buf = appendBits(a.buf, uint(a.cur.nbits), x, w)
	a.cur.nbits += uint32(w)
}

// putCode writes code k of a table whose longest code is maxCode.
func (a *Appender) putCode(k, maxCode int) {
	w := uint(k)
	if k < maxCode {
		w++ // the terminating zero bit
	}
	a.put(1<<k-1, w)
}

// putDoD writes dod with the shortest code of widths that holds it.
func (a *Appender) putDoD(dod int64, widths []uint, maxCode int) {
	k := 0
	if dod != 0 {
		for k = 1; !fitsSigned(dod, widths[k]); k++ {
		}
	}
	a.putCode(k, maxCode)
	a.put(lowBits(uint64(dod), widths[k]), widths[k])
}

func (a *Appender) appendTimestamp(t int64) {
	s := &a.cur
	if s.count == 0 {
		a.put(uint64(t), firstTSBits)
	} else {
		td := t - s.t // wraps modulo 2^64, as the decoder's sum does
		a.putDoD(td-s.td, tsWidths[:], tsMaxCode)
		s.td = td
	}
	s.t = t
}

// appendValue writes v as a decimal mantissa when it has a short decimal
// form that fits the stream's exponent, and as raw bits otherwise.
func (a *Appender) appendValue(v float64) {
	s := &a.cur
	if m, e, ok := decimalOf(v); ok {
		cur := int(s.exp)
		exp := min(cur, e)
		if mant, ok := rescale(m, e-exp, maxMantissa); ok {
			if exp < cur {
				a.putCode(codeExponent, valueMaxCode)
				a.put(uint64(exp-minStreamExp), expBits)
				s.m = scaleWrapping(s.m, cur-exp)
				s.md = scaleWrapping(s.md, cur-exp)
				s.exp = int8(exp)
			}
			a.putDoD(mant-s.m-s.md, valueWidths[:], valueMaxCode)
			s.md = mant - s.m
			s.m = mant
			return
		}
	}
	a.putCode(codeRawBits, valueMaxCode)
	a.put(math.Float64bits(v), rawValueBits)
}

// scaleWrapping returns x × 10^k modulo 2^64. Encoder and decoder scale the
// same way, so the state stays in step even where it wraps.
func scaleWrapping(x int64, k int) int64 {
	for ; k > 18; k -= 18 {
		x *= pow10Int[18]
	}
	return x * pow10Int[k]
}

// streamReader decodes an EncStream body point by point.
type streamReader struct {
	src []byte
	pos uint        // bits read
	st  streamState // as of the last point read, but for nbits (see state)
}

// state returns what an Appender needs to continue after the points read.
func (r *streamReader) state() streamState {
	st := r.st
	st.nbits = uint32(r.pos)
	return st
}

// decodeStream decodes the body of an EncStream chunk into pts, which has
// the chunk's length.
func decodeStream(pts []Point, body []byte) error {
	r := streamReader{src: body}
	for i := range pts {
		p, err := r.next()
		if err != nil {
			return err
		}
		pts[i] = p
	}
	if used := int(r.pos+7) / 8; used != len(body) {
		return corrupt("stream: %d bytes after the last point", len(body)-used)
	}
	return nil
}

// peekBits is how many bits peek always returns valid: a 64-bit load
// shifted by up to 7.
const peekBits = 57

// peek returns the stream's next bits, at least peekBits of them, with
// zeros past its end (the callers' bounds checks then reject what they
// read there).
func (r *streamReader) peek() uint64 {
	off, sh := r.pos>>3, r.pos&7
	if off+8 <= uint(len(r.src)) {
		return binary.LittleEndian.Uint64(r.src[off:]) >> sh
	}
	var x uint64
	for i := uint(0); off+i < uint(len(r.src)); i++ {
		x |= uint64(r.src[off+i]) << (8 * i)
	}
	return x >> sh
}

// advance consumes n bits, failing if the stream has fewer left.
func (r *streamReader) advance(n uint) error {
	if r.pos+n > 8*uint(len(r.src)) {
		return corrupt("stream: ends inside point %d", r.st.count)
	}
	r.pos += n
	return nil
}

// read consumes w bits.
func (r *streamReader) read(w uint) (uint64, error) {
	if r.pos+w > 8*uint(len(r.src)) {
		return 0, corrupt("stream: ends inside point %d", r.st.count)
	}
	x := readBits(r.src, r.pos, w)
	r.pos += w
	return x, nil
}

// codedDoD consumes a code of a table whose longest code is maxCode and, if
// the code is one of widths', the delta of delta it carries. One peek
// serves both when they fit in it, which is nearly always.
func (r *streamReader) codedDoD(widths []uint, maxCode int) (k int, dod int64, err error) {
	x := r.peek()
	k = min(bits.TrailingZeros64(^x), maxCode)
	n := uint(k) + 1 // the ones and the terminating zero
	if k == maxCode {
		n = uint(k)
	}
	if k >= len(widths) { // a special code: the caller reads what follows
		return k, 0, r.advance(n)
	}
	w := widths[k]
	if n+w > peekBits {
		if err := r.advance(n); err != nil {
			return k, 0, err
		}
		y, err := r.read(w)
		return k, signExtend(y, w), err
	}
	if w > 0 {
		dod = signExtend(lowBits(x>>n, w), w)
	}
	return k, dod, r.advance(n + w)
}

// next decodes one point.
func (r *streamReader) next() (Point, error) {
	t, err := r.timestamp()
	if err != nil {
		return Point{}, err
	}
	v, err := r.value()
	if err != nil {
		return Point{}, err
	}
	r.st.count++
	return Point{Timestamp: t, Value: v}, nil
}

func (r *streamReader) timestamp() (int64, error) {
	s := &r.st
	if s.count == 0 {
		x, err := r.read(firstTSBits)
		s.t = int64(x)
		return s.t, err
	}
	_, dod, err := r.codedDoD(tsWidths[:], tsMaxCode)
	if err != nil {
		return 0, err
	}
	s.td += dod
	s.t += s.td
	return s.t, nil
}

func (r *streamReader) value() (float64, error) {
	s := &r.st
	k, dod, err := r.codedDoD(valueWidths[:], valueMaxCode)
	if err != nil {
		return 0, err
	}
	switch k {
	case codeRawBits:
		x, err := r.read(rawValueBits)
		return math.Float64frombits(x), err
	case codeExponent:
		if dod, err = r.exponentChange(); err != nil {
			return 0, err
		}
	}
	s.md += dod
	s.m += s.md
	return decimalValue(s.m, int(s.exp)), nil
}

// exponentChange reads a new exponent, rescales the state to it, and reads
// the value code that must follow, returning its delta of delta.
func (r *streamReader) exponentChange() (int64, error) {
	s := &r.st
	x, err := r.read(expBits)
	if err != nil {
		return 0, err
	}
	exp, cur := int(x)+minStreamExp, int(s.exp)
	if exp >= cur {
		return 0, corrupt("stream: exponent %d does not decrease from %d", exp, cur)
	}
	s.m = scaleWrapping(s.m, cur-exp)
	s.md = scaleWrapping(s.md, cur-exp)
	s.exp = int8(exp)
	k, dod, err := r.codedDoD(valueWidths[:], valueMaxCode)
	if err != nil {
		return 0, err
	}
	if k >= codeExponent {
		return 0, corrupt("stream: code %d after an exponent change", k)
	}
	return dod, nil
}
