package protocol

// The put fast path. Under pipelined load, parsing was 17 % of the server's
// CPU, most of it the general machinery every line pays for: Split's
// Unicode-aware token loop, the grammar checks of ParseFloat and
// strconv's parser behind them. Nearly every put a client sends has the
// same plain shape, "put <ascii key> <decimal> <integer>\n", so Parse reads
// that shape in one pass and hands anything else to the general parser.
// The fast path only ever accepts lines that the general one accepts with
// the same result (FuzzParsePutFast checks it bit for bit); declining is
// always safe.

// fastMaxDigits is the most digits a fast value or timestamp may have:
// 18 decimal digits always fit an int64, so no overflow check is needed.
const fastMaxDigits = 18

// exactMantissa is 2^53: every integer up to it is exact in a float64.
const exactMantissa = 1 << 53

// parsePutFast parses line when it is a put of the plain shape: "put",
// one space, a key of printable ASCII, one space, a value of an optional
// '-', digits and an optional fraction ("5", "5.", "23.45"), one space, a
// timestamp of an optional '-' and digits, then nothing, "\n" or "\r\n".
// It reports false, leaving req alone, for every other line.
func parsePutFast(line []byte, req *Request) bool {
	if len(line) < 4 || string(line[:4]) != "put " {
		return false
	}
	i := 4
	keyStart := i
	for i < len(line) && line[i] > ' ' && line[i] < 0x80 {
		i++
	}
	if i == keyStart || i == len(line) || line[i] != ' ' {
		return false
	}
	key := line[keyStart:i:i]
	value, i, ok := fastValue(line, i+1)
	if !ok || i == len(line) || line[i] != ' ' {
		return false
	}
	ts, i, ok := fastInt(line, i+1)
	if !ok || !fastLineEnd(line[i:]) {
		return false
	}
	*req = Request{Command: CmdPut, Key: key, Value: value, Timestamp: ts}
	return true
}

// fastValue reads the value starting at line[i] and returns it with the
// index just past it.
func fastValue(line []byte, i int) (float64, int, bool) {
	neg := i < len(line) && line[i] == '-'
	if neg {
		i++
	}
	mant, i, intDigits := fastDigits(line, i, 0)
	if intDigits == 0 {
		return 0, i, false // ".5" and the like: the general parser's
	}
	fracDigits := 0
	if i < len(line) && line[i] == '.' {
		mant, i, fracDigits = fastDigits(line, i+1, mant)
	}
	if intDigits+fracDigits > fastMaxDigits || mant > exactMantissa {
		return 0, i, false
	}
	// An exact mantissa divided by an exact power of ten (shortPow10) is
	// one correctly rounded IEEE operation, so it gives the correctly
	// rounded value of the decimal (Clinger's fast path, as in strconv).
	v := float64(mant) / shortPow10[fracDigits]
	if neg {
		v = -v // -0.0 included, as Python's float("-0.0")
	}
	return v, i, true
}

// fastInt reads the timestamp starting at line[i] and returns it with the
// index just past it.
func fastInt(line []byte, i int) (int64, int, bool) {
	neg := i < len(line) && line[i] == '-'
	if neg {
		i++
	}
	v, i, digits := fastDigits(line, i, 0)
	if digits == 0 || digits > fastMaxDigits {
		return 0, i, false
	}
	if neg {
		return -int64(v), i, true
	}
	return int64(v), i, true
}

// fastDigits accumulates the ASCII digits from line[i] onto acc, stopping
// after fastMaxDigits+1 of them (enough to refuse the token) so acc cannot
// overflow.
func fastDigits(line []byte, i int, acc uint64) (uint64, int, int) {
	n := 0
	for ; i < len(line) && n <= fastMaxDigits; i++ {
		d := line[i] - '0'
		if d > 9 {
			break
		}
		acc = acc*10 + uint64(d)
		n++
	}
	return acc, i, n
}

// fastLineEnd reports whether rest ends a plain put line.
func fastLineEnd(rest []byte) bool {
	switch string(rest) {
	case "", "\n", "\r\n":
		return true
	}
	return false
}
