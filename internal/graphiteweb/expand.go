package graphiteweb

import (
	"context"
	"slices"
)

// Find compiles query within the engine's limits (its braces count
// against MaxAlternatives, its nodes against MaxSeries) and returns the
// nodes it matches, as Find does.
func (e *Engine) Find(ctx context.Context, query string) ([]Node, error) {
	b := newBudget(e.Limits)
	p, err := compilePatternBudget(query, b)
	if err != nil {
		return nil, err
	}
	nodes, err := Find(ctx, e.Storage, p)
	if err != nil {
		return nil, err
	}
	if err := b.addSeries(len(nodes)); err != nil {
		return nil, err
	}
	return nodes, nil
}

// FindFirst is Find capped at the limit nodes first by path (FindFirst's
// cap, the web UI's key browser), within the engine's limits.
func (e *Engine) FindFirst(ctx context.Context, query string, limit int) ([]Node, error) {
	p, err := compilePatternBudget(query, newBudget(e.Limits))
	if err != nil {
		return nil, err
	}
	return FindFirst(ctx, e.Storage, p, limit)
}

// Expand answers /metrics/expand: for each query, the sorted paths of
// the nodes it matches (leaves only if leavesOnly), as graphite-web's
// expand_view. All queries share one budget.
func (e *Engine) Expand(ctx context.Context, queries []string, leavesOnly bool) (map[string][]string, error) {
	b := newBudget(e.Limits)
	out := make(map[string][]string, len(queries))
	for _, q := range queries {
		p, err := compilePatternBudget(q, b)
		if err != nil {
			return nil, err
		}
		nodes, err := Find(ctx, e.Storage, p)
		if err != nil {
			return nil, err
		}
		if err := b.addSeries(len(nodes)); err != nil {
			return nil, err
		}
		paths := out[q][:0]
		for _, n := range nodes {
			if n.Leaf || !leavesOnly {
				paths = append(paths, n.Path)
			}
		}
		slices.Sort(paths)
		out[q] = paths
	}
	return out, nil
}

// AppendExpandJSON appends expand's answer: {"results": [paths]} with
// every query's paths merged, sorted and distinct, or with groupByExpr
// {"results": {"query": [paths], ...}} (queries sorted).
func AppendExpandJSON(dst []byte, results map[string][]string, groupByExpr bool) []byte {
	dst = append(dst, `{"results": `...)
	if groupByExpr {
		queries := make([]string, 0, len(results))
		for q := range results {
			queries = append(queries, q)
		}
		slices.Sort(queries)
		dst = append(dst, '{')
		for i, q := range queries {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendJSONString(dst, q)
			dst = AppendIndexJSON(append(dst, ": "...), results[q])
		}
		return append(dst, "}}"...)
	}
	var all []string
	for _, paths := range results {
		all = append(all, paths...)
	}
	slices.Sort(all)
	return append(AppendIndexJSON(dst, slices.Compact(all)), '}')
}
