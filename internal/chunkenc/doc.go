// Package chunkenc encodes runs of points (timestamp, float64 value) into
// compact, self-describing byte chunks, and decodes them back to the
// identical bits.
//
// The store keeps every series as a list of sealed chunks plus one chunk
// being built (an Appender); snapshots write the chunks to disk as they are.
// The byte format below is therefore stable: a reader of this version must
// decode every chunk that any earlier version wrote.
//
// # Why these encodings
//
// Metrics values are mostly short decimals ("12.34", "1503", "0.5"): the
// shortest repr of such a float64 is a small integer mantissa with a decimal
// exponent, and the mantissa reads back to the same float64 exactly
// (float64(m) / 10^k is correctly rounded when |m| <= 2^53 and k <= 22). So a
// chunk stores the mantissas as integers, frame-of-reference bit-packed
// after the best of no transform, delta, or delta-of-delta: random values
// with two decimals in [0, 100) take 14 bits a point, a counter or a steady
// gauge close to nothing. Values that are not short decimals (NaN, ±Inf,
// -0.0, 0.1+0.2, random bit patterns) fall back to their IEEE bits packed
// the same way, at most 8 bytes a point. Timestamps use the same integer
// block, so a fixed interval costs nothing per point. This is the approach
// of VictoriaMetrics (decimal mantissas, nearest-delta bit packing) rather
// than Prometheus's Gorilla XOR, which spends 7 to 8 bytes on a random
// two-decimal value.
//
// A chunk being appended to cannot be bit-packed (the bit width is not known
// until the chunk is complete), so the Appender writes a streaming encoding
// with variable-length codes per point (like Gorilla's, but on decimal
// mantissas); the store re-encodes it into the smaller block form when the
// chunk is sealed, and keeps whichever is smaller.
//
// Every float64 comes back bit for bit, including -0.0, ±Inf, subnormals and
// every NaN payload (NaNs take the IEEE-bits path, which keeps all 64 bits).
// Timestamps are any int64; differences are computed modulo 2^64, so deltas
// that overflow int64 (MinInt64 then MaxInt64) are exact.
//
// # Byte format
//
// All multi-byte fixed-width integers are little-endian. "varint" is the
// zig-zag signed varint of encoding/binary (AppendVarint).
//
//	chunk  = encoding:u8 count:u16 body
//
// count is the number of points (0 to MaxPoints). A chunk with count 0 has
// an empty body, whatever its encoding. The body must be consumed exactly:
// trailing bytes make a chunk corrupt.
//
// Encoding 1, EncDecimal: value_i = mantissa_i × 10^exp.
//
//	body = timestamps:intblock exp:i8 mantissas:intblock
//
// exp is in [-22, 22]. A value is decoded as float64(m) / 10^-exp when exp <
// 0 and float64(m) * 10^exp otherwise (10^k as a float64 is exact for k <=
// 22). The encoder only writes this encoding when that computation gives
// back each value's bits (it does for |m| <= 2^53).
//
// Encoding 2, EncBits: values as their IEEE 754 bits.
//
//	body = timestamps:intblock bits:intblock
//
// Encoding 3, EncStream: what an Appender writes, one point after another.
//
//	body = bit stream, least significant bit first within each byte,
//	       zero-padded to a whole byte
//
// Fields in the stream are written least significant bit first. A "code of
// k" is k one bits followed by a zero bit, except that the largest code of a
// table has no zero bit. Signed fields of w bits are two's complement.
//
// For each point, first the timestamp: the first point's timestamp as 64
// bits; then, for every later point, dod = (t_i - t_{i-1}) - (t_{i-1} -
// t_{i-2}) modulo 2^64, with t_{-1} taken as t_0 (so the second point's dod
// is its delta):
//
//	code 0: dod = 0
//	code 1: dod in 8 signed bits
//	code 2: dod in 16 signed bits
//	code 3: dod in 32 signed bits
//	code 4: dod in 64 bits
//
// Then the value. The stream keeps a decimal state: an exponent e (starting
// at 0), the last mantissa m and the last mantissa delta d (both starting
// at 0). A decimal value is mantissa M × 10^e; its code carries dod = (M -
// m) - d, after which d = M - m and m = M:
//
//	code 0: dod = 0
//	code 1: dod in 4 signed bits
//	code 2: dod in 8 signed bits
//	code 3: dod in 16 signed bits
//	code 4: dod in 32 signed bits
//	code 5: dod in 64 bits
//	code 6: exponent change: 6 bits holding e'+22, where -22 <= e' < e;
//	        m and d are multiplied by 10^(e-e'), e becomes e', and a value
//	        code 0 to 5 follows for this same point
//	code 7: the value's 64 IEEE bits; the decimal state is unchanged
//
// A decimal value is decoded from (M, e) as in EncDecimal.
//
// # Integer blocks
//
// An intblock holds the count integers x_0..x_{n-1} of the chunk (as
// uint64; timestamps and mantissas are int64 bit patterns):
//
//	intblock = transform:u8 [x_0:varint] [d_1:varint] packed
//	packed   = (empty if no values remain) | base:varint width:u8 bits
//
// transform 0 (plain) packs y_i = x_i for i >= 0 and has no prefix.
// transform 1 (delta) stores x_0 and packs y_i = x_i - x_{i-1} for i >= 1.
// transform 2 (delta of delta) needs count >= 2, stores x_0 and d_1 = x_1 -
// x_0, and packs y_i = (x_i - x_{i-1}) - (x_{i-1} - x_{i-2}) for i >= 2.
// All differences are modulo 2^64, read as int64. base is the smallest y
// (as int64); each y_i - base (modulo 2^64) is written in width bits (0 to
// 64), least significant bit first, one after another, in
// ceil(values × width / 8) bytes. Width 0 means every y equals base.
package chunkenc
