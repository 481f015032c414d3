package client

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	"metricsd/internal/protocol"
)

// allKeys is the key that asks a get for every key.
const allKeys = "*"

// Point is one stored value of a key.
type Point struct {
	// Timestamp is in seconds (the protocol's resolution).
	Timestamp int64
	// Value is the stored float64.
	Value float64
}

// Series is the points of one key, sorted by timestamp.
type Series struct {
	Key    string
	Points []Point
}

// Put stores value at timestamp ts (unix seconds) under key, replacing any
// value the key already has at ts. value is sent as Python's repr() of it,
// which the server parses back to the same float64 (NaN and ±Inf included).
// key must be non-empty valid UTF-8 without whitespace, else Put returns an
// ErrInvalidKey without sending anything.
func (c *Client) Put(ctx context.Context, key string, value float64, ts int64) error {
	if err := checkKey([]byte(key)); err != nil {
		return fmt.Errorf("client: put %q: %w", key, err)
	}
	build := func(b []byte) []byte {
		b = append(b, "put "...)
		b = append(b, key...)
		b = append(b, ' ')
		b = protocol.AppendFloat(b, value)
		b = append(b, ' ')
		b = strconv.AppendInt(b, ts, 10)
		return append(b, '\n')
	}
	read := func(cn *conn) error { return cn.readPutResponse() }
	if err := c.roundTrip(ctx, build, read); err != nil {
		return fmt.Errorf("client: put %q: %w", key, err)
	}
	return nil
}

// Get returns the points of key, or of every key when key is "*", as a map
// from key to points sorted by timestamp. A key without points is absent;
// the map is never nil on success. Use GetSeries to keep the server's key
// order.
func (c *Client) Get(ctx context.Context, key string) (map[string][]Point, error) {
	series, err := c.GetSeries(ctx, key)
	if err != nil {
		return nil, err
	}
	m := make(map[string][]Point, len(series))
	for _, s := range series {
		m[s.Key] = s.Points
	}
	return m, nil
}

// GetSeries is Get keeping the server's order of keys: for "*", the order in
// which each key was first put. Points within a series are sorted by
// timestamp (stably: the server already sends them sorted). A point line
// naming a key other than the one asked for (unless "*") is an ErrProtocol.
// The whole response is held in memory: "*" on a large store is large.
func (c *Client) GetSeries(ctx context.Context, key string) ([]Series, error) {
	if err := checkKey([]byte(key)); err != nil {
		return nil, fmt.Errorf("client: get %q: %w", key, err)
	}
	var sb seriesBuilder
	build := func(b []byte) []byte {
		b = append(b, "get "...)
		b = append(b, key...)
		return append(b, '\n')
	}
	read := func(cn *conn) error {
		sb.reset()
		return cn.readGetResponse(key, &sb)
	}
	if err := c.roundTrip(ctx, build, read); err != nil {
		return nil, fmt.Errorf("client: get %q: %w", key, err)
	}
	return sb.finish(), nil
}

// seriesBuilder groups point lines by key in order of first appearance.
type seriesBuilder struct {
	series []Series
	index  map[string]int
}

// reset empties the builder.
func (sb *seriesBuilder) reset() {
	sb.series = sb.series[:0]
	clear(sb.index)
}

// add appends p to the series of key, creating it after the existing ones
// if key is new. key is copied only then.
func (sb *seriesBuilder) add(key []byte, p Point) {
	if sb.index == nil {
		sb.index = make(map[string]int)
	}
	i, ok := sb.index[string(key)]
	if !ok {
		i = len(sb.series)
		k := string(key)
		sb.index[k] = i
		sb.series = append(sb.series, Series{Key: k})
	}
	sb.series[i].Points = append(sb.series[i].Points, p)
}

// finish sorts each series by timestamp and returns them, never nil.
func (sb *seriesBuilder) finish() []Series {
	for _, s := range sb.series {
		slices.SortStableFunc(s.Points, func(a, b Point) int {
			return cmp.Compare(a.Timestamp, b.Timestamp)
		})
	}
	if sb.series == nil {
		return []Series{}
	}
	return sb.series
}

// CheckKey reports whether key can be sent: it must be non-empty valid UTF-8
// with no whitespace as Python's str.split() defines it (the server's
// tokenizer), so that the server reads it back as exactly one token. The
// error wraps ErrInvalidKey.
func CheckKey(key string) error {
	return checkKey([]byte(key))
}

// checkKey is CheckKey on bytes.
func checkKey(key []byte) error {
	var tok [1][]byte
	n, err := protocol.Split(key, tok[:])
	if err != nil || n != 1 || len(tok[0]) != len(key) {
		return fmt.Errorf("%w: %q (keys must be non-empty UTF-8 without whitespace)", ErrInvalidKey, key)
	}
	return nil
}
