package store

import (
	"bytes"
	"context"
)

// KeyLister is implemented by engines that can list their keys without
// their points, as Memory does.
type KeyLister interface {
	// Keys calls fn with every key, in first-insertion order; key is only
	// valid during the call, and an error from fn stops the visit.
	Keys(fn func(key []byte) error) error
}

// keyScanCtxEvery is how many keys ForEachKey visits between checks of its
// context, so that a client that went away stops a long scan soon.
const keyScanCtxEvery = 1024

// ForEachKey calls fn once with every key of st, in first-insertion order,
// through Keys when st has it and otherwise through All (skipping the
// points, which costs a visit of every stored point). It returns ctx's
// error once ctx ends. key is only valid during the call.
func ForEachKey(ctx context.Context, st Storage, fn func(key []byte) error) error {
	seen := 0
	each := func(key []byte) error {
		seen++
		if seen%keyScanCtxEvery == 0 {
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
	return st.All(func(key []byte, _ []Point) error {
		// A long series arrives in several batches, one after another.
		if seen > 0 && bytes.Equal(key, last) {
			return nil
		}
		last = append(last[:0], key...)
		return each(key)
	})
}
