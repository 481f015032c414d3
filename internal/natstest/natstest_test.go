package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestClusterReplicates starts three servers, creates an R3 stream, kills
// one server and checks that a publish is still acknowledged by the
// remaining quorum and that the killed server comes back.
func TestClusterReplicates(t *testing.T) {
	c := Start(t, 3)
	js := c.JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	c.Servers[2].Kill()
	var ack *jetstream.PubAck
	var err error
	deadline := time.Now().Add(Timeout)
	for ack == nil {
		// One bound per attempt: a publish sent to the stream leader that
		// was killed gets no ack at all, and must be retried, not waited on.
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		ack, err = js.Publish(actx, "t", []byte("x"), jetstream.WithMsgID("once"))
		acancel()
		if err != nil && time.Now().After(deadline) {
			t.Fatalf("publish with one server of three down: %v", err)
		}
	}
	if ack.Sequence != 1 {
		t.Errorf("sequence %d, want 1", ack.Sequence)
	}
	if err := c.Servers[2].Restart(); err != nil {
		t.Fatal(err)
	}
}
