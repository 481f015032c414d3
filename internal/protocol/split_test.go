package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// pythonSpace lists every character Python's str.split() separates on
// (docs/protocol.md, parsing rule 2), in the spec's order.
var pythonSpace = []rune{
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0,
	0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007,
	0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
}

// notSpace are characters that look or act like whitespace elsewhere but do
// not separate tokens in Python.
var notSpace = []rune{0x00, 0x7f, 0x180e, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0xfffd}

func splitAll(t *testing.T, line string) ([]string, error) {
	t.Helper()
	var dst [16][]byte
	n, err := Split([]byte(line), dst[:])
	if err != nil {
		return nil, err
	}
	if n > len(dst) {
		t.Fatalf("Split(%q) = %d tokens, test array too small", line, n)
	}
	out := make([]string, n)
	for i := range n {
		out[i] = string(dst[i])
	}
	return out, nil
}

func TestSplitEachWhitespace(t *testing.T) {
	for _, r := range pythonSpace {
		sp := string(r)
		line := sp + "put" + sp + sp + "k" + sp + "1" + sp + "2" + sp + "\n"
		got, err := splitAll(t, line)
		if err != nil || strings.Join(got, "|") != "put|k|1|2" {
			t.Errorf("U+%04X: Split(%q) = %q, %v; want [put k 1 2]", r, line, got, err)
		}
	}
}

func TestSplitNotWhitespace(t *testing.T) {
	for _, r := range notSpace {
		line := "a" + string(r) + "b"
		got, err := splitAll(t, line)
		if err != nil || len(got) != 1 || got[0] != line {
			t.Errorf("U+%04X: Split(%q) = %q, %v; want one token", r, line, got, err)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"", nil},
		{"\n", nil},
		{" \t\r\n", nil},
		{"get *\n", []string{"get", "*"}},
		{"put k 1 2\r\n", []string{"put", "k", "1", "2"}},
		{"  put\t\tk   1 2  ", []string{"put", "k", "1", "2"}},
		{"a\u00a0\u3000b", []string{"a", "b"}},
		{"ключ\u2028значение", []string{"ключ", "значение"}},
		{"emoji😀 k", []string{"emoji😀", "k"}},
		{"é", []string{"é"}},
		{"\ufffd", []string{"\ufffd"}}, // a valid encoding of U+FFFD is a token
	}
	for _, tc := range tests {
		got, err := splitAll(t, tc.line)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) || len(got) != len(tc.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
}

func TestSplitInvalidUTF8(t *testing.T) {
	tests := []struct{ name, line string }{
		{"lone continuation byte", "get \x80"},
		{"raw 0x85 (NEL is only whitespace as C2 85)", "put k 1 2\x85"},
		{"0xff", "get k\xff"},
		{"truncated 2-byte", "get k\xc2"},
		{"truncated 3-byte", "get k\xe2\x82"},
		{"truncated 4-byte", "get \xf0\x9f\x98"},
		{"truncated before space", "get \xe2\x82 k"},
		{"overlong slash", "get \xc0\xaf"},
		{"overlong 3-byte", "get \xe0\x80\xaf"},
		{"overlong NUL", "get \xc0\x80"},
		{"surrogate high", "get \xed\xa0\x80"},
		{"surrogate low", "get \xed\xbf\xbf"},
		{"above U+10FFFF", "get \xf4\x90\x80\x80"},
		{"5-byte form", "get \xf8\x88\x80\x80\x80"},
		{"bad byte in leading whitespace", "\xff get k"},
		{"bad byte after the fifth token", "put k 1 2 3 4 5 \xff"},
	}
	for _, tc := range tests {
		var dst [5][]byte
		n, err := Split([]byte(tc.line), dst[:])
		if !errors.Is(err, ErrInvalidUTF8) || n != 0 {
			t.Errorf("%s: Split(%q) = %d, %v; want 0, ErrInvalidUTF8", tc.name, tc.line, n, err)
		}
	}
}

func TestSplitCountsPastDst(t *testing.T) {
	var dst [2][]byte
	n, err := Split([]byte("a b c d e f"), dst[:])
	if err != nil || n != 6 || string(dst[0]) != "a" || string(dst[1]) != "b" {
		t.Fatalf("Split = %d, %v, %q; want 6 tokens, a and b stored", n, err, dst)
	}
	if n, err := Split([]byte(" x "), nil); n != 1 || err != nil {
		t.Fatalf("Split into nil dst = %d, %v; want 1, nil", n, err)
	}
}

// TestSplitTokensCannotClobberLine pins the full slice expression: a caller
// appending to a token must not overwrite the bytes after it.
func TestSplitTokensCannotClobberLine(t *testing.T) {
	line := []byte("put key 1 2\n")
	var dst [5][]byte
	if _, err := Split(line, dst[:]); err != nil {
		t.Fatal(err)
	}
	for i, tok := range dst[:4] {
		if cap(tok) != len(tok) {
			t.Errorf("token %d %q has cap %d, want %d", i, tok, cap(tok), len(tok))
		}
	}
	_ = append(dst[1], "XXXX"...)
	if string(line) != "put key 1 2\n" {
		t.Fatalf("line changed to %q", line)
	}
}

func TestSplitGolden(t *testing.T) {
	var checked int
	for _, row := range readGolden(t, "parse_golden.txt", "\t") {
		if row.fields[0] != "s" {
			continue
		}
		checked++
		line := mustHex(t, row, row.fields[1])
		var dst [16][]byte
		n, err := Split(line, dst[:])
		got := "error"
		if err == nil {
			parts := make([]string, min(n, len(dst)))
			for i := range parts {
				parts[i] = fmt.Sprintf("%x", dst[i])
			}
			got = strings.Join(parts, ",")
		}
		if got != row.fields[2] {
			t.Errorf("line %d: Split(%q) = %s, want %s", row.line, line, got, row.fields[2])
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d split rows in golden file", checked)
	}
}

func TestSplitAllocs(t *testing.T) {
	line := []byte("put\u00a0k\u3000 1.5 2\r\n")
	var dst [5][]byte
	if n := testing.AllocsPerRun(100, func() { _, _ = Split(line, dst[:]) }); n != 0 {
		t.Fatalf("Split allocates %v times, want 0", n)
	}
}

// referenceSplit is a slow, obviously correct Split: validate, then cut on
// the spec's whitespace list. Fuzzing compares Split against it.
func referenceSplit(line []byte) ([][]byte, bool) {
	if !utf8.Valid(line) {
		return nil, false
	}
	isSpace := func(r rune) bool {
		for _, s := range pythonSpace {
			if r == s {
				return true
			}
		}
		return false
	}
	return bytes.FieldsFunc(line, isSpace), true
}
