package tags

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unsafe"
)

// Names visits series names, as the store's key scan does
// (store.ForEachKey): a name is only valid during the call, and an error
// from fn stops the visit and is returned. The functions below copy what
// they keep.
type Names func(fn func(name []byte) error) error

// DefaultAutoCompleteLimit is graphite-web's TAGDB_AUTOCOMPLETE_LIMIT: how
// many suggestions the auto-completion endpoints give when the request sets
// no limit.
const DefaultAutoCompleteLimit = 100

// NoLimit asks ListTags and TagValues for every result, as graphite-web's
// /tags and /tags/<tag> answer when the request sets no limit.
const NoLimit = -1

// ValueCount is one value of a tag and the number of series that have it,
// an element of graphite-web's /tags/<tag> "values".
type ValueCount struct {
	Value string
	Count int
}

// eachTagged calls fn with every name of names that is in the tag database
// (IsNormalized), as a string valid during the call only.
func eachTagged(names Names, fn func(name string) error) error {
	return names(func(b []byte) error {
		if len(b) == 0 {
			return nil
		}
		s := unsafe.String(&b[0], len(b)) // valid during this call, as b
		if !IsNormalized(s) {
			return nil
		}
		return fn(s)
	})
}

// eachTag calls fn with every tag of a normalized name, "name" first.
func eachTag(name string, fn func(tag, value string)) {
	metric, rest, _ := strings.Cut(name, ";")
	fn("name", metric)
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, ";")
		t, v, _ := strings.Cut(seg, "=")
		fn(t, v)
	}
}

// compileFilter anchors a filter parameter as graphite-web does ("^(f)"
// unless it starts with "^"); nil when there is no filter. It is searched,
// as SQLite's REGEXP searches.
func compileFilter(filter string) (*regexp.Regexp, error) {
	if filter == "" {
		return nil, nil
	}
	if !strings.HasPrefix(filter, "^") {
		filter = "^(" + filter + ")"
	}
	re, err := regexp.Compile(filter)
	if err != nil {
		return nil, fmt.Errorf("%w: filter %q: %v", ErrRegexp, filter, err)
	}
	return re, nil
}

// limited returns the first limit elements of sorted (all when limit is
// NoLimit or more than there are).
func limited[T any](sorted []T, limit int) []T {
	if limit >= 0 && len(sorted) > limit {
		return sorted[:limit]
	}
	return sorted
}

// FindSeries is /tags/findSeries: the names every expression selects,
// sorted bytewise as graphite-web sorts them.
func FindSeries(names Names, exprs []string) ([]string, error) {
	m, err := NewMatcher(exprs...)
	if err != nil {
		return nil, err
	}
	var out []string
	err = eachTagged(names, func(name string) error {
		if m.Match(name) {
			out = append(out, strings.Clone(name))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// ListTags is /tags: every tag of every series ("name" included, since
// every series has one), sorted, those the filter regular expression
// matches, at most limit of them (NoLimit for all).
func ListTags(names Names, filter string, limit int) ([]string, error) {
	re, err := compileFilter(filter)
	if err != nil {
		return nil, err
	}
	seen := map[string]struct{}{}
	err = eachTagged(names, func(name string) error {
		eachTag(name, func(tag, _ string) {
			if _, ok := seen[tag]; !ok && (re == nil || re.MatchString(tag)) {
				seen[strings.Clone(tag)] = struct{}{}
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return limited(slices.Sorted(maps.Keys(seen)), limit), nil
}

// TagValues is /tags/<tag>: the values of tag with their series counts,
// sorted by value, those the filter matches, at most limit of them; found
// is false when no series has the tag (graphite-web answers null).
func TagValues(names Names, tag, filter string, limit int) (values []ValueCount, found bool, err error) {
	re, err := compileFilter(filter)
	if err != nil {
		return nil, false, err
	}
	// Counts are kept behind pointers: assigning to an existing string key
	// would store the key again, and v is only a view of the scan's buffer.
	counts := map[string]*int{}
	err = eachTagged(names, func(name string) error {
		v, ok := Value(name, tag)
		if !ok {
			return nil
		}
		found = true
		if re != nil && !re.MatchString(v) {
			return nil
		}
		if n := counts[v]; n != nil {
			*n++
		} else {
			one := 1
			counts[strings.Clone(v)] = &one
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	values = make([]ValueCount, 0, len(counts))
	for v, n := range counts {
		values = append(values, ValueCount{v, *n})
	}
	slices.SortFunc(values, func(a, b ValueCount) int { return strings.Compare(a.Value, b.Value) })
	return limited(values, limit), found, nil
}

// AutoCompleteTags is /tags/autoComplete/tags: the tags of the series the
// expressions select, other than the tags the expressions name, starting
// with prefix, sorted, at most limit. Without expressions it is every tag
// starting with prefix.
func AutoCompleteTags(names Names, exprs []string, prefix string, limit int) ([]string, error) {
	var m *Matcher
	searched := map[string]bool{}
	if len(exprs) > 0 {
		var err error
		if m, err = NewMatcher(exprs...); err != nil {
			return nil, err
		}
		for _, e := range m.Exprs() {
			searched[e.Tag] = true
		}
	}
	seen := map[string]struct{}{}
	err := eachTagged(names, func(name string) error {
		if m != nil && !m.Match(name) {
			return nil
		}
		eachTag(name, func(tag, _ string) {
			if _, ok := seen[tag]; ok || searched[tag] || !strings.HasPrefix(tag, prefix) {
				return
			}
			seen[strings.Clone(tag)] = struct{}{}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return limited(slices.Sorted(maps.Keys(seen)), limit), nil
}

// AutoCompleteValues is /tags/autoComplete/values: the values of tag among
// the series the expressions select (graphite-web adds "tag!=" to them, so
// the series must have the tag), starting with prefix, sorted, at most
// limit. Without expressions it is every value of tag starting with prefix.
func AutoCompleteValues(names Names, exprs []string, tag, prefix string, limit int) ([]string, error) {
	var m *Matcher
	if len(exprs) > 0 {
		var err error
		if m, err = NewMatcher(append(slices.Clip(exprs), tag+"!=")...); err != nil {
			return nil, err
		}
	}
	seen := map[string]struct{}{}
	err := eachTagged(names, func(name string) error {
		if m != nil && !m.Match(name) {
			return nil
		}
		v, ok := Value(name, tag)
		if _, dup := seen[v]; !ok || dup || !strings.HasPrefix(v, prefix) {
			return nil
		}
		seen[strings.Clone(v)] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return limited(slices.Sorted(maps.Keys(seen)), limit), nil
}
