package graphiteweb

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limits bound what one /render or /metrics/find request may cost, so
// that no query can exhaust the server's memory or time (issue #11.6).
// A zero field takes its default.
type Limits struct {
	// MaxSeries is the number of series one request may match, over all
	// its targets (and their re-evaluations by timeShift, movingAverage).
	MaxSeries int
	// MaxPoints is the number of points one request may read or build on
	// the step grid, over all its series.
	MaxPoints int
	// MaxAlternatives is the number of alternatives the braces of one
	// request's patterns may expand to, over all of them.
	MaxAlternatives int
	// Timeout is the time budget of one request; past it the answer is
	// 503.
	Timeout time.Duration
}

// The defaults of Limits.
const (
	DefaultMaxSeries       = 100_000
	DefaultMaxPoints       = 50_000_000
	DefaultMaxAlternatives = 100_000
	DefaultTimeout         = 60 * time.Second
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxSeries == 0 {
		l.MaxSeries = DefaultMaxSeries
	}
	if l.MaxPoints == 0 {
		l.MaxPoints = DefaultMaxPoints
	}
	if l.MaxAlternatives == 0 {
		l.MaxAlternatives = DefaultMaxAlternatives
	}
	if l.Timeout == 0 {
		l.Timeout = DefaultTimeout
	}
	return l
}

// Validate reports a negative limit.
func (l Limits) Validate() error {
	if l.MaxSeries < 0 || l.MaxPoints < 0 || l.MaxAlternatives < 0 || l.Timeout < 0 {
		return errors.New("graphite query limits must not be negative")
	}
	return nil
}

// LimitError is a request refused because it passed one of its Limits;
// Limit names the limit by its serve flag (without the dashes).
type LimitError struct {
	Limit string
	Msg   string
}

// Error says which limit was passed.
func (e *LimitError) Error() string {
	return fmt.Sprintf("query limit --%s exceeded: %s", e.Limit, e.Msg)
}

// IsLimitError reports whether err is a *LimitError.
func IsLimitError(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

// budget counts what one request has used of its Limits.
type budget struct {
	limits       Limits
	series       int
	points       int
	alternatives int // left
}

func newBudget(l Limits) *budget {
	l = l.WithDefaults()
	return &budget{limits: l, alternatives: l.MaxAlternatives}
}

func (b *budget) addSeries(n int) error {
	b.series += n
	if b.series > b.limits.MaxSeries {
		return &LimitError{Limit: "graphite-max-series", Msg: fmt.Sprintf("the request matches more than %d series", b.limits.MaxSeries)}
	}
	return nil
}

func (b *budget) addPoints(n int) error {
	b.points += n
	if b.points > b.limits.MaxPoints {
		return &LimitError{Limit: "graphite-max-points", Msg: fmt.Sprintf("the request reads more than %d points", b.limits.MaxPoints)}
	}
	return nil
}

// check returns the context's error: the time budget, or a client gone.
func (b *budget) check(ctx context.Context) error { return ctx.Err() }

// compilePatternBudget compiles a path pattern, its alternatives taken
// from the request's budget.
func compilePatternBudget(s string, b *budget) (*Pattern, error) {
	return compilePattern(s, &b.alternatives)
}
