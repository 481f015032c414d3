package protocol

// Reply texts (docs/protocol.md, "Requests and responses"). Every response is a
// status line, payload lines, and an empty line.
const (
	// ReplyOK answers a put, or a get that found no points.
	ReplyOK = "ok\n\n"
	// ReplyOKHeader starts a get's answer; AppendPoint lines follow.
	ReplyOKHeader = "ok\n"
	// ReplyEnd ends a get's answer.
	ReplyEnd = "\n"
	// ReplyWrongCommand answers every malformed request (ErrWrongCommand).
	ReplyWrongCommand = "error\nwrong command\n\n"
)

// emptyErrorMessage replaces an empty AppendError message: an empty payload
// line would read as the end of the reply and leave a stray "\n" behind.
const emptyErrorMessage = "server error"

// AppendPoint appends one line of a get's answer, "<key> <repr(value)>
// <timestamp>\n", with the key byte for byte and the timestamp in plain
// decimal. It does not allocate beyond growing dst.
func AppendPoint(dst []byte, key []byte, value float64, ts int64) []byte {
	var f PointFormatter // fresh: the timestamp is converted from scratch
	return f.Append(dst, key, value, ts)
}

// AppendError appends "error\n<msg>\n\n", the answer to a condition of the
// server itself (storage limit, disk failure). msg should not contain "\n";
// any newline in it is replaced by a space, and an empty msg by "server
// error", so that the reply always has exactly one payload line and can never
// be split or cut short.
func AppendError(dst []byte, msg string) []byte {
	if msg == "" {
		msg = emptyErrorMessage
	}
	dst = append(dst, "error\n"...)
	for i := range len(msg) {
		c := msg[i]
		if c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\n', '\n')
}
