package tags

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"unsafe"
)

// Errors Normalize and Parse return. They are fixed texts, so that callers
// can count them as one reason and log the name beside them.
var (
	ErrNoMetric     = errors.New("tags: no metric name before the tags")
	ErrSegment      = errors.New("tags: a segment is not tag=value")
	ErrTagChar      = errors.New(`tags: a tag contains one of ";!^="`)
	ErrEmptyValue   = errors.New("tags: a tag value is empty")
	ErrValueChar    = errors.New(`tags: a tag value contains ";"`)
	ErrValueTilde   = errors.New(`tags: a tag value starts with "~"`)
	ErrEmptyName    = errors.New(`tags: the metric name is empty once leading "~" are removed`)
	ErrNotReparsing = errors.New("tags: the normalized name would not parse back to the same series")
)

// pair is one tag and its value.
type pair struct{ tag, value string }

// isOpenMetrics reports whether carbon parses s in the OpenMetrics form
// (TaggedSeries.parse: it ends with `"}` and contains "{").
func isOpenMetrics(s string) bool {
	return strings.HasSuffix(s, `"}`) && strings.IndexByte(s, '{') >= 0
}

// validate applies carbon's validateTagAndValue to one tag and value.
func validate(tag, value string) error {
	switch {
	case tag == "":
		return ErrSegment
	case value == "":
		return ErrEmptyValue
	case strings.ContainsAny(tag, ";!^="):
		return ErrTagChar
	case strings.IndexByte(value, ';') >= 0:
		return ErrValueChar
	case value[0] == '~':
		return ErrValueTilde
	}
	return nil
}

// cmpTag orders two distinct tags as carbon orders their ";tag=value"
// segments: Python sorts the formatted strings, and as a tag never holds
// "=", that is the order of tag+"=" (so "a-" sorts before "a", since "-" is
// below "="). Go compares strings bytewise, which for UTF-8 is Python's code
// point order.
func cmpTag(a, b string) int {
	n := min(len(a), len(b))
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	switch {
	case len(a) == len(b):
		return 0
	case len(a) < len(b):
		return int('=') - int(b[n])
	default:
		return int(a[n]) - int('=')
	}
}

// IsNormalized reports whether name is already carbon's normalized path of
// a valid name: the carbon form, a metric not starting with "~", tags valid,
// strictly ordered, none called "name". It does not allocate, so it can run
// on every ingested line and on every key a tag query scans.
func IsNormalized(name string) bool {
	if isOpenMetrics(name) {
		return false
	}
	i := strings.IndexByte(name, ';')
	if i < 0 {
		i = len(name)
	}
	if i == 0 || name[0] == '~' {
		return false
	}
	prev := ""
	for rest := name[i:]; rest != ""; {
		rest = rest[1:] // the ';'
		seg := rest
		if j := strings.IndexByte(rest, ';'); j >= 0 {
			seg, rest = rest[:j], rest[j:]
		} else {
			rest = ""
		}
		// The segment holds no ";" (it was split there) and the tag no "="
		// (it ends at the first): of validate's rules, what is left to check
		// is done in this one pass.
		eq := strings.IndexByte(seg, '=')
		if eq <= 0 || eq == len(seg)-1 || seg[eq+1] == '~' {
			return false
		}
		tag := seg[:eq]
		for i := 0; i < len(tag); i++ {
			if c := tag[i]; c == '!' || c == '^' {
				return false
			}
		}
		if tag == "name" || (prev != "" && cmpTag(prev, tag) >= 0) {
			return false
		}
		prev = tag
	}
	return true
}

// Normalize returns carbon's normalized path of name (TaggedSeries.parse
// followed by .path). A name that is already normalized is returned as it
// is, without allocating.
//
// One deliberate difference: carbon can produce a path that it cannot parse
// back into the same series (an OpenMetrics metric holding ";", or a last
// value ending in `"}` after a "{", which turns the path into the OpenMetrics
// form); carbon stores it but its tag database refuses it. Normalize refuses
// such a name with ErrNotReparsing, so every stored key is a valid name.
func Normalize(name string) (string, error) {
	if IsNormalized(name) {
		return name, nil
	}
	out, err := normalizeSlow(nil, name)
	return string(out), err
}

// AppendNormalized is Normalize for a name held in bytes, as the Graphite
// receiver holds it: when name is already normalized it is returned itself
// (no copy, no allocation); otherwise the normalized path is appended to
// dst[:0] and that is returned.
func AppendNormalized(dst, name []byte) ([]byte, error) {
	if len(name) == 0 {
		return nil, ErrNoMetric
	}
	// The view lives only during this call: IsNormalized keeps nothing and
	// normalizeSlow copies what it keeps into dst.
	s := unsafe.String(&name[0], len(name))
	if IsNormalized(s) {
		return name, nil
	}
	return normalizeSlow(dst[:0], s)
}

// normalizeSlow parses name, sorts and deduplicates its tags and appends
// the path to dst.
func normalizeSlow(dst []byte, name string) ([]byte, error) {
	// A name with a few tags sorts them on the stack: the receiver's
	// normalization then allocates only when its buffer grows.
	var stack [16]pair
	metric, pairs, err := parsePairs(name, stack[:0])
	if err != nil {
		return nil, err
	}
	sanitized := strings.TrimLeft(metric, "~")
	if sanitized == "" {
		return nil, ErrEmptyName
	}
	pairs = slices.DeleteFunc(pairs, func(p pair) bool { return p.tag == "name" })
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmpTag(a.tag, b.tag) })
	// After the stable sort a duplicated tag's entries are adjacent, in
	// input order: keep the last, as carbon's dict does.
	kept := pairs[:0]
	for i, p := range pairs {
		if i+1 < len(pairs) && pairs[i+1].tag == p.tag {
			continue
		}
		kept = append(kept, p)
	}
	dst = append(dst, sanitized...)
	for _, p := range kept {
		dst = append(append(append(append(dst, ';'), p.tag...), '='), p.value...)
	}
	if isOpenMetrics(unsafe.String(unsafe.SliceData(dst), len(dst))) {
		return nil, ErrNotReparsing
	}
	return dst, nil
}

// parsePairs splits name into its metric and its tags in input order,
// validating each as carbon does; the "name" tag, if any, is among them.
func parsePairs(name string, pairs []pair) (metric string, _ []pair, err error) {
	if isOpenMetrics(name) {
		return parseOpenMetrics(name, pairs)
	}
	metric, rest, tagged := strings.Cut(name, ";")
	if metric == "" {
		return "", nil, ErrNoMetric
	}
	if !tagged {
		return metric, nil, nil
	}
	for more := true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, ";")
		tag, value, ok := strings.Cut(seg, "=")
		if !ok || tag == "" {
			return "", nil, ErrSegment
		}
		if err := validate(tag, value); err != nil {
			return "", nil, err
		}
		pairs = append(pairs, pair{tag, value})
	}
	return metric, pairs, nil
}

// parseOpenMetrics is carbon's parse_openmetrics: `metric{tag="value",...}`.
// Carbon matches each segment with the regular expression
// ([^=]+)="((?:[\\]["\\]|[^"\\])+)"(:?,|$); the scan below accepts exactly
// what it accepts, including its typo that lets ":," separate segments.
func parseOpenMetrics(name string, pairs []pair) (metric string, _ []pair, err error) {
	body := name[:len(name)-1]
	metric, raw, _ := strings.Cut(body, "{")
	if strings.IndexByte(raw, '{') >= 0 {
		// Python's split('{', 2) gives three parts, which do not unpack
		// into two: carbon raises.
		return "", nil, ErrSegment
	}
	if metric == "" {
		return "", nil, ErrNoMetric
	}
	if strings.IndexByte(metric, ';') >= 0 {
		return "", nil, ErrNotReparsing
	}
	for raw != "" {
		eq := strings.IndexByte(raw, '=')
		if eq < 1 || eq+1 >= len(raw) || raw[eq+1] != '"' {
			return "", nil, ErrSegment
		}
		tag := raw[:eq]
		i := eq + 2
		start := i
		for i < len(raw) {
			c := raw[i]
			if c == '\\' {
				if i+1 < len(raw) && (raw[i+1] == '"' || raw[i+1] == '\\') {
					i += 2
					continue
				}
				break
			}
			if c == '"' {
				break
			}
			i++
		}
		if i == start || i >= len(raw) || raw[i] != '"' {
			return "", nil, ErrSegment
		}
		value := raw[start:i]
		i++
		switch {
		case i == len(raw):
		case raw[i] == ',':
			i++
		case raw[i] == ':' && i+1 < len(raw) && raw[i+1] == ',':
			i += 2
		default:
			return "", nil, ErrSegment
		}
		value = strings.ReplaceAll(strings.ReplaceAll(value, `\"`, `"`), `\\`, `\`)
		if err := validate(tag, value); err != nil {
			return "", nil, err
		}
		pairs = append(pairs, pair{tag, value})
		raw = raw[i:]
	}
	return metric, pairs, nil
}

// Parse returns the tags carbon's TaggedSeries.parse gives name, "name"
// among them (the metric with leading "~" removed), in either form.
func Parse(name string) (map[string]string, error) {
	metric, pairs, err := parsePairs(name, nil)
	if err != nil {
		return nil, err
	}
	sanitized := strings.TrimLeft(metric, "~")
	if sanitized == "" {
		return nil, ErrEmptyName
	}
	m := make(map[string]string, len(pairs)+1)
	for _, p := range pairs {
		m[p.tag] = p.value
	}
	m["name"] = sanitized
	return m, nil
}

// functionName is graphite-web's test (render/datalib.py TimeSeries) for a
// series name that a function produced, such as "sumSeries(a.*)": its tags
// are not parsed.
var functionName = regexp.MustCompile(`(?i)^[a-z]+[(].+[)]$`)

// Tags returns the "tags" object graphite-web 1.1.8 puts beside a series in
// a render answer when no function set it: the parsed tags of name, or only
// {"name": name} when name looks like a function call or does not parse.
func Tags(name string) map[string]string {
	if !functionName.MatchString(name) {
		if m, err := Parse(name); err == nil {
			return m
		}
	}
	return map[string]string{"name": name}
}

// Value returns the value of tag in a normalized name (IsNormalized), and
// whether the name has that tag; "name" is the metric. It does not allocate.
func Value(name, tag string) (string, bool) {
	metric, rest, _ := strings.Cut(name, ";")
	if tag == "name" {
		return metric, true
	}
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, ";")
		if t, v, ok := strings.Cut(seg, "="); ok && t == tag {
			return v, true
		}
	}
	return "", false
}
