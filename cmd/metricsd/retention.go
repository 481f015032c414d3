package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// retentionValue is the --retention and --max-future flags: a Go duration ("36h", "90m") or
// whole days or weeks ("30d", "2w"), which is how retention is usually
// said and which time.ParseDuration does not take.
type retentionValue struct{ d *time.Duration }

// String implements flag.Value.
func (r retentionValue) String() string {
	if r.d == nil || *r.d == 0 {
		return "0"
	}
	if *r.d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(*r.d/(24*time.Hour)), 10) + "d"
	}
	return r.d.String()
}

// Set implements flag.Value.
func (r retentionValue) Set(s string) error {
	d, err := parseRetention(s)
	if err != nil {
		return err
	}
	*r.d = d
	return nil
}

// parseRetention parses a retention window: "0", a Go duration, or a whole
// number of days ("d") or weeks ("w").
func parseRetention(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v < 0 || v > int64(1<<62)/int64(unit) {
				return 0, fmt.Errorf("%q: want a whole number of %s", s, suffix)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a duration such as 30d, 2w, 36h or 0", s)
	}
	return d, nil
}
