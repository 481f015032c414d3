package metricsd

import (
	"fmt"
	"log/slog"
)

// Config is everything a Server can be told. The command fills it from
// flags; DefaultConfig gives the documented defaults.
type Config struct {
	// Addr is the protocol's listen address (host:port).
	Addr string
	// MaxLineLength bounds a request line's bytes before its "\n"; a longer
	// line is answered with an error and skipped without being buffered.
	MaxLineLength int
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultAddr          = "127.0.0.1:8888"
	DefaultMaxLineLength = 64 << 10
)

// DefaultConfig returns the configuration documented in the README.
func DefaultConfig() Config {
	return Config{
		Addr:          DefaultAddr,
		MaxLineLength: DefaultMaxLineLength,
	}
}

func (c Config) validate() error {
	if c.MaxLineLength < 1 {
		return fmt.Errorf("metricsd: max line length %d must be at least 1", c.MaxLineLength)
	}
	return nil
}
