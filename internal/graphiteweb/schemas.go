package graphiteweb

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// DefaultStepFallback is the step of a series that no schema rule
// matches and that has fewer than two points in the requested range, so
// that no spacing can be measured: carbon's own fallback rule
// (default_1min_for_1day).
const DefaultStepFallback = 60

// Schemas are the step rules of carbon's storage-schemas.conf: the first
// rule whose pattern matches a series' name gives its step, the precision
// of its first retention archive. A series no rule matches gets the
// smallest spacing between its points in the requested range (so that
// one-second data renders as it was stored), or DefaultStepFallback.
type Schemas struct {
	rules []schemaRule
}

type schemaRule struct {
	name    string
	pattern *regexp.Regexp
	step    int64
}

// Step returns the step of the series key, and false if no rule matches.
func (s *Schemas) Step(key string) (int64, bool) {
	if s == nil {
		return 0, false
	}
	for _, r := range s.rules {
		if r.pattern.MatchString(key) {
			return r.step, true
		}
	}
	return 0, false
}

// ParseSchemas reads carbon's storage-schemas.conf format: "[section]"
// headers, each with "pattern = <regex>" and "retentions =
// <precision>:<duration>[,...]" lines; "#" and ";" start comments. Only the
// first archive's precision is used (metricsd keeps every point; the
// step is the grid /render answers on). Precision is seconds ("60") or a
// number with a unit: s, m or min, h, d, w, y, as whisper reads them.
func ParseSchemas(r io.Reader) (*Schemas, error) {
	sc := bufio.NewScanner(r)
	var out Schemas
	var cur *schemaRule
	var curPattern string
	var haveRetentions bool
	line := 0
	finish := func() error {
		if cur == nil {
			return nil
		}
		if curPattern == "" && !haveRetentions {
			cur = nil
			return nil
		}
		if cur.pattern == nil {
			return fmt.Errorf("section [%s]: missing pattern", cur.name)
		}
		if !haveRetentions {
			return fmt.Errorf("section [%s]: missing retentions", cur.name)
		}
		out.rules = append(out.rules, *cur)
		cur = nil
		return nil
	}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		if text[0] == '[' {
			if !strings.HasSuffix(text, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", line, text)
			}
			if err := finish(); err != nil {
				return nil, err
			}
			cur = &schemaRule{name: strings.TrimSpace(text[1 : len(text)-1])}
			curPattern, haveRetentions = "", false
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want key = value, got %q", line, text)
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: %q outside a section", line, text)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch key {
		case "pattern":
			re, err := regexp.Compile(value)
			if err != nil {
				return nil, fmt.Errorf("line %d: section [%s]: bad pattern %q: %w", line, cur.name, value, err)
			}
			cur.pattern, curPattern = re, value
		case "retentions":
			step, err := firstPrecision(value)
			if err != nil {
				return nil, fmt.Errorf("line %d: section [%s]: %w", line, cur.name, err)
			}
			cur.step, haveRetentions = step, true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read schemas: %w", err)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return &out, nil
}

// firstPrecision returns the precision, in seconds, of the first archive
// of a retentions value ("10s:6h,1m:7d").
func firstPrecision(retentions string) (int64, error) {
	first, _, _ := strings.Cut(retentions, ",")
	precision, _, ok := strings.Cut(strings.TrimSpace(first), ":")
	if !ok {
		return 0, fmt.Errorf("bad retentions %q: want precision:duration", retentions)
	}
	digits := leadingRun(precision, func(c byte) bool { return c >= '0' && c <= '9' })
	n, err := strconv.ParseInt(precision[:digits], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad precision %q in retentions %q", precision, retentions)
	}
	mult, ok := whisperUnit(precision[digits:])
	if !ok || n > (1<<40)/mult {
		return 0, fmt.Errorf("bad precision %q in retentions %q", precision, retentions)
	}
	return n * mult, nil
}

// whisperUnit maps a retention unit as whisper's getUnitString does: a
// prefix of seconds, minutes, hours, days, weeks or years ("m" is
// minutes).
func whisperUnit(u string) (int64, bool) {
	if u == "" {
		return 1, true
	}
	for _, w := range []struct {
		word    string
		seconds int64
	}{{"seconds", 1}, {"minutes", 60}, {"hours", 3600}, {"days", 86400}, {"weeks", 7 * 86400}, {"years", 365 * 86400}} {
		if strings.HasPrefix(w.word, u) {
			return w.seconds, true
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
