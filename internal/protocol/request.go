package protocol

import "errors"

// Command is the verb of a request line.
type Command uint8

// The commands of protocol v1. The zero Command is no command, so a Request
// that Parse rejected never looks like a valid one.
const (
	CmdPut Command = 1 // put <key> <value> <timestamp>
	CmdGet Command = 2 // get <key>, or get * for every key
)

// ErrWrongCommand is returned by Parse for every malformed request: bad
// UTF-8, an unknown command, a wrong token count, a bad value or timestamp.
// Its text is the wire payload, so ReplyWrongCommand carries it.
var ErrWrongCommand = errors.New("wrong command")

// maxTokens is the size of the token array Parse splits into: a put has 4
// tokens and the fifth slot only has to exist for "too many" to be counted.
const maxTokens = 5

// Request is one parsed line. Key is a view into the line passed to Parse:
// it is valid only until that buffer changes, so a caller that keeps the key
// (a new series) must copy it.
type Request struct {
	Command   Command
	Key       []byte  // put and get; for "get *" Key is "*" and AllKeys is true
	AllKeys   bool    // get only: the key was the single token "*"
	Value     float64 // put only
	Timestamp int64   // put only
}

// Parse parses one request line into req, as the reference server does
// (docs/protocol.md, "Parsing a line"). line may or may not end in "\n" (the
// server passes it with the "\n"); any Python whitespace, "\r" included,
// separates tokens. Commands are case-sensitive: "put" takes exactly three
// more tokens (key, ParseFloat value, ParseInt timestamp) and "get" exactly
// one. Every malformed line, invalid UTF-8 included, gives ErrWrongCommand
// and leaves *req zero.
//
// Parse does not allocate (but see ParseFloat on values just past the
// float64 range): tokens go into an array on the stack and req.Key points
// into line.
func Parse(line []byte, req *Request) error {
	if parsePutFast(line, req) {
		return nil
	}
	return parseGeneral(line, req)
}

// parseGeneral is Parse for every line: the put fast path's shape and all
// the others.
func parseGeneral(line []byte, req *Request) error {
	*req = Request{}
	var toks [maxTokens][]byte
	n, err := Split(line, toks[:])
	if err != nil || n == 0 {
		return ErrWrongCommand
	}
	switch string(toks[0]) {
	case "put":
		return parsePut(toks[:min(n, maxTokens)], req)
	case "get":
		return parseGet(toks[:min(n, maxTokens)], req)
	}
	return ErrWrongCommand
}

// parsePut fills req from the tokens of a put line, or leaves it untouched.
func parsePut(toks [][]byte, req *Request) error {
	if len(toks) != 4 {
		return ErrWrongCommand
	}
	value, err := ParseFloat(toks[2])
	if err != nil {
		return ErrWrongCommand
	}
	ts, err := ParseInt(toks[3])
	if err != nil {
		return ErrWrongCommand
	}
	*req = Request{Command: CmdPut, Key: toks[1], Value: value, Timestamp: ts}
	return nil
}

// parseGet fills req from the tokens of a get line, or leaves it untouched.
func parseGet(toks [][]byte, req *Request) error {
	if len(toks) != 2 {
		return ErrWrongCommand
	}
	*req = Request{Command: CmdGet, Key: toks[1], AllKeys: string(toks[1]) == "*"}
	return nil
}
