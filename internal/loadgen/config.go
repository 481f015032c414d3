package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Workload is what the connections send.
type Workload string

// The workloads.
const (
	// WorkloadPut sends "put <key> <value> <ts>"; each answer must be
	// exactly "ok\n\n".
	WorkloadPut Workload = "put"
	// WorkloadGet sends "get <key>"; each answer must be "ok\n", point
	// lines of that key, "\n".
	WorkloadGet Workload = "get"
	// WorkloadMixed sends gets with probability Config.GetRatio, puts
	// otherwise.
	WorkloadMixed Workload = "mixed"
	// WorkloadGetAll times "get *" round trips and counts the points read.
	WorkloadGetAll Workload = "getall"
	// WorkloadGraphite streams Graphite plaintext lines "<path> <value>
	// <ts>\n" with no replies; the stored count is confirmed afterwards
	// through Config.Verify.
	WorkloadGraphite Workload = "graphite"
)

// Workloads lists the workloads in the order the help text shows them.
var Workloads = []Workload{WorkloadPut, WorkloadGet, WorkloadMixed, WorkloadGetAll, WorkloadGraphite}

// Order is how timestamps follow each other within a key.
type Order string

// The timestamp orders. With K keys, request i writes key i mod K, and
// its "round" is i / K (how many points that key got before it).
const (
	// OrderInOrder gives round r the timestamp Start+r: ascending and
	// distinct within a key, the append fast path of every engine.
	OrderInOrder Order = "inorder"
	// OrderRandom draws each timestamp uniformly from [Start, Start+span),
	// span being the points per key (N/K) or a day when N is unbounded.
	OrderRandom Order = "random"
	// OrderDuplicates cycles each key through DuplicateSpan timestamps, so
	// that most puts replace a stored point (last write wins).
	OrderDuplicates Order = "duplicates"
)

// Orders lists the timestamp orders.
var Orders = []Order{OrderInOrder, OrderRandom, OrderDuplicates}

// DuplicateSpan is how many distinct timestamps a key gets under
// OrderDuplicates.
const DuplicateSpan = 10

// Shape is how values are drawn.
type Shape string

// The value shapes.
const (
	// ShapeCounter is the key's round plus one: 1.0, 2.0, 3.0, ...
	ShapeCounter Shape = "counter"
	// ShapeGauge is a temperature-like signal: 50 ± 25 as a sine of the
	// timestamp with a 10-minute period, phase-shifted per key, rounded to
	// 2 decimals.
	ShapeGauge Shape = "gauge"
	// ShapeRandom is uniform in [0, 100) with 2 decimals, the issue's
	// "random values with 2 decimals".
	ShapeRandom Shape = "random"
	// ShapeFloat64 is a random bit pattern: any float64, NaN and ±Inf only
	// with Config.NonFinite.
	ShapeFloat64 Shape = "float64"
)

// Shapes lists the value shapes.
var Shapes = []Shape{ShapeCounter, ShapeGauge, ShapeRandom, ShapeFloat64}

// Config is one load run. Zero values are invalid where a default would
// hide a mistake; DefaultConfig gives the documented defaults.
type Config struct {
	// Addr is the target host:port, or several comma-separated: connection
	// i dials the (i mod n)-th, so that the clients of one run (and one
	// latency histogram) spread evenly over the nodes of a cluster.
	Addr        string
	AllowRemote bool          // permit a non-loopback Addr (and verify targets)
	Connections int           // concurrent connections, each one goroutine
	Pipeline    int           // requests in flight per connection (window); 1 = wait for each answer
	Requests    int64         // total requests; 0 = bounded by Duration only
	Duration    time.Duration // wall-clock bound; 0 = bounded by Requests only
	Timeout     time.Duration // bound on each window's I/O, and on dialling
	Keys        int           // distinct keys
	KeyPrefix   string        // keys are KeyPrefix + zero-padded index
	Order       Order
	Values      Shape
	NonFinite   bool // ShapeFloat64 may draw NaN and ±Inf
	Workload    Workload
	// Spread sends every key on every connection, request i going to
	// whichever connection claims it. By default each connection owns the
	// keys c, c+C, c+2C, ... and sends them in order, as an agent would, so
	// that in-order timestamps also arrive in order.
	Spread   bool
	GetRatio float64 // WorkloadMixed: fraction of gets, in [0, 1]
	Seed     uint64  // the data is a pure function of Seed
	Start    int64   // first timestamp (unix seconds); 0 = now minus the points per key

	// Verify confirms a graphite run: it counts what the server stored.
	// Required for WorkloadGraphite, ignored otherwise.
	Verify Counter
	// VerifyTimeout bounds the wait for the stored count to reach what was
	// sent.
	VerifyTimeout time.Duration

	// Progress, when set, is called about every ProgressInterval with the
	// counts so far, from one goroutine.
	Progress         func(Snapshot)
	ProgressInterval time.Duration
}

// Defaults of DefaultConfig.
const (
	DefaultAddr          = "127.0.0.1:8888"
	DefaultConnections   = 50
	DefaultPipeline      = 1
	DefaultRequests      = 100_000
	DefaultDuration      = time.Minute
	DefaultTimeout       = 10 * time.Second
	DefaultKeys          = 1000
	DefaultKeyPrefix     = "bench."
	DefaultGetRatio      = 0.1
	DefaultSeed          = 1
	DefaultVerifyTimeout = 30 * time.Second
	DefaultProgressEvery = 500 * time.Millisecond
)

// DefaultConfig returns the defaults: 50 connections, no pipelining,
// 100,000 puts or one minute, 1,000 keys, in-order timestamps and random
// 2-decimal values, against 127.0.0.1:8888.
func DefaultConfig() Config {
	return Config{
		Addr:             DefaultAddr,
		Connections:      DefaultConnections,
		Pipeline:         DefaultPipeline,
		Requests:         DefaultRequests,
		Duration:         DefaultDuration,
		Timeout:          DefaultTimeout,
		Keys:             DefaultKeys,
		KeyPrefix:        DefaultKeyPrefix,
		Order:            OrderInOrder,
		Values:           ShapeRandom,
		Workload:         WorkloadPut,
		GetRatio:         DefaultGetRatio,
		Seed:             DefaultSeed,
		VerifyTimeout:    DefaultVerifyTimeout,
		ProgressInterval: DefaultProgressEvery,
	}
}

// Validate checks the fields that do not need the network.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Connections < 1 {
		bad("connections %d must be at least 1", c.Connections)
	}
	targets := c.Targets()
	for _, t := range targets {
		if t == "" {
			bad("address %q has an empty target", c.Addr)
			break
		}
	}
	if len(targets) > 1 && c.Connections < len(targets) {
		bad("%d connections cannot reach %d targets: give at least one connection each", c.Connections, len(targets))
	}
	if c.Pipeline < 1 {
		bad("pipeline %d must be at least 1", c.Pipeline)
	}
	if c.Requests < 0 || c.Duration < 0 {
		bad("requests %d and duration %v must not be negative", c.Requests, c.Duration)
	}
	if c.Requests == 0 && c.Duration == 0 {
		bad("requests and duration are both 0: give at least one bound")
	}
	if c.Timeout <= 0 {
		bad("timeout %v must be positive", c.Timeout)
	}
	if c.Keys < 1 {
		bad("keys %d must be at least 1", c.Keys)
	}
	if c.KeyPrefix != "" && strings.ContainsFunc(c.KeyPrefix, isSpaceOrControl) {
		bad("key prefix %q must not contain whitespace or control characters", c.KeyPrefix)
	}
	if !c.Spread && c.Workload != WorkloadGetAll && c.Connections > c.Keys {
		bad("%d connections cannot own their keys among %d keys: give more keys or Spread", c.Connections, c.Keys)
	}
	errs = append(errs, c.validateKinds()...)
	if c.Workload == WorkloadGraphite {
		errs = append(errs, c.validateGraphite()...)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	return nil
}

// Targets splits Addr into its comma-separated targets, in order.
func (c Config) Targets() []string {
	targets := strings.Split(c.Addr, ",")
	for i, t := range targets {
		targets[i] = strings.TrimSpace(t)
	}
	return targets
}

// validateKinds checks the enumerated fields.
func (c Config) validateKinds() []error {
	var errs []error
	if !oneOf(c.Workload, Workloads) {
		errs = append(errs, fmt.Errorf("workload %q is not one of %v", c.Workload, Workloads))
	}
	if !oneOf(c.Order, Orders) {
		errs = append(errs, fmt.Errorf("order %q is not one of %v", c.Order, Orders))
	}
	if !oneOf(c.Values, Shapes) {
		errs = append(errs, fmt.Errorf("value shape %q is not one of %v", c.Values, Shapes))
	}
	if !(c.GetRatio >= 0 && c.GetRatio <= 1) { // NaN fails both
		errs = append(errs, fmt.Errorf("get ratio %v must be in [0, 1]", c.GetRatio))
	}
	return errs
}

// validateGraphite checks what a graphite run needs to confirm its count.
func (c Config) validateGraphite() []error {
	var errs []error
	if c.Verify == nil {
		errs = append(errs, errors.New("the graphite workload needs a verifier to confirm what was stored"))
	}
	if c.Order != OrderInOrder {
		// Only in-order timestamps make every (key, ts) distinct, so that
		// the stored count must equal the sent count on any engine.
		errs = append(errs, fmt.Errorf("the graphite workload needs order %q, not %q", OrderInOrder, c.Order))
	}
	if c.VerifyTimeout <= 0 {
		errs = append(errs, fmt.Errorf("verify timeout %v must be positive", c.VerifyTimeout))
	}
	return errs
}

func oneOf[T comparable](v T, set []T) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// isSpaceOrControl reports the runes a key must not contain: they would
// split it into several tokens or break the line.
func isSpaceOrControl(r rune) bool {
	return r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r == 0x1680 ||
		(r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 ||
		r == 0x202f || r == 0x205f || r == 0x3000
}

// ErrRemote is wrapped by CheckLoopback's error for a target that is not on
// this machine.
var ErrRemote = errors.New("not a loopback address (use --allow-remote to load another machine)")

// CheckLoopback returns an error wrapping ErrRemote unless every address
// that addr's host resolves to is a loopback address (127.0.0.0/8, ::1), so
// that a load run cannot hit another machine by a typo.
func CheckLoopback(ctx context.Context, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("loadgen: address %q: %w", addr, err)
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("loadgen: resolve %q: %w", host, err)
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return fmt.Errorf("loadgen: %s resolves to %s: %w", addr, ip.IP, ErrRemote)
		}
	}
	return nil
}
