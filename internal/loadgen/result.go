package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Result is the report of a run. Its JSON form (WriteJSON) is what scripts
// read; the field names are part of the bench command's interface.
type Result struct {
	Workload    Workload `json:"workload"`
	Addr        string   `json:"addr"`
	Connections int      `json:"connections"`
	Pipeline    int      `json:"pipeline"`
	Keys        int      `json:"keys"`
	Order       Order    `json:"order"`
	Values      Shape    `json:"values"`
	Spread      bool     `json:"spread"` // every connection sent every key
	Seed        uint64   `json:"seed"`
	Start       int64    `json:"start"` // first timestamp

	Requests int64  `json:"requests"` // answered or lost; Graphite: lines written or lost
	OK       int64  `json:"ok"`       // answered as expected; Graphite: lines written
	Errors   Errors `json:"errors"`

	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// OpsPerSecond is OK answers per second of the run; for Graphite,
	// points confirmed stored per second until the count was confirmed.
	OpsPerSecond float64 `json:"ops_per_second"`

	Latency    *Latency        `json:"latency_us,omitempty"` // absent for Graphite (no answers)
	PointsRead int64           `json:"points_read"`          // point lines in get answers
	BytesRead  int64           `json:"bytes_read"`           // response bytes
	Graphite   *GraphiteResult `json:"graphite,omitempty"`
}

// Errors counts what went wrong, by kind.
type Errors struct {
	Total        int64  `json:"total"`
	ErrorReplies int64  `json:"error_replies"`   // "error\n<reason>\n\n"
	BadReplies   int64  `json:"bad_replies"`     // not the expected answer
	Lost         int64  `json:"lost"`            // no answer: the connection failed or timed out
	Missing      int64  `json:"missing"`         // Graphite: sent but not stored by the verify timeout
	First        string `json:"first,omitempty"` // the first connection failure
}

// Latency is a request's round trip in microseconds, from the write of its
// window to the parse of its answer.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	// Samples is how many answers were timed: every answered request.
	Samples int64 `json:"samples"`
}

// GraphiteResult is the confirmation of a Graphite run.
type GraphiteResult struct {
	Sent           int64   `json:"sent"`
	Stored         int64   `json:"stored"`          // counted by the verifier, minus its count before the run
	ConfirmSeconds float64 `json:"confirm_seconds"` // from the start of the run until Stored reached Sent (or the timeout)
}

// WriteJSON writes r as one indented JSON object.
func (r Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("loadgen: write json: %w", err)
	}
	return nil
}

// WriteText writes r for a person.
func (r Result) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s against %s: %d connections, pipeline %d, %d keys, timestamps %s, values %s\n",
		r.Workload, r.Addr, r.Connections, r.Pipeline, r.Keys, r.Order, r.Values)
	if err != nil {
		return fmt.Errorf("loadgen: write report: %w", err)
	}
	sendRate := 0.0 // differs from OpsPerSecond for Graphite, which counts stored points
	if r.ElapsedSeconds > 0 {
		sendRate = float64(r.OK) / r.ElapsedSeconds
	}
	fmt.Fprintf(w, "requests   %d in %.3fs, %s ok/s\n", r.Requests, r.ElapsedSeconds, thousands(sendRate))
	if g := r.Graphite; g != nil {
		fmt.Fprintf(w, "stored     %d of %d sent, confirmed after %.3fs: %s points/s\n",
			g.Stored, g.Sent, g.ConfirmSeconds, thousands(r.OpsPerSecond))
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
			us(l.P50), us(l.P90), us(l.P99), us(l.P999), us(l.Max), us(l.Mean))
	}
	if r.PointsRead > 0 {
		fmt.Fprintf(w, "read       %d points, %d bytes\n", r.PointsRead, r.BytesRead)
	}
	e := r.Errors
	fmt.Fprintf(w, "errors     %d (error replies %d, bad replies %d, lost %d, missing %d)\n",
		e.Total, e.ErrorReplies, e.BadReplies, e.Lost, e.Missing)
	if e.First != "" {
		fmt.Fprintf(w, "first      %s\n", e.First)
	}
	return nil
}

// us formats microseconds with a unit that keeps 3 or more digits.
func us(v float64) string {
	d := time.Duration(v * 1e3)
	switch {
	case d < time.Millisecond:
		return strconv.FormatFloat(v, 'f', 1, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(v/1e3, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(v/1e6, 'f', 3, 64) + "s"
}

// thousands formats v rounded, with commas: 1234567.8 is "1,234,568".
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// ProgressLine returns a Config.Progress that keeps one status line on w
// (a terminal): it rewrites the line with "\r" and ends it on the last
// snapshot. The rate is over the last interval.
func ProgressLine(w io.Writer) func(Snapshot) {
	var prev Snapshot
	return func(s Snapshot) {
		rate := 0.0
		if dt := (s.Elapsed - prev.Elapsed).Seconds(); dt > 0 {
			rate = float64(s.Done-prev.Done) / dt
		}
		if s.Final && s.Elapsed > 0 {
			rate = float64(s.Done) / s.Elapsed.Seconds() // the whole run's average
		}
		prev = s
		end := "   "
		if s.Final {
			end = "\n"
		}
		fmt.Fprintf(w, "\r%7.1fs  %12d requests  %11s/s  %d errors%s",
			s.Elapsed.Seconds(), s.Done, thousands(rate), s.Errors, end)
	}
}
