package wal

import "errors"

// Torn reports whether the damage that NextFrame found at off in buf, the
// whole contents of the log's last segment, is what a crash in the middle
// of a write leaves, and so may be cut off at startup (issue #11.5). Only
// two shapes qualify:
//
//   - an all-zero tail: every byte from off to the end is zero, as a
//     filesystem leaves a file extended by a crash before its data landed;
//   - an incomplete final frame: its header or its body runs past the end
//     of the file (ErrShortFrame), and no valid frame starts anywhere in
//     the bytes it claims, so it is the last thing written.
//
// Everything else is damage that a crash cannot explain and that recovery
// must not repair silently: a complete frame with a bad checksum (even the
// very last one), a length no record has, or an incomplete frame that has
// valid frames inside the bytes it claims (a damaged length in the middle).
func Torn(buf []byte, off int, err error) bool {
	if allZero(buf[off:]) {
		return true
	}
	return errors.Is(err, ErrShortFrame) && !validFrameAfter(buf, off)
}

// allZero reports whether every byte of b is zero.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// NextValidFrame returns the offset of the first complete frame with a
// correct checksum and a known record type that starts in buf after off,
// or -1 when there is none: where reading can go on past damage at off.
func NextValidFrame(buf []byte, off int) int {
	for q := off + 1; q+HeaderSize < len(buf); q++ {
		if !knownType(buf[q+HeaderSize]) {
			continue
		}
		if _, _, err := NextFrame(buf, q); err == nil {
			return q
		}
	}
	return -1
}
