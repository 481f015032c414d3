package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"metricsd/internal/store"
)

// ErrUnavailable is what a client is told when the cluster could not take
// a put or answer a get within OpTimeout; the cause goes to the log. It is
// the store's, so that the protocol answers its text.
var ErrUnavailable = store.ErrUnavailable

// Names in JetStream (see doc.go).
const (
	configBucket = "metricsd-config"
	keysBucket   = "metricsd-keys"
	ownersBucket = "metricsd-owners"
	nodesBucket  = "metricsd-nodes"
	snapBucket   = "metricsd-snapshots"
	layoutKey    = "layout"
	streamPrefix = "METRICSD_"
	maxStreams   = 6
)

// setupTimeout bounds joining the cluster: connecting, creating or binding
// the buckets and streams.
const setupTimeout = 30 * time.Second

// setupAttempt bounds one attempt at setup.
const setupAttempt = 5 * time.Second

// layout is the cluster's shape, fixed when the cluster is created.
type layout struct {
	Partitions int `json:"partitions"`
	Streams    int `json:"streams"`
}

// Engine is one node of a metricsd cluster. It implements store.Storage.
type Engine struct {
	cfg  Config
	log  *slog.Logger
	boot string // this run's ID, so that message IDs never repeat across restarts

	nc       *nats.Conn
	js       jetstream.JetStream
	keys     jetstream.KeyValue
	owners   jetstream.KeyValue
	nodes    jetstream.KeyValue
	snaps    jetstream.ObjectStore // partition snapshots (snapshot.go)
	layout   layout
	streams  []jetstream.Stream // by stream index
	writers  []*writer          // by partition
	replicas int

	createMu sync.Mutex // orders the sends to creates (see keyRevision)
	revMu    sync.RWMutex
	revs     map[string]uint64  // key → its revision in the keys bucket, cached
	creating map[string]*keyRev // keys whose entry is being created
	creates  chan *keyRev       // entries to create, in submission order

	lease *leases

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sub     *nats.Subscription
	closed  sync.Once
	started atomic.Bool // Start has joined
}

// New checks cfg and builds a node that has not joined yet: it does no
// I/O, so that a server can be built before it starts (Start joins).
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var boot [6]byte
	rand.Read(boot[:])
	e := &Engine{cfg: cfg, log: cfg.Logger, boot: cfg.Node + "-" + hex.EncodeToString(boot[:]), revs: make(map[string]uint64),
		creating: make(map[string]*keyRev), creates: make(chan *keyRev, keyCreatesInFlight)}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// Open is New followed by Start.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := e.Start(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Start implements store.Engine: it connects to the cluster, creating its
// buckets and streams if this is its first node, and starts taking part:
// heartbeat, partition leases, consuming owned partitions and answering
// reads for them. On an error the node is closed.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.connect(ctx); err != nil {
		e.cancel()
		return err
	}
	acks := make(chan pendingCreate, keyCreatesInFlight)
	e.wg.Add(2)
	go func() { defer e.wg.Done(); e.publishCreates(acks) }()
	go func() { defer e.wg.Done(); e.ackCreates(acks) }()
	e.writers = make([]*writer, e.layout.Partitions)
	for p := range e.writers {
		e.writers[p] = newWriter(e, p)
		e.wg.Add(1)
		go func() { defer e.wg.Done(); e.writers[p].run() }()
	}
	var err error
	if e.lease, err = startLeases(e); err != nil {
		e.Close()
		return err
	}
	if e.sub, err = e.nc.Subscribe(getSubject(e.cfg.Node), e.serveRequest); err != nil {
		e.Close()
		return fmt.Errorf("cluster: subscribe to reads: %w", err)
	}
	e.started.Store(true)
	e.log.Info("cluster node joined", "node", e.cfg.Node, "partitions", e.layout.Partitions,
		"streams", e.layout.Streams, "replicas", e.replicas, "nats", strings.Join(e.cfg.URLs, ","))
	return nil
}

// Submit implements store.Engine: it queues the point in its partition's
// filling batch and returns at once; the ticket is that batch, done once
// JetStream has acknowledged it (stored on a quorum of the stream's
// replicas) or it failed (ErrUnavailable: then the point may or may not
// have been stored, as with any timeout). So a session's pipelined puts
// share publishes with each other and with other clients' puts, and the
// writer keeps their order (see writer). The first put of a key on this
// node also starts the creation of the key's order entry, without waiting
// for it: the entry is created before the batch holding the point is
// published, and one client's new keys get their revisions in the order
// it put them. An error from Submit (ErrUnavailable: the node has not
// joined or is closed) means nothing was queued.
func (e *Engine) Submit(key []byte, p store.Point) (store.Ticket, error) {
	if !e.started.Load() || e.ctx.Err() != nil {
		return store.Ticket{}, ErrUnavailable
	}
	rev, kr, err := e.keyRevision(key)
	if err != nil {
		return store.Ticket{}, err
	}
	b, err := e.writers[PartitionOf(key, e.layout.Partitions)].enqueue(key, rev, kr, p)
	if err != nil {
		return store.Ticket{}, ErrUnavailable
	}
	return store.NewTicket(b, 0), nil
}

// connect connects to NATS and creates or binds everything in JetStream.
func (e *Engine) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	nc, err := nats.Connect(strings.Join(e.cfg.URLs, ","),
		nats.Name("metricsd "+e.cfg.Node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond),
		// A node may start before its NATS servers (a whole cluster
		// started at once): keep trying, and setup retries until
		// setupTimeout.
		nats.RetryOnFailedConnect(true),
	)
	if err != nil {
		return fmt.Errorf("cluster: connect to %s: %w", strings.Join(e.cfg.URLs, ","), err)
	}
	e.nc = nc
	// The async timeout bounds a key-order create whose ack never comes.
	if e.js, err = jetstream.New(nc, jetstream.WithPublishAsyncTimeout(e.cfg.OpTimeout)); err != nil {
		nc.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	for {
		// One bound per attempt: a JetStream API request sent before the
		// NATS cluster has a meta leader gets no answer at all.
		actx, acancel := context.WithTimeout(ctx, setupAttempt)
		err := e.setup(actx)
		acancel()
		if err == nil {
			return nil
		}
		select {
		case <-time.After(250 * time.Millisecond):
			e.log.Debug("cluster: JetStream not ready; retrying", "err", err)
			e.streams = nil
		case <-ctx.Done():
			nc.Close()
			return err
		}
	}
}

// setup creates or binds the buckets and streams. Every node runs it; the
// creations are idempotent and the layout is written once (Create), so
// nodes starting together agree.
func (e *Engine) setup(ctx context.Context) error {
	cfgKV, err := e.bucket(ctx, jetstream.KeyValueConfig{Bucket: configBucket, History: 1})
	if err != nil {
		return err
	}
	want := layout{Partitions: e.cfg.Partitions, Streams: min(e.cfg.Partitions, maxStreams)}
	e.layout, err = storeLayout(ctx, cfgKV, want)
	if err != nil {
		return err
	}
	if e.layout != want {
		e.log.Info("cluster exists: using its stored layout", "partitions", e.layout.Partitions, "streams", e.layout.Streams)
	}
	if e.keys, err = e.bucket(ctx, jetstream.KeyValueConfig{Bucket: keysBucket, History: 1}); err != nil {
		return err
	}
	if e.owners, err = e.bucket(ctx, jetstream.KeyValueConfig{Bucket: ownersBucket, History: 1}); err != nil {
		return err
	}
	if e.nodes, err = e.bucket(ctx, jetstream.KeyValueConfig{Bucket: nodesBucket, History: 1}); err != nil {
		return err
	}
	if e.snaps, err = e.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: snapBucket, Storage: jetstream.FileStorage, Replicas: e.replicas,
	}); err != nil {
		return fmt.Errorf("cluster: create object store %s: %w", snapBucket, err)
	}
	subjects := make([][]string, e.layout.Streams)
	for p := range e.layout.Partitions {
		i := p % e.layout.Streams
		subjects[i] = append(subjects[i], partSubject(p))
	}
	for i, subj := range subjects {
		st, err := e.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:       fmt.Sprintf("%s%d", streamPrefix, i),
			Subjects:   subj,
			Storage:    jetstream.FileStorage,
			Replicas:   e.replicas,
			Duplicates: 2 * time.Minute,
		})
		if err != nil {
			return fmt.Errorf("cluster: create stream %s%d: %w", streamPrefix, i, err)
		}
		e.streams = append(e.streams, st)
	}
	return nil
}

// bucket creates or binds a KV bucket. The first one decides the
// replication: 3 copies, or 1 when the NATS server is not clustered.
func (e *Engine) bucket(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	cfg.Storage = jetstream.FileStorage
	if e.replicas == 0 {
		cfg.Replicas = 3
		kv, err := e.js.CreateOrUpdateKeyValue(ctx, cfg)
		if err == nil {
			e.replicas = 3
			return kv, nil
		}
		if !strings.Contains(err.Error(), "non-clustered") {
			return nil, fmt.Errorf("cluster: create bucket %s: %w", cfg.Bucket, err)
		}
		e.log.Warn("NATS is not clustered: the cluster keeps one copy of the data", "err", err)
		e.replicas = 1
	}
	cfg.Replicas = e.replicas
	kv, err := e.js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: create bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// storeLayout writes want as the cluster's layout unless one is stored, and
// returns the stored one.
func storeLayout(ctx context.Context, kv jetstream.KeyValue, want layout) (layout, error) {
	b, err := json.Marshal(want)
	if err != nil {
		return layout{}, fmt.Errorf("cluster: %w", err)
	}
	if _, err := kv.Create(ctx, layoutKey, b); err == nil {
		return want, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return layout{}, fmt.Errorf("cluster: store layout: %w", err)
	}
	entry, err := kv.Get(ctx, layoutKey)
	if err != nil {
		return layout{}, fmt.Errorf("cluster: read layout: %w", err)
	}
	var got layout
	if err := json.Unmarshal(entry.Value(), &got); err != nil || got.Partitions < 1 || got.Streams < 1 || got.Streams > got.Partitions {
		return layout{}, fmt.Errorf("cluster: stored layout %q is not valid", entry.Value())
	}
	return got, nil
}

func partSubject(p int) string { return fmt.Sprintf("metricsd.p.%d", p) }

func getSubject(node string) string { return "metricsd.node." + node + ".get" }

func (e *Engine) stream(p int) jetstream.Stream { return e.streams[p%e.layout.Streams] }

func (e *Engine) streamName(p int) string {
	return fmt.Sprintf("%s%d", streamPrefix, p%e.layout.Streams)
}

// Partitions is the cluster's number of partitions.
func (e *Engine) Partitions() int { return e.layout.Partitions }

// Put implements store.Storage: Submit, then wait for the ticket. It
// returns once JetStream has acknowledged the point (stored on a quorum of
// the stream's replicas). An error is ErrUnavailable; then the point may
// or may not have been stored, as with any timeout.
func (e *Engine) Put(key []byte, p store.Point) error {
	t, err := e.Submit(key, p)
	if err != nil {
		return err
	}
	return t.Wait()
}

// Stats is the series and points of the partitions this node owns, for
// /metrics and the balance check.
func (e *Engine) Stats() (series, points int) {
	for _, part := range e.lease.heldPartitions() {
		s, n := part.memory().Stats()
		series += s
		points += n
	}
	return series, points
}

// Owned is the number of partitions this node owns.
func (e *Engine) Owned() int { return len(e.lease.heldPartitions()) }

// Close leaves the cluster: it stops taking puts (pending ones fail),
// releases its leases so that other nodes take its partitions at once, and
// disconnects. It is safe to call more than once.
func (e *Engine) Close() error {
	e.closed.Do(func() {
		if e.nc == nil { // never started
			e.cancel()
			return
		}
		if e.sub != nil {
			e.sub.Unsubscribe()
		}
		if e.lease != nil {
			e.lease.stop()
		}
		e.cancel()
		e.wg.Wait()
		e.nc.Close()
	})
	return nil
}

// Keys visits every key with points in the cluster, in first-insertion
// order, without its points (what the seam's store.Engine asks of every
// engine). It is All's fan-out, dropping the points.
// A long series arrives in several runs, one after the other: its key is
// visited once.
func (e *Engine) Keys(fn func(key []byte) error) error {
	var last []byte
	return e.All(func(key []byte, _ []store.Point) error {
		if last != nil && bytes.Equal(key, last) {
			return nil
		}
		last = append(last[:0], key...)
		return fn(key)
	})
}

// Ready reports whether the node takes puts: nil once it has joined, until
// Close.
func (e *Engine) Ready() error {
	if e.ctx.Err() != nil {
		return errClosed
	}
	if !e.started.Load() {
		return errJoining
	}
	return nil
}

// errClosed is Ready's answer after Close.
var errClosed = errors.New("cluster node closed")

// errJoining is Ready's answer before Start has joined the cluster.
var errJoining = errors.New("joining the cluster")

var _ store.Engine = (*Engine)(nil)
