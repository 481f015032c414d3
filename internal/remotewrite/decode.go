package remotewrite

import (
	"errors"
	"fmt"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// MaxDecodedBytes bounds a request's decompressed size. Prometheus sends
// at most max_samples_per_send samples a request (500 by default in 2.42,
// 2,000 in 3.x), a few hundred KiB; 32 MiB leaves room for large labels.
const MaxDecodedBytes = 32 << 20

// Errors of Decode; what a client is told.
var (
	ErrSnappy   = errors.New("remotewrite: body is not snappy block-compressed")
	ErrTooLarge = errors.New("remotewrite: decompressed body too large")
	ErrProtobuf = errors.New("remotewrite: body is not a prometheus.WriteRequest")
)

// Decode decompresses and decodes one remote_write request body.
func Decode(body []byte) (*prompb.WriteRequest, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSnappy, err)
	}
	if n > MaxDecodedBytes {
		return nil, ErrTooLarge
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSnappy, err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtobuf, err)
	}
	return &req, nil
}
