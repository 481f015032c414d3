// Package protocol holds the wire protocol v1 of metricsd as pure functions:
// splitting and parsing one request line exactly as the course's Python
// reference server does (str.split, float(), int()), and encoding replies
// (Python repr() of float64 values) by appending to caller-owned buffers.
//
// Nothing here does I/O or keeps state, so every function can be
// table-tested and fuzzed alone, and the Graphite listener reuses the
// tokenizer and number parsers. The specification is docs/protocol.md.
//
// # Parsing
//
// Parse takes one line, with or without its "\n", and fills a Request whose
// Key points into the line. Split is the tokenizer underneath it; ParseFloat
// and ParseInt are the value and timestamp grammars. All of them are
// byte-identical to the reference server except where docs/protocol.md lists
// a difference: timestamps must fit an int64, and non-ASCII decimal digits
// are rejected. Every malformed line is ErrWrongCommand, whose text is the
// error payload on the wire.
//
// # Encoding
//
// AppendPoint writes one line of a get's answer (a PointFormatter writes
// many, carrying each timestamp's digits to the next), AppendFloat the
// value in Python's repr() form, AppendError a server-condition error; the Reply*
// constants are the fixed answers. Encoders append, so a session can build
// a whole batch of answers in one buffer and write it once.
//
// # Cost
//
// Parse (with its put fast path, parsePutFast, tried first), Split,
// ParseFloat and ParseInt do not allocate, on success or on
// error, with one exception: a value that overflows by less than a factor of
// ten (1.8e308 to 9.9e308) costs the two allocations of strconv's range
// error. AppendFloat and AppendPoint allocate only to grow dst. Tests pin
// this with testing.AllocsPerRun, since the server parses every line of
// every session on this path.
package protocol
