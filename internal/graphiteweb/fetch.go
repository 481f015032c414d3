package graphiteweb

import (
	"context"
	"errors"
	"slices"
	"strings"

	"metricsd/internal/store"
	"metricsd/internal/tags"
	"metricsd/internal/target"
)

// errStopVisit ends a visit early, once a series has passed the range.
var errStopVisit = errors.New("graphiteweb: stop visit")

// fetcher answers the engine's path expressions from the store, on the
// step grid, counting what one request reads against its limits.
type fetcher struct {
	st      store.Storage
	schemas *Schemas
	budget  *budget
	points  []store.Point // scratch of a default-step series' points
}

// fetch implements target.Fetcher: the keys matching path, sorted, each
// as a series on its grid over (from, until].
func (f *fetcher) fetch(ctx context.Context, path string, from, until int64) (target.SeriesList, error) {
	var keys []string
	var err error
	if strings.HasPrefix(path, "seriesByTag(") {
		keys, err = f.taggedKeys(ctx, path)
	} else {
		var p *Pattern
		if p, err = compilePatternBudget(path, f.budget); err != nil {
			return nil, err
		}
		keys, err = matchingKeys(ctx, f.st, p, f.budget)
	}
	if err != nil {
		return nil, err
	}
	out := make(target.SeriesList, 0, len(keys))
	for _, key := range keys {
		s, ok, err := f.series(ctx, key, from, until)
		if err != nil {
			return nil, err
		}
		if ok {
			// graphite-web's fetchData: aggregates name themselves after
			// the expression asked, not the keys it matched.
			s.PathExpression = path
			out = append(out, s)
		}
	}
	return out, nil
}

// taggedKeys returns the keys a seriesByTag call selects, sorted
// bytewise as graphite-web's tag database returns them; call is the call
// as written, which graphite-web hands to its store as a path.
func (f *fetcher) taggedKeys(ctx context.Context, call string) ([]string, error) {
	n, err := target.Parse(call)
	c, ok := n.(*target.Call)
	if err != nil || !ok {
		return nil, queryErrorf("invalid seriesByTag call %q", call)
	}
	var exprs []string
	for _, a := range c.Args {
		s, ok := a.(*target.String)
		if !ok {
			return nil, &target.Error{Func: "seriesByTag", Arg: "tagExpressions", Msg: "want strings such as 'name=cpu'"}
		}
		exprs = append(exprs, s.Value)
	}
	m, err := tags.NewMatcher(exprs...)
	if err != nil {
		return nil, &target.Error{Func: "seriesByTag", Arg: "tagExpressions", Msg: err.Error()}
	}
	var keys []string
	err = forEachKey(ctx, f.st, func(key []byte) error {
		if m.Match(string(key)) {
			if err := f.budget.addSeries(1); err != nil {
				return err
			}
			keys = append(keys, string(key))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return keys, nil
}

// gridBounds is whisper's fetch range for a step: the first slot after
// from up to the slot holding until, both snapped down to the step, end
// exclusive.
func gridBounds(from, until, step int64) (start, end int64) {
	start = floorDiv(from, step)*step + step
	end = floorDiv(until, step)*step + step
	if start == end {
		end += step
	}
	return start, end
}

// series reads one key as a series over (from, until]: one value per
// step, null where nothing is stored, the point with the latest
// timestamp winning a slot; NaN values are skipped, as carbon drops them.
// A key that doesn't exist gives ok false.
func (f *fetcher) series(ctx context.Context, key string, from, until int64) (*target.Series, bool, error) {
	step, ok := f.schemas.Step(key)
	if !ok {
		return f.defaultStepSeries(ctx, key, from, until)
	}
	start, end := gridBounds(from, until, step)
	if err := f.budget.addPoints(int((end - start) / step)); err != nil {
		return nil, false, err
	}
	values := nullValues(int((end - start) / step))
	found := false
	err := f.st.Get([]byte(key), func(_ []byte, pts []store.Point) error {
		found = true
		for _, p := range pts {
			if p.Timestamp < start {
				continue
			}
			if p.Timestamp >= end {
				return errStopVisit // points come in ascending order
			}
			if p.Value == p.Value { // not NaN
				values[(p.Timestamp-start)/step] = p.Value
			}
		}
		return f.budget.check(ctx)
	})
	if err != nil && !errors.Is(err, errStopVisit) {
		return nil, false, err
	}
	if !found {
		return nil, false, nil
	}
	return newSeries(key, start, end, step, values), true, nil
}

// maxDefaultStep bounds the step measured from a series' spacing.
const maxDefaultStep = 86400

// defaultStepSeries reads a key that no schema rule matches: the step is
// the smallest spacing between its points in (from, until].
func (f *fetcher) defaultStepSeries(ctx context.Context, key string, from, until int64) (*target.Series, bool, error) {
	pts := f.points[:0]
	found := false
	limit := until + maxDefaultStep
	err := f.st.Get([]byte(key), func(_ []byte, batch []store.Point) error {
		found = true
		for _, p := range batch {
			if p.Timestamp <= from-maxDefaultStep {
				continue
			}
			if p.Timestamp >= limit {
				return errStopVisit
			}
			pts = append(pts, p)
			if err := f.budget.addPoints(1); err != nil {
				return err
			}
		}
		return f.budget.check(ctx)
	})
	f.points = pts[:0]
	if err != nil && !errors.Is(err, errStopVisit) {
		return nil, false, err
	}
	if !found {
		return nil, false, nil
	}
	step := int64(0)
	var prev int64
	seen := false
	for _, p := range pts {
		if p.Timestamp <= from || p.Timestamp > until {
			continue
		}
		if seen && p.Timestamp > prev && (step == 0 || p.Timestamp-prev < step) {
			step = p.Timestamp - prev
		}
		prev, seen = p.Timestamp, true
	}
	if step == 0 {
		step = DefaultStepFallback
	}
	step = min(step, maxDefaultStep)
	start, end := gridBounds(from, until, step)
	if err := f.budget.addPoints(int((end - start) / step)); err != nil {
		return nil, false, err
	}
	values := nullValues(int((end - start) / step))
	for _, p := range pts {
		if p.Timestamp >= start && p.Timestamp < end && p.Value == p.Value {
			values[(p.Timestamp-start)/step] = p.Value
		}
	}
	return newSeries(key, start, end, step, values), true, nil
}

func nullValues(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = nan
	}
	return v
}

// newSeries is a fetched series: named by its key, tagged with the
// key's carbon tags ({"name": key} for a plain path).
func newSeries(key string, start, end, step int64, values []float64) *target.Series {
	s := target.NewSeries(key, start, end, step, values)
	if strings.IndexByte(key, ';') >= 0 {
		s.Tags = target.TagsOf(key)
	}
	return s
}

// floorDiv divides rounding toward minus infinity, for timestamps before
// 1970.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}
