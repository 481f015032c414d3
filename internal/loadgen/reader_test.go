package loadgen

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReader(t *testing.T) {
	put := Expect{}
	getK := Expect{Get: true, Key: []byte("k"), CheckNumbers: true}
	getAll := Expect{Get: true}
	tests := []struct {
		name   string
		input  string
		exp    Expect
		want   Answer
		rest   string // what the next answer must start with
		errors bool   // the stream fails before an answer ends
	}{
		{"put ok", "ok\n\n", put, Answer{Verdict: VerdictOK}, "", false},
		{"put ok then more", "ok\n\n", put, Answer{Verdict: VerdictOK}, "ok\n\n", false},
		{"put answered error", "error\nwrong command\n\n", put, Answer{Verdict: VerdictError}, "", false},
		{"put answered a server error", "error\nstore limit reached\n\n", put, Answer{Verdict: VerdictError}, "ok\n\n", false},
		{"put answered with points", "ok\nk 1.0 1\n\n", put, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"put answered garbage", "nope\nmore\n\n", put, Answer{Verdict: VerdictBad}, "ok\n\n", false},
		{"put answered OK upper case", "OK\n\n", put, Answer{Verdict: VerdictBad}, "", false},
		{"stray empty line", "\n", put, Answer{Verdict: VerdictBad}, "ok\n\n", false},
		{"get empty", "ok\n\n", getK, Answer{Verdict: VerdictOK}, "", false},
		{"get points", "ok\nk 1.5 10\nk 2.0 11\n\n", getK, Answer{Verdict: VerdictOK, Points: 2}, "", false},
		{"get other key", "ok\nj 1.5 10\n\n", getK, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"get key prefix only", "ok\nkk 1.5 10\n\n", getK, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"get two fields", "ok\nk 1.5\n\n", getK, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"get four fields", "ok\nk 1.5 10 x\n\n", getK, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"get double space", "ok\nk  1.5 10\n\n", getK, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"get trailing space", "ok\nk 1.5 \n\n", getK, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"get bad value", "ok\nk x 10\n\n", getK, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"get bad timestamp", "ok\nk 1.5 1.0\n\n", getK, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"get nan inf", "ok\nk nan 1\nk -inf 2\n\n", getK, Answer{Verdict: VerdictOK, Points: 2}, "", false},
		{"get * any keys", "ok\na 1.0 1\nb x 2\n\n", getAll, Answer{Verdict: VerdictOK, Points: 2}, "", false},
		{"get * three fields", "ok\na 1.0\n\n", getAll, Answer{Verdict: VerdictBad, Points: 1}, "", false},
		{"get answered error", "error\nwrong command\n\n", getK, Answer{Verdict: VerdictError}, "", false},
		{"cut after status", "ok\n", put, Answer{}, "", true},
		{"cut mid point", "ok\nk 1.0", getK, Answer{}, "", true},
		{"nothing", "", put, Answer{}, "", true},
	}
	for _, tc := range tests {
		for _, split := range []bool{false, true} {
			var src io.Reader = strings.NewReader(tc.input + tc.rest)
			if split {
				src = iotest.OneByteReader(src)
			}
			rd := NewReader(src)
			got, err := rd.Next(tc.exp)
			if tc.errors {
				if err == nil {
					t.Errorf("%s (split %v): %+v, want a stream error", tc.name, split, got)
				}
				continue
			}
			if err != nil || got.Verdict != tc.want.Verdict || got.Points != tc.want.Points {
				t.Errorf("%s (split %v): %+v, %v; want %+v", tc.name, split, got, err, tc.want)
				continue
			}
			if rd.BytesRead() != int64(len(tc.input)) {
				t.Errorf("%s (split %v): consumed %d bytes, want %d", tc.name, split, rd.BytesRead(), len(tc.input))
			}
			if tc.rest != "" {
				if next, err := rd.Next(put); err != nil || next.Verdict != VerdictOK {
					t.Errorf("%s (split %v): next answer %+v, %v; want ok", tc.name, split, next, err)
				}
			}
		}
	}
}

func TestReaderLongLine(t *testing.T) {
	input := "ok\nk " + strings.Repeat("1", readBufferSize) + " 1\n\n"
	_, err := NewReader(strings.NewReader(input)).Next(Expect{Get: true})
	if !errors.Is(err, errLongLine) {
		t.Errorf("a line longer than the buffer: %v, want errLongLine", err)
	}
}

func TestReaderLargeAnswer(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("ok\n")
	const points = 100_000 // many buffers' worth
	for range points {
		b.WriteString("bench.123 42.17 1700000000\n")
	}
	b.WriteString("\n")
	rd := NewReader(&b)
	got, err := rd.Next(Expect{Get: true, Key: []byte("bench.123"), CheckNumbers: true})
	if err != nil || got.Verdict != VerdictOK || got.Points != points {
		t.Errorf("large answer: %+v, %v; want %d ok points", got, err, points)
	}
}

// FuzzReader feeds arbitrary responses: the reader must never panic, must
// consume every byte it judged, and must never judge a truncated answer.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"ok\n\n", "ok\nk 1.0 1\n\n", "error\nwrong command\n\n", "x\n\n", "\n", "ok\nk 1 2"} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, get bool) {
		rd := NewReader(iotest.HalfReader(bytes.NewReader(data)))
		exp := Expect{Get: get, Key: []byte("k"), CheckNumbers: get}
		for range len(data) + 1 { // each answer consumes at least one byte
			before := rd.BytesRead()
			a, err := rd.Next(exp)
			if err != nil {
				return
			}
			consumed := data[before:rd.BytesRead()]
			if len(consumed) == 0 || consumed[len(consumed)-1] != '\n' {
				t.Fatalf("answer %+v from %q does not end a line", a, consumed)
			}
			if a.Verdict == VerdictOK && !bytes.HasSuffix(consumed, []byte("\n\n")) {
				t.Fatalf("ok answer %q does not end in an empty line", consumed)
			}
		}
		t.Fatal("more answers than bytes")
	})
}

// TestReaderFills checks the count the generator times answers by: the
// answers that arrived in one read share it.
func TestReaderFills(t *testing.T) {
	tests := []struct {
		name string
		src  io.Reader
		want []int64 // Fills after each of three answers
	}{
		{"one read", strings.NewReader("ok\n\nok\n\nok\n\n"), []int64{1, 1, 1}},
		{"a read per byte", iotest.OneByteReader(strings.NewReader("ok\n\nok\n\nok\n\n")), []int64{4, 8, 12}},
	}
	for _, tt := range tests {
		rd := NewReader(tt.src)
		for i, want := range tt.want {
			if _, err := rd.Next(Expect{}); err != nil {
				t.Fatalf("%s: answer %d: %v", tt.name, i, err)
			}
			if got := rd.Fills(); got != want {
				t.Errorf("%s: Fills after answer %d = %d, want %d", tt.name, i, got, want)
			}
		}
	}
}
