package protocol

import (
	"errors"
	"math"
	"testing"
	"unsafe"
)

func put(key string, value float64, ts int64) Request {
	return Request{Command: CmdPut, Key: []byte(key), Value: value, Timestamp: ts}
}

func get(key string) Request {
	return Request{Command: CmdGet, Key: []byte(key), AllKeys: key == "*"}
}

// sameRequest compares requests with the value's bits, so -0.0 and NaN
// payloads count.
func sameRequest(a, b Request) bool {
	return a.Command == b.Command && string(a.Key) == string(b.Key) && a.AllKeys == b.AllKeys &&
		math.Float64bits(a.Value) == math.Float64bits(b.Value) && a.Timestamp == b.Timestamp
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		line string
		want Request
	}{
		{"put test_key 12.0 1503319740\n", put("test_key", 12, 1503319740)},
		{"put k 1 2", put("k", 1, 2)},
		{"put k 1 2\r\n", put("k", 1, 2)},
		{"  put\tk   1\v2 \n", put("k", 1, 2)},
		{"put\u00a0k\u30001\u20282\u0085\n", put("k", 1, 2)},
		{"put\x1ck\x1d1\x1e2\x1f", put("k", 1, 2)},
		{"put ключ 0.5 7\n", put("ключ", 0.5, 7)},
		{"put k -inf +5\n", put("k", math.Inf(-1), 5)},
		{"put k 1_000.5 0_07\n", put("k", 1000.5, 7)},
		{"put k 1e400 -0\n", put("k", math.Inf(1), 0)},
		{"put k -0 1\n", put("k", math.Copysign(0, -1), 1)},
		{"put k nan 1\n", put("k", math.Float64frombits(pythonNaN), 1)},
		{"put k .5 -9223372036854775808\n", put("k", 0.5, math.MinInt64)},
		{"put k 5. 9223372036854775807\n", put("k", 5, math.MaxInt64)},
		{"put * 1 2\n", put("*", 1, 2)}, // "*" means every key only in a get
		{"put get 1 3\n", put("get", 1, 3)},
		{"get test_key\n", get("test_key")},
		{"get *\n", get("*")},
		{"get *\r\n", get("*")},
		{"\tget  k ", get("k")},
		{"get **\n", get("**")},
		{"get put\n", get("put")},
		{"get \ufffd\n", get("\ufffd")},
	}
	for _, tc := range tests {
		var req Request
		if err := Parse([]byte(tc.line), &req); err != nil || !sameRequest(req, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.line, req, err, tc.want)
		}
	}
}

func TestParseWrongCommand(t *testing.T) {
	tests := []string{
		"", "\n", "   \r\n", "\u3000\n",
		"got test_key\n", "PUT k 1 2\n", "Put k 1 2\n", "GET *\n", "gett k\n", "ge t k\n",
		"put\n", "put k\n", "put k 1\n", "put k 1 2 3\n", "put k 1 2 3 4 5 6\n",
		"get\n", "get a b\n", "get * *\n",
		"put k 1.0.0 2\n", "put k 1 2.0\n", "put k 1 1e3\n", "put k 0x10 1\n",
		"put k 1__0 1\n", "put k _1 1\n", "put k 1_ 1\n", "put k . 1\n", "put k 1e 1\n",
		"put k 1 9223372036854775808\n", "put k 1 -9223372036854775809\n",
		"put k 1 +\n", "put k 1 -\n", "put k ten 1\n", "put k 1 ten\n",
		"put k \u0665 1\n", "put k 1 \u0665\n", // non-ASCII digits: documented difference
		"put\x00k 1 2\n", "get\u200bk\n", "put k 1 2\x85", // NUL, U+200B, raw 0x85 are not spaces
		"get k\xff\n", "get \xed\xa0\x80\n", "get \xc0\xaf\n", "get k\xe2\x82\n",
		"put k 1 2 \xff\n", "\xffget k\n",
	}
	for _, line := range tests {
		req := put("stale", 1, 1)
		err := Parse([]byte(line), &req)
		if !errors.Is(err, ErrWrongCommand) || !sameRequest(req, Request{}) {
			t.Errorf("Parse(%q) = %+v, %v; want zero Request, ErrWrongCommand", line, req, err)
		}
	}
}

// TestParseKeyAliasesLine pins that Key is a view, not a copy: the zero
// allocation promise depends on it, and the server must copy what it keeps.
func TestParseKeyAliasesLine(t *testing.T) {
	line := []byte("put some.key 1 2\n")
	var req Request
	if err := Parse(line, &req); err != nil {
		t.Fatal(err)
	}
	if unsafe.SliceData(req.Key) != &line[4] {
		t.Fatalf("Key %q does not point into the line", req.Key)
	}
}

func TestParseAllocs(t *testing.T) {
	lines := []string{
		"put test_key 12.0 1503319740\n",
		"get test_key\n",
		"get *\n",
		"put k 1_000.000_000_000_000_000_000_000_000_000_000_1 1_503_319_740\n",
		"put k 123456789012345678901234567890.123456789 1\n", // > 32 bytes
		"put k 1e400 1\n",
		"put k -nan 1\n",
		"put\u00a0ключ\u30001.5 2\r\n",
	}
	for _, line := range lines {
		b := []byte(line)
		var req Request
		n := testing.AllocsPerRun(200, func() {
			if err := Parse(b, &req); err != nil {
				t.Fatalf("Parse(%q): %v", line, err)
			}
		})
		if n != 0 {
			t.Errorf("Parse(%q) allocates %v times, want 0", line, n)
		}
	}
}

// TestParseErrorAllocs pins that rejecting a line is free too: a flood of
// bad lines must not create garbage.
func TestParseErrorAllocs(t *testing.T) {
	for _, line := range []string{"got k\n", "put k x 1\n", "put k 1 x\n", "get \xff\n", "put k 1 99999999999999999999\n"} {
		b := []byte(line)
		var req Request
		if n := testing.AllocsPerRun(100, func() { _ = Parse(b, &req) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times, want 0", line, n)
		}
	}
}
