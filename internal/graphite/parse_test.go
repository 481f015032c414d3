package graphite

import (
	"errors"
	"math"
	"testing"
)

func TestParseLineValid(t *testing.T) {
	tests := []struct {
		name, line string
		want       Line
	}{
		{"course key", "palm.cpu 23.7 1150864247\n", Line{Path: []byte("palm.cpu"), Value: 23.7, Timestamp: 1150864247}},
		{"collectd", "collectd.host_example_com.cpu-0.cpu-idle 98.600000 1500000000\n",
			Line{Path: []byte("collectd.host_example_com.cpu-0.cpu-idle"), Value: 98.6, Timestamp: 1500000000}},
		{"telegraf crlf", "host.cpu.cpu0.usage_idle 99.5 1500000000\r\n",
			Line{Path: []byte("host.cpu.cpu0.usage_idle"), Value: 99.5, Timestamp: 1500000000}},
		{"statsd integer", "stats.counters.foo.count 3 1500000000\n",
			Line{Path: []byte("stats.counters.foo.count"), Value: 3, Timestamp: 1500000000}},
		{"tabs and spaces", "\t a.b \t -4.5e3   7 \n", Line{Path: []byte("a.b"), Value: -4500, Timestamp: 7}},
		{"no newline", "a 1 2", Line{Path: []byte("a"), Value: 1, Timestamp: 2}},
		{"now -1", "a 1 -1\n", Line{Path: []byte("a"), Value: 1, Now: true, Timestamp: -1}},
		{"now -1.0", "a 1 -1.0\n", Line{Path: []byte("a"), Value: 1, Now: true, Timestamp: -1}},
		{"now -1.9 truncates to -1", "a 1 -1.9\n", Line{Path: []byte("a"), Value: 1, Now: true, Timestamp: -1}},
		{"now N", "a 1 N\n", Line{Path: []byte("a"), Value: 1, Now: true}},
		{"float timestamp truncates", "a 1 1500000000.7\n", Line{Path: []byte("a"), Value: 1, Timestamp: 1500000000}},
		{"exponent timestamp", "a 1 1.5e9\n", Line{Path: []byte("a"), Value: 1, Timestamp: 1500000000}},
		{"underscore timestamp", "a 1 1_500_000_000\n", Line{Path: []byte("a"), Value: 1, Timestamp: 1500000000}},
		{"-0.5 is 0, not now", "a 1 -0.5\n", Line{Path: []byte("a"), Value: 1, Timestamp: 0}},
		{"-2 is a time", "a 1 -2\n", Line{Path: []byte("a"), Value: 1, Timestamp: -2}},
		{"max int64 exact", "a 1 9223372036854775807\n", Line{Path: []byte("a"), Value: 1, Timestamp: math.MaxInt64}},
		{"min int64 exact", "a 1 -9223372036854775808\n", Line{Path: []byte("a"), Value: 1, Timestamp: math.MinInt64}},
		{"infinite value", "a inf 1\n", Line{Path: []byte("a"), Value: math.Inf(1), Timestamp: 1}},
		{"overflowing value", "a -1e400 1\n", Line{Path: []byte("a"), Value: math.Inf(-1), Timestamp: 1}},
		{"unicode path", "température.salon 19.5 1\n", Line{Path: []byte("température.salon"), Value: 19.5, Timestamp: 1}},
		{"tagged in order", "cpu;dc=eu;host=a 1 2\n", Line{Path: []byte("cpu;dc=eu;host=a"), Value: 1, Timestamp: 2}},
		{"tags sorted as carbon sorts them", "cpu;host=a;dc=eu 1 2\n", Line{Path: []byte("cpu;dc=eu;host=a"), Value: 1, Timestamp: 2}},
		{"duplicate tag: last wins", "cpu;a=1;a=2 1 2\n", Line{Path: []byte("cpu;a=2"), Value: 1, Timestamp: 2}},
		{"leading tilde removed", "~cpu;a=1 1 2\n", Line{Path: []byte("cpu;a=1"), Value: 1, Timestamp: 2}},
		{"openmetrics form", "cpu{host=\"a\",dc=\"eu\"} 1 2\n", Line{Path: []byte("cpu;dc=eu;host=a"), Value: 1, Timestamp: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Line
			if err := ParseLine([]byte(tt.line), &got); err != nil {
				t.Fatalf("ParseLine(%q): %v", tt.line, err)
			}
			if string(got.Path) != string(tt.want.Path) || got.Value != tt.want.Value || got.Now != tt.want.Now ||
				(!got.Now && got.Timestamp != tt.want.Timestamp) {
				t.Errorf("ParseLine(%q) = %+v, want %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseLineInvalid(t *testing.T) {
	tests := []struct {
		name, line, reason string
	}{
		{"empty", "\n", ReasonFormat},
		{"two tokens", "a 1\n", ReasonFormat},
		{"four tokens", "a 1 2 3\n", ReasonFormat},
		{"bad value", "a b 1\n", ReasonValue},
		{"hex value", "a 0x10 1\n", ReasonValue},
		{"nan value", "a nan 1\n", ReasonNaN},
		{"negative nan value", "a -NaN 1\n", ReasonNaN},
		{"word timestamp", "a 1 x\n", ReasonTimestamp},
		{"lower-case n", "a 1 n\n", ReasonTimestamp},
		{"infinite timestamp", "a 1 inf\n", ReasonTimestamp},
		{"nan timestamp", "a 1 nan\n", ReasonTimestamp},
		{"2^63 as float", "a 1 9.223372036854775808e18\n", ReasonTimestamp},
		{"int past int64", "a 1 9223372036854775808\n", ReasonTimestamp},
		{"invalid utf-8", "a\xff 1 2\n", ReasonUTF8},
		{"tag without value", "cpu;host 1 2\n", ReasonTags},
		{"empty tag value", "cpu;host= 1 2\n", ReasonTags},
		{"tag value starting with ~", "cpu;host=~a 1 2\n", ReasonTags},
		{"no metric before tags", ";host=a 1 2\n", ReasonTags},
		{"prohibited tag character", "cpu;ho!st=a 1 2\n", ReasonTags},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Line
			err := ParseLine([]byte(tt.line), &got)
			var le *LineError
			if !errors.As(err, &le) || le.Reason != tt.reason {
				t.Fatalf("ParseLine(%q) = %v, want reason %s", tt.line, err, tt.reason)
			}
			if ReasonOf(err) != tt.reason {
				t.Errorf("ReasonOf = %s, want %s", ReasonOf(err), tt.reason)
			}
		})
	}
}

func TestReasonOfOtherErrors(t *testing.T) {
	if got := ReasonOf(errors.New("disk full")); got != ReasonStore {
		t.Errorf("ReasonOf(other) = %s, want %s", got, ReasonStore)
	}
}

// TestParseLineAllocs pins the hot path of ingest to zero allocations, for
// good and bad lines alike.
func TestParseLineAllocs(t *testing.T) {
	for _, line := range []string{"a.b.c 12.5 1500000000\n", "a 1 -1\n", "a b c\n", "a 1\n", "a 1 1.5e9\n",
		"cpu;dc=eu;host=a 1 2\n", "cpu;host=a;dc=eu 1 2\n", "cpu;host 1 2\n"} {
		b := []byte(line)
		var l Line
		if n := testing.AllocsPerRun(100, func() { ParseLine(b, &l) }); n != 0 {
			t.Errorf("ParseLine(%q): %v allocations, want 0", line, n)
		}
	}
}
