package chunkenc

import "encoding/binary"

// lowBits returns x's w least significant bits, for w in [0, 64].
func lowBits(x uint64, w uint) uint64 {
	if w >= 64 {
		return x
	}
	return x & (1<<w - 1)
}

// appendBits writes the w low bits of x (w in [0, 64], the other bits of x
// zero) at bit offset nbits of buf, whose bytes past nbits are zero, and
// returns buf grown to hold them. It works a byte at a time, which keeps the
// buffer a whole number of bytes after every call, as an Appender needs.
func appendBits(buf []byte, nbits uint, x uint64, w uint) []byte {
	for w > 0 {
		used := nbits & 7
		if used == 0 {
			buf = append(buf, 0)
		}
		take := min(8-used, w)
		buf[len(buf)-1] |= byte(x << used)
		x >>= take
		w -= take
		nbits += take
	}
	return buf
}

// bitPacker appends fixed-width fields to a byte slice through a 64-bit
// accumulator, for the bulk packing of integer blocks.
type bitPacker struct {
	dst []byte
	acc uint64 // pending bits, the oldest in the lowest position
	n   uint   // number of pending bits, always below 64
}

// write queues the w low bits of x (w in [0, 64], the other bits zero).
func (p *bitPacker) write(x uint64, w uint) {
	p.acc |= x << p.n // shifts of 64 or more give 0 in Go
	if p.n+w < 64 {
		p.n += w
		return
	}
	p.dst = binary.LittleEndian.AppendUint64(p.dst, p.acc)
	p.acc = x >> (64 - p.n) // the bits of x that did not fit
	p.n = p.n + w - 64
}

// finish appends the pending bits, zero-padded to a byte, and returns the
// slice.
func (p *bitPacker) finish() []byte {
	for i := uint(0); i < p.n; i += 8 {
		p.dst = append(p.dst, byte(p.acc>>i))
	}
	return p.dst
}

// readBits returns the w bits (w in [0, 64]) of src that start at bit pos.
// The caller guarantees pos+w <= 8*len(src).
func readBits(src []byte, pos, w uint) uint64 {
	if w == 0 {
		return 0
	}
	off, sh := pos>>3, pos&7
	var x uint64
	if off+8 <= uint(len(src)) {
		x = binary.LittleEndian.Uint64(src[off:])
	} else {
		for i := uint(0); off+i < uint(len(src)); i++ {
			x |= uint64(src[off+i]) << (8 * i)
		}
	}
	x >>= sh
	if sh+w > 64 {
		x |= uint64(src[off+8]) << (64 - sh)
	}
	return lowBits(x, w)
}

// signExtend reads the w low bits of x (w in [1, 64]) as a two's complement
// number.
func signExtend(x uint64, w uint) int64 {
	return int64(x<<(64-w)) >> (64 - w)
}

// fitsSigned reports whether v is representable in w signed bits.
func fitsSigned(v int64, w uint) bool {
	return w >= 64 || (v >= -(1<<(w-1)) && v < 1<<(w-1))
}
