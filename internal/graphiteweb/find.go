package graphiteweb

import (
	"bytes"
	"context"
	"slices"
	"strings"

	"metricsd/internal/store"
)

// ctxCheckEvery is how many keys a scan handles between checks of its
// context, so that a client that went away stops a long scan soon.
const ctxCheckEvery = 1024

// KeyLister is implemented by engines that can list their keys without
// their points, as store.Memory does. Find, Index and glob renders use it
// when the storage has it, and otherwise walk Storage.All, skipping the
// points, which costs a visit of every stored point (see docs/graphite.md).
type KeyLister interface {
	// Keys calls fn with every key, in first-insertion order; key is only
	// valid during the call, and an error from fn stops the visit.
	Keys(fn func(key []byte) error) error
}

// forEachKey calls fn once with every key of st, checking ctx every
// ctxCheckEvery keys. The key is valid only during the call.
func forEachKey(ctx context.Context, st store.Storage, fn func(key []byte) error) error {
	seen := 0
	each := func(key []byte) error {
		seen++
		if seen%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(key)
	}
	if kl, ok := st.(KeyLister); ok {
		return kl.Keys(each)
	}
	var last []byte
	return st.All(func(key []byte, _ []store.Point) error {
		// A long series arrives in several batches, one after another.
		if seen > 0 && bytes.Equal(key, last) {
			return nil
		}
		last = append(last[:0], key...)
		return each(key)
	})
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
		n := last
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
		last = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	nodes := make([]Node, 0, len(byPath))
	for _, n := range byPath {
		nodes = append(nodes, *n)
	}
	slices.SortFunc(nodes, func(a, b Node) int { return strings.Compare(a.Path, b.Path) })
	return nodes, nil
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
