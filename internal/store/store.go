// Package store holds metricsd's storage interface and its in-memory engine.
//
// The server reaches storage only through Storage, so that engines (the
// in-memory one here, a durable wrapper around it) plug in without the
// network path knowing which one it talks to.
package store

import (
	"errors"

	"metricsd/internal/chunkenc"
)

// Point is one measurement of a series: a value at a whole second. It is
// the codec's point type, so that runs of points pass between the engine
// and its chunk codec without copying.
type Point = chunkenc.Point

// VisitFunc receives the points of one series, in ascending timestamp order,
// possibly over several calls for a long series (each call a batch). key and
// points are only valid during the call: an engine reuses both buffers, so a
// visitor that keeps them must copy. Returning an error stops the visit and
// is returned by Get or All.
type VisitFunc func(key []byte, points []Point) error

// Storage is what the server needs from an engine. Implementations are safe
// for concurrent use, and never call a VisitFunc while holding a lock that a
// Put needs, so a slow reader cannot stall writers.
type Storage interface {
	// Put stores p under key, replacing a point with the same timestamp
	// (last write wins). key is only read during the call. An error means
	// nothing was stored.
	Put(key []byte, p Point) error
	// Get visits the points of key; a key without points is not visited.
	Get(key []byte, fn VisitFunc) error
	// All visits every series, in the order in which each key was first
	// put, each series' points together.
	All(fn VisitFunc) error
}

// ErrLimit is wrapped by errors that a configured store limit caused; the
// server answers them with their text instead of "wrong command".
var ErrLimit = errors.New("store limit reached")
