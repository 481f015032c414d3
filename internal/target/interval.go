package target

import (
	"fmt"
	"strconv"
	"strings"
)

// maxIntervalSeconds bounds an interval, far past any representable time,
// so that arithmetic on it can't overflow.
const maxIntervalSeconds = 1 << 40

// intervalUnits are Graphite's time units, matched by prefix of the unit
// written ("min", "minutes"; "mon", "months"), in graphite-web's order
// (graphite/render/attime.py getUnitString): months before minutes.
var intervalUnits = []struct {
	prefix  string
	seconds int64
}{
	{"s", 1},
	{"min", 60},
	{"h", 3600},
	{"d", 86400},
	{"w", 7 * 86400},
	{"mon", 30 * 86400},
	{"y", 365 * 86400},
}

// ParseInterval parses a Graphite time offset into seconds, as
// graphite-web's parseTimeOffset does: an optional sign, then one or more
// number-unit terms ("-1h", "+2d", "1h30min", "5minutes"), all taking the
// sign. "" is 0.
func ParseInterval(s string) (int64, error) {
	orig := s
	if s == "" {
		return 0, nil
	}
	sign := int64(1)
	switch s[0] {
	case '-':
		sign, s = -1, s[1:]
	case '+':
		s = s[1:]
	}
	var total int64
	for s != "" {
		digits := leadingRun(s, func(c byte) bool { return c >= '0' && c <= '9' })
		letters := leadingRun(s[digits:], func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' })
		num, err := strconv.ParseInt(s[:digits], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid interval %q: bad number", orig)
		}
		unit, ok := intervalUnit(s[digits : digits+letters])
		if !ok {
			return 0, fmt.Errorf("invalid interval %q: unknown unit %q", orig, s[digits:digits+letters])
		}
		if num > (maxIntervalSeconds-total)/unit {
			return 0, fmt.Errorf("invalid interval %q: out of range", orig)
		}
		total += num * unit
		s = s[digits+letters:]
	}
	return sign * total, nil
}

func intervalUnit(unit string) (int64, bool) {
	if unit == "" {
		return 0, false
	}
	for _, u := range intervalUnits {
		if strings.HasPrefix(unit, u.prefix) {
			return u.seconds, true
		}
	}
	return 0, false
}

// leadingRun returns how many leading bytes of s satisfy ok.
func leadingRun(s string, ok func(byte) bool) int {
	n := 0
	for n < len(s) && ok(s[n]) {
		n++
	}
	return n
}
