package graphiteweb

import (
	"bytes"
	"context"
	"slices"
	"strings"

	"metricsd/internal/store"
)

// forEachKey is the store's key scan (store.ForEachKey: Keys when the
// engine has it, else a walk of All), which checks ctx as it goes.
func forEachKey(ctx context.Context, st store.Storage, fn func(key []byte) error) error {
	return store.ForEachKey(ctx, st, fn)
}

// Node is one result of Find: a path whose nodes match the query, one
// level down the tree of dot-separated keys.
type Node struct {
	Path   string // "palm.cpu"
	Name   string // its last node, "cpu"
	Leaf   bool   // a key ends here
	Branch bool   // keys continue below it
}

// Find returns the nodes matching p, sorted by path: for each key whose
// first p.Depth() nodes match, the path made of those nodes. A path can be
// both a leaf and a branch (keys "a.b" and "a.b.c").
func Find(ctx context.Context, st store.Storage, p *Pattern) ([]Node, error) {
	byPath := make(map[string]*Node)
	var last *Node // the node of the previous match: keys in insertion order often share it
	err := forEachKey(ctx, st, func(key []byte) error {
		if bytes.IndexByte(key, ';') >= 0 {
			return nil // a tagged series: reached by seriesByTag, not the tree
		}
		end, ok := p.MatchPrefix(key)
		if !ok {
			return nil
		}
		last = markNode(byPath, last, key, end)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sortedNodes(byPath), nil
}

// markNode finds or adds the node of key[:end] in byPath (trying hint, the
// previous key's node, first: sorted-adjacent keys often share it) and
// marks it a leaf when it is the whole key, else a branch. It returns the
// node.
func markNode(byPath map[string]*Node, hint *Node, key []byte, end int) *Node {
	n := hint
	if n == nil || n.Path != string(key[:end]) {
		n = byPath[string(key[:end])]
	}
	if n == nil {
		path := string(key[:end])
		n = &Node{Path: path, Name: path[strings.LastIndexByte(path, '.')+1:]}
		byPath[path] = n
	}
	if end == len(key) {
		n.Leaf = true
	} else {
		n.Branch = true
	}
	return n
}

// sortedNodes returns byPath's nodes sorted by path.
func sortedNodes(byPath map[string]*Node) []Node {
	nodes := make([]Node, 0, len(byPath))
	for _, n := range byPath {
		nodes = append(nodes, *n)
	}
	slices.SortFunc(nodes, func(a, b Node) int { return strings.Compare(a.Path, b.Path) })
	return nodes
}

// Index returns every key, sorted, as graphite-web's /metrics/index.json
// lists every metric.
func Index(ctx context.Context, st store.Storage) ([]string, error) {
	return sortedKeys(ctx, st, nil, nil)
}

// matchingKeys returns the keys that p matches, sorted, each counted as
// a series of the request's budget (so that the list stops growing at
// the limit).
func matchingKeys(ctx context.Context, st store.Storage, p *Pattern, b *budget) ([]string, error) {
	if key, ok := p.Literal(); ok {
		return []string{key}, b.addSeries(1)
	}
	return sortedKeys(ctx, st, p, b)
}

// sortedKeys returns the keys that p matches (every key for a nil p),
// sorted, counting them in b if it is not nil.
func sortedKeys(ctx context.Context, st store.Storage, p *Pattern, b *budget) ([]string, error) {
	var keys []string
	err := forEachKey(ctx, st, func(key []byte) error {
		if p == nil || p.Match(key) {
			if b != nil {
				if err := b.addSeries(1); err != nil {
					return err
				}
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
