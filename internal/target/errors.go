package target

import (
	"errors"
	"fmt"
)

// Error is a target that can't be evaluated because of what it says: a
// syntax error, an unknown function, a bad argument. Func and Arg name the
// function and the argument at fault when there is one. Any other error
// from Eval comes from the Fetcher.
type Error struct {
	Func string
	Arg  string
	Msg  string
}

// Error returns the message, prefixed with the function and argument.
func (e *Error) Error() string {
	switch {
	case e.Func != "" && e.Arg != "":
		return fmt.Sprintf("%s: argument %s: %s", e.Func, e.Arg, e.Msg)
	case e.Func != "":
		return fmt.Sprintf("%s: %s", e.Func, e.Msg)
	}
	return e.Msg
}

func syntaxErrorf(format string, args ...any) error {
	return &Error{Msg: "invalid target: " + fmt.Sprintf(format, args...)}
}

// IsError reports whether err is (or wraps) an *Error: the target's fault.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
