package lines

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll returns every line and error Next gives until the input ends,
// writing an over-long line as "!".
func readAll(t *testing.T, r *Reader) []string {
	t.Helper()
	var out []string
	for range 1 << 20 {
		line, err := r.Next()
		switch {
		case err == nil:
			out = append(out, string(line))
		case errors.Is(err, ErrTooLong):
			out = append(out, "!")
		case errors.Is(err, io.EOF):
			return out
		default:
			t.Fatalf("Next: %v", err)
		}
	}
	t.Fatal("Next never reached the end of input")
	return nil
}

func TestReader(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name    string
		in      string
		bufSize int
		max     int
		want    []string
	}{
		{"lines", "a\nb c\n", 16, 10, []string{"a\n", "b c\n"}},
		{"empty lines", "\n\n", 16, 10, []string{"\n", "\n"}},
		{"unterminated last line dropped", "a\nb", 16, 10, []string{"a\n"}},
		{"at limit within buffer", "0123456789\n", 16, 10, []string{"0123456789\n"}},
		{"over limit within buffer", "0123456789a\nok\n", 16, 10, []string{"!", "ok\n"}},
		{"at limit across buffers", long + "\n", 16, 100, []string{long + "\n"}},
		{"over limit across buffers", long + "y\nok\n", 16, 100, []string{"!", "ok\n"}},
		{"far over limit", strings.Repeat(long, 50) + "\nok\n", 16, 100, []string{"!", "ok\n"}},
		{"two long lines", long + "y\n" + long + "z\nok\n", 16, 100, []string{"!", "!", "ok\n"}},
		{"long then fitting long", long + "y\n" + long + "\n", 16, 100, []string{"!", long + "\n"}},
	}
	for _, tt := range tests {
		for _, split := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"one byte", iotest.OneByteReader},
			{"half", iotest.HalfReader},
		} {
			t.Run(tt.name+"/"+split.name, func(t *testing.T) {
				r := NewReader(split.wrap(strings.NewReader(tt.in)), tt.bufSize, tt.max)
				got := readAll(t, r)
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Fatalf("lines = %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestReaderOverflowStaysBounded(t *testing.T) {
	const max = 1000
	in := strings.Repeat("y", 1<<20) + "\n"
	r := NewReader(iotest.HalfReader(strings.NewReader(in)), 16, max)
	if got := readAll(t, r); len(got) != 1 || got[0] != "!" {
		t.Fatalf("got %q", got)
	}
	if c := cap(r.overflow); c > 2*max {
		t.Fatalf("overflow buffer grew to %d bytes for a limit of %d", c, max)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("put a 1 1\nget a\n"), uint8(4), uint8(16))
	f.Add([]byte("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nok\n"), uint8(10), uint8(20))
	f.Fuzz(func(t *testing.T, in []byte, maxLine, bufSize uint8) {
		max, size := int(maxLine)+1, int(bufSize)+16
		r := NewReader(iotest.OneByteReader(strings.NewReader(string(in))), size, max)
		// Every "\n"-terminated line of the input comes out either whole
		// (if short enough) or as one ErrTooLong, in order. An unterminated
		// tail is reported too long only if whole buffers of it already
		// passed the limit before the input ended; otherwise it is dropped.
		var want []string
		for _, l := range strings.SplitAfter(string(in), "\n") {
			if !strings.HasSuffix(l, "\n") {
				if len(l)/size*size > max {
					want = append(want, "!")
				}
				break
			}
			if len(l)-1 > max {
				want = append(want, "!")
			} else {
				want = append(want, l)
			}
		}
		got := readAll(t, r)
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("lines = %q, want %q", got, want)
		}
	})
}

func TestLineBuffered(t *testing.T) {
	r := NewReader(strings.NewReader("a\nb\npartial"), 64, 100)
	for i, want := range []bool{true, true, false} {
		if i > 0 {
			if _, err := r.Next(); err != nil {
				t.Fatalf("Next: %v", err)
			}
		}
		if i == 0 {
			r.r.Peek(1) // fill the buffer as a first read would
		}
		if got := r.LineBuffered(); got != want {
			t.Fatalf("after %d lines LineBuffered = %v, want %v", i, got, want)
		}
	}
}
