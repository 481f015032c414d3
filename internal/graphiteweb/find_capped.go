package graphiteweb

import (
	"bytes"
	"context"
	"slices"

	"metricsd/internal/store"
)

// FindFirst is Find capped at limit nodes: the limit nodes that come first
// by path, so that a key browser over a million keys gets a page, not the
// whole tree (issue #13). It holds at most 2*limit nodes at any time: when
// the set grows to that, it keeps the first limit and from then on skips
// every path sorting after the last one kept, which can no longer be in
// the answer. limit must be positive.
func FindFirst(ctx context.Context, st store.Storage, p *Pattern, limit int) ([]Node, error) {
	byPath := make(map[string]*Node, 2*limit)
	cutoff, capped := "", false // once capped, no path after cutoff is kept
	err := forEachKey(ctx, st, func(key []byte) error {
		if bytes.IndexByte(key, ';') >= 0 {
			return nil // a tagged series: not in the tree, as in Find
		}
		end, ok := p.MatchPrefix(key)
		if !ok {
			return nil
		}
		if capped && string(key[:end]) > cutoff {
			return nil
		}
		markNode(byPath, nil, key, end)
		if len(byPath) >= 2*limit {
			cutoff = keepFirst(byPath, limit)
			capped = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	nodes := sortedNodes(byPath)
	if len(nodes) > limit {
		nodes = nodes[:limit]
	}
	return nodes, nil
}

// keepFirst deletes from byPath every node but the limit first by path and
// returns the last path kept.
func keepFirst(byPath map[string]*Node, limit int) string {
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths[limit:] {
		delete(byPath, p)
	}
	return paths[limit-1]
}
