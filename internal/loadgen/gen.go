package loadgen

import (
	"math"
	"strconv"
	"time"

	"metricsd/internal/protocol"
)

// unboundedSpan is OrderRandom's timestamp span, in seconds, when the
// number of requests is not bounded: a day.
const unboundedSpan = 86400

// gaugePeriod is ShapeGauge's period in seconds.
const gaugePeriod = 600

// Independent random streams drawn from one (seed, i): each use of
// randomness in a request gets its own, so that changing the value shape
// does not change the timestamps.
const (
	streamValue uint64 = iota + 1
	streamTimestamp
	streamOp
)

// Generator turns a request's sequence number i into its bytes. It is a
// pure function of its Config, safe for concurrent use, and allocation-free
// per request: the per-key parts of each line are formatted once.
type Generator struct {
	keys      uint64
	order     Order
	shape     Shape
	nonFinite bool
	seed      uint64
	start     int64
	span      int64
	getBelow  uint64 // op draw below this is a get (WorkloadMixed)
	workload  Workload

	names     [][]byte // key i: prefix + zero-padded i
	putPrefix [][]byte // "put <key> "
	getLine   [][]byte // "get <key>\n"
	pathSP    [][]byte // "<key> ", a Graphite line's start
}

// NewGenerator builds the generator of cfg, whose Start must already be
// resolved (see ResolveStart). cfg must be valid.
func NewGenerator(cfg Config) *Generator {
	g := &Generator{
		keys:      uint64(cfg.Keys),
		order:     cfg.Order,
		shape:     cfg.Values,
		nonFinite: cfg.NonFinite,
		seed:      cfg.Seed,
		start:     cfg.Start,
		span:      pointsPerKey(cfg),
		workload:  cfg.Workload,
	}
	if cfg.Workload == WorkloadMixed {
		g.getBelow = uint64(math.Ldexp(cfg.GetRatio, 64)) // ratio as a fraction of 2^64
		if cfg.GetRatio >= 1 {
			g.getBelow = math.MaxUint64
		}
	}
	g.formatKeys(cfg.KeyPrefix)
	return g
}

// formatKeys formats every key and the fixed parts of its requests once.
func (g *Generator) formatKeys(prefix string) {
	width := len(strconv.FormatUint(g.keys-1, 10))
	g.names = make([][]byte, g.keys)
	g.putPrefix = make([][]byte, g.keys)
	g.getLine = make([][]byte, g.keys)
	g.pathSP = make([][]byte, g.keys)
	for k := range g.keys {
		digits := strconv.FormatUint(k, 10)
		name := []byte(prefix)
		for range width - len(digits) {
			name = append(name, '0')
		}
		name = append(name, digits...)
		g.names[k] = name
		g.putPrefix[k] = append(append([]byte("put "), name...), ' ')
		g.getLine[k] = append(append([]byte("get "), name...), '\n')
		g.pathSP[k] = append(name[:len(name):len(name)], ' ')
	}
}

// pointsPerKey is how many points a key gets, rounded up: the timestamp
// span of OrderRandom, and how far before now OrderInOrder starts.
func pointsPerKey(cfg Config) int64 {
	if cfg.Requests == 0 {
		return unboundedSpan
	}
	return max(1, (cfg.Requests+int64(cfg.Keys)-1)/int64(cfg.Keys))
}

// ResolveStart returns cfg with Start set, when it was 0, to now minus the
// points per key, so that in-order timestamps end near now: servers with a
// retention window (VictoriaMetrics drops points older than it) keep them.
func ResolveStart(cfg Config, now time.Time) Config {
	if cfg.Start == 0 {
		cfg.Start = now.Unix() - pointsPerKey(cfg)
	}
	return cfg
}

// Key returns key k's name. The slice must not be modified.
func (g *Generator) Key(k int) []byte { return g.names[k] }

// KeyOf returns the index of the key request i addresses.
func (g *Generator) KeyOf(i uint64) int { return int(i % g.keys) }

// Owned returns the sequence number of connection conn's j-th request when
// each of conns connections owns its keys: conn owns keys conn, conn+conns,
// ..., takes them in turn, and sends round r of all of them before round
// r+1, so each key's timestamps leave in order. conn must be below both
// conns and the number of keys.
func (g *Generator) Owned(conn, conns int, j uint64) uint64 {
	c, n := uint64(conn), uint64(conns)
	owned := (g.keys - c + n - 1) / n
	key := c + (j%owned)*n
	return (j/owned)*g.keys + key
}

// IsGet reports whether request i is a get: always for WorkloadGet and
// WorkloadGetAll, with probability GetRatio for WorkloadMixed.
func (g *Generator) IsGet(i uint64) bool {
	switch g.workload {
	case WorkloadGet, WorkloadGetAll:
		return true
	case WorkloadMixed:
		return g.getBelow == math.MaxUint64 || g.draw(i, streamOp) < g.getBelow
	}
	return false
}

// Point returns the key index, value and timestamp that request i puts.
func (g *Generator) Point(i uint64) (key int, value float64, ts int64) {
	key = g.KeyOf(i)
	round := int64(i / g.keys)
	ts = g.timestamp(i, round)
	return key, g.value(i, key, round, ts), ts
}

func (g *Generator) timestamp(i uint64, round int64) int64 {
	switch g.order {
	case OrderRandom:
		return g.start + int64(g.draw(i, streamTimestamp)%uint64(g.span))
	case OrderDuplicates:
		return g.start + round%DuplicateSpan
	}
	return g.start + round
}

func (g *Generator) value(i uint64, key int, round, ts int64) float64 {
	switch g.shape {
	case ShapeCounter:
		return float64(round + 1)
	case ShapeGauge:
		phase := float64((ts+int64(key)*37)%gaugePeriod) / gaugePeriod
		return math.Round((50+25*math.Sin(2*math.Pi*phase))*100) / 100
	case ShapeFloat64:
		bits := g.draw(i, streamValue)
		if !g.nonFinite && bits&expMask == expMask {
			bits &^= 1 << 62 // clear the top exponent bit: finite, same sign and mantissa
		}
		return math.Float64frombits(bits)
	}
	return float64(g.draw(i, streamValue)%10000) / 100
}

// expMask selects a float64's exponent; all ones is NaN or ±Inf.
const expMask = 0x7ff << 52

// draw is a 64-bit random number of request i's stream: SplitMix64's
// finaliser over (seed, i, stream), so any request can be drawn alone.
func (g *Generator) draw(i, stream uint64) uint64 {
	z := g.seed + i*0x9e3779b97f4a7c15 + stream*0xd1b54a32d192ed03
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// AppendRequest appends request i of the workload: a put or get line.
// WorkloadGetAll's request is "get *\n".
func (g *Generator) AppendRequest(dst []byte, i uint64) []byte {
	switch {
	case g.workload == WorkloadGetAll:
		return append(dst, "get *\n"...)
	case g.IsGet(i):
		return append(dst, g.getLine[g.KeyOf(i)]...)
	}
	key, v, ts := g.Point(i)
	return appendValueTS(append(dst, g.putPrefix[key]...), v, ts)
}

// AppendGraphite appends request i as a Graphite plaintext line.
func (g *Generator) AppendGraphite(dst []byte, i uint64) []byte {
	key, v, ts := g.Point(i)
	return appendValueTS(append(dst, g.pathSP[key]...), v, ts)
}

// appendValueTS appends "<repr(v)> <ts>\n", the tail of a put and of a
// Graphite line.
func appendValueTS(dst []byte, v float64, ts int64) []byte {
	dst = protocol.AppendFloat(dst, v)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, ts, 10)
	return append(dst, '\n')
}
