package conformance

import (
	"bytes"
	"strconv"
	"testing"
)

// FuzzOwnLines feeds ownLines any reply: the result is always a well-formed
// reply holding only whole lines of the prefix's keys, in their order.
func FuzzOwnLines(f *testing.F) {
	f.Add([]byte("ok\np.a 1.0 1\nother 2.0 2\np.b 3.0 3\n\n"), "p.")
	f.Add([]byte("error\nwrong command\n\n"), "p.")
	f.Add([]byte("ok\np.a"), "p.")
	f.Fuzz(func(t *testing.T, reply []byte, prefix string) {
		if prefix == "" {
			return
		}
		mine, ok := ownLines(reply, prefix)
		if ok != bytes.HasPrefix(reply, []byte("ok\n")) {
			t.Fatalf("ok = %v for %q", ok, reply)
		}
		body, found := bytes.CutPrefix(mine, []byte("ok\n"))
		if !found || !bytes.HasSuffix(body, []byte("\n")) {
			t.Fatalf("malformed %q", mine)
		}
		body = body[:len(body)-1]
		for _, line := range bytes.SplitAfter(body, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			if !bytes.HasPrefix(line, []byte(prefix)) || !bytes.HasSuffix(line, []byte("\n")) {
				t.Fatalf("line %q of %q is not a whole line of the prefix %q", line, mine, prefix)
			}
			if ok && !bytes.Contains(reply, line) {
				t.Fatalf("line %q is not in the reply %q", line, reply)
			}
		}
	})
}

// FuzzEscape checks that Escape without a limit is ASCII and reads back,
// so a report shows exactly the bytes received.
func FuzzEscape(f *testing.F) {
	f.Add([]byte("ok\n\n"))
	f.Add([]byte("k\xff\xfe\u00a0\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := Escape(b, 0)
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				t.Fatalf("non-ASCII in %s", s)
			}
		}
		back, err := strconv.Unquote(s)
		if err != nil {
			t.Fatalf("Unquote(%s): %v", s, err)
		}
		// Invalid UTF-8 is shown byte by byte (\xff), valid text as runes:
		// both read back to the same bytes.
		if back != string(b) {
			t.Fatalf("Escape(%q) = %s reads back as %q", b, s, back)
		}
	})
}
