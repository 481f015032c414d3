package httpapi

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"

	"metricsd/internal/remotewrite"
	"metricsd/internal/store"
)

// maxRemoteWriteBody bounds a remote_write request's compressed body; the
// decompressed size has its own bound (remotewrite.MaxDecodedBytes).
const maxRemoteWriteBody = 16 << 20

// remoteWriteReasons are the labels of the dropped-samples counter.
var remoteWriteReasons = []string{
	remotewrite.ReasonNoName, remotewrite.ReasonLabel, remotewrite.ReasonTags,
	remotewrite.ReasonNaN, remotewrite.ReasonStore,
}

// remoteWriteAPI serves Prometheus remote_write (POST /api/v1/write) into
// the store, each series under its Graphite tagged name.
type remoteWriteAPI struct {
	api     *graphiteAPI
	stored  prometheus.Counter
	dropped map[string]prometheus.Counter
}

func newRemoteWriteAPI(api *graphiteAPI, reg prometheus.Registerer) (*remoteWriteAPI, error) {
	stored := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "metricsd_remote_write_samples_stored_total",
		Help: "Prometheus remote_write samples stored.",
	})
	droppedVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "metricsd_remote_write_samples_dropped_total",
		Help: "Prometheus remote_write samples not stored, by reason.",
	}, []string{"reason"})
	rw := &remoteWriteAPI{api: api, stored: stored, dropped: map[string]prometheus.Counter{}}
	for _, r := range remoteWriteReasons {
		rw.dropped[r] = droppedVec.WithLabelValues(r)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{stored, droppedVec} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("httpapi: register remote_write metrics: %w", err)
			}
		}
	}
	return rw, nil
}

// write serves one remote_write request: 204 when every sample was
// stored or deliberately dropped (counted), 400 for a body that does not
// decode or a store limit (Prometheus does not retry a 4xx, and a retry
// would not help), 500 when the store fails otherwise (Prometheus retries;
// a point written twice is the same point).
func (rw *remoteWriteAPI) write(w http.ResponseWriter, r *http.Request) {
	// Remote write 2.0 announces itself in the content type; 1.0 is what
	// metricsd decodes, and the spec asks for 415 otherwise.
	if strings.Contains(r.Header.Get("Content-Type"), "io.prometheus.write.v2") {
		http.Error(w, "remote write 2.0 is not supported: send prometheus.WriteRequest (1.0)", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRemoteWriteBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}
	req, err := remotewrite.Decode(body)
	if err != nil {
		rw.api.log.Debug("remote_write request refused", "err", err)
		switch {
		case errors.Is(err, remotewrite.ErrTooLarge):
			http.Error(w, "decompressed body too large", http.StatusRequestEntityTooLarge)
		case errors.Is(err, remotewrite.ErrSnappy):
			http.Error(w, "body is not snappy-compressed", http.StatusBadRequest)
		default:
			http.Error(w, "body is not a prometheus.WriteRequest", http.StatusBadRequest)
		}
		return
	}
	stored, storeErr := rw.store(req)
	rw.stored.Add(float64(stored))
	switch {
	case storeErr == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(storeErr, store.ErrLimit):
		rw.api.log.Warn("remote_write samples refused by a store limit", "err", storeErr)
		http.Error(w, "store limit reached: "+storeErr.Error(), http.StatusBadRequest)
	default:
		rw.api.serverError(w, r, storeErr)
	}
}

// store submits every sample of req and then waits for them, so that a
// request's samples share the engine's log writes (and fsyncs) instead of
// paying one each. It returns how many were stored and the last error.
func (rw *remoteWriteAPI) store(req *prompb.WriteRequest) (stored int, storeErr error) {
	var namer remotewrite.Namer
	var tickets []store.Ticket
	for _, ts := range req.Timeseries {
		name, err := namer.Name(ts.Labels)
		if err != nil {
			rw.dropped[remotewrite.ReasonOf(err)].Add(float64(len(ts.Samples)))
			continue
		}
		for _, smp := range ts.Samples {
			if math.IsNaN(smp.Value) {
				rw.dropped[remotewrite.ReasonNaN].Inc()
				continue
			}
			// Milliseconds to the store's whole seconds, rounding down.
			p := store.Point{Timestamp: floorDiv(smp.Timestamp, 1000), Value: smp.Value}
			t, err := rw.api.st.Submit(name, p)
			if err != nil {
				rw.dropped[remotewrite.ReasonStore].Inc()
				storeErr = err
				continue
			}
			tickets = append(tickets, t)
		}
	}
	for _, t := range tickets {
		if err := t.Wait(); err != nil {
			rw.dropped[remotewrite.ReasonStore].Inc()
			storeErr = err
			continue
		}
		stored++
	}
	return stored, storeErr
}
