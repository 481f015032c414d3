package graphiteweb

import (
	"errors"
	"fmt"
)

// QueryError is a request that can't be answered because of what it asks:
// a malformed pattern, time or target. The HTTP API answers it with 400 and
// its text; any other error is the server's fault.
type QueryError struct {
	Msg string
}

// Error returns the message, which says what is wrong with the request.
func (e *QueryError) Error() string { return e.Msg }

// queryErrorf builds a QueryError from a format.
func queryErrorf(format string, args ...any) error {
	return &QueryError{Msg: fmt.Sprintf(format, args...)}
}

// IsQueryError reports whether err is a QueryError: the request's fault.
func IsQueryError(err error) bool {
	var qe *QueryError
	return errors.As(err, &qe)
}
