package graphiteweb

import (
	"errors"
	"testing"
	"time"
)

// testNow is Friday 2024-03-15 14:30:45 UTC.
var testNow = time.Date(2024, 3, 15, 14, 30, 45, 0, time.UTC)

func TestParseTime(t *testing.T) {
	day := func(m time.Month, d, h, min int) time.Time { return time.Date(2024, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		in   string
		want time.Time
	}{
		{"now", testNow},
		{"", testNow},
		{"  NOW ", testNow},
		{"-1h", testNow.Add(-time.Hour)},
		{"-15min", testNow.Add(-15 * time.Minute)},
		{"-7d", testNow.AddDate(0, 0, -7)},
		{"-1h30min", testNow.Add(-90 * time.Minute)},
		{"+1w", testNow.AddDate(0, 0, 7)},
		{"-1mon", testNow.AddDate(0, 0, -30)},
		{"-1y", testNow.AddDate(0, 0, -365)},
		{"-5seconds", testNow.Add(-5 * time.Second)},
		{"-2HOURS", testNow.Add(-2 * time.Hour)},
		{"-3minutes", testNow.Add(-3 * time.Minute)},
		{"now-1h", testNow.Add(-time.Hour)},
		{"now-", testNow},
		{"1500000000", time.Unix(1500000000, 0).UTC()},
		{"1_500_000_000", time.Unix(1500000000, 0).UTC()},
		{"0", time.Unix(0, 0).UTC()},
		{"19000101", time.Unix(19000101, 0).UTC()}, // year 1900 is not > 1900: seconds
		{"20241301", time.Unix(20241301, 0).UTC()}, // month 13: seconds
		{"20240101", day(1, 1, 0, 0)},
		{"04:00_20240101", day(1, 1, 4, 0)},
		{"4:00pm_20240101", day(1, 1, 16, 0)},
		{"12:30am 20240102", day(1, 2, 12, 30)},
		{"today", day(3, 15, 0, 0)},
		{"yesterday", day(3, 14, 0, 0)},
		{"tomorrow", day(3, 16, 0, 0)},
		{"midnight", day(3, 15, 0, 0)},
		{"noon", day(3, 15, 12, 0)},
		{"noon yesterday", day(3, 14, 12, 0)},
		{"teatime", day(3, 15, 16, 0)},
		{"6am", day(3, 15, 6, 0)},
		{"6pm", day(3, 15, 18, 0)},
		{"12/25/23", time.Date(2023, 12, 25, 0, 0, 0, 0, time.UTC)},
		{"12/25/2023", time.Date(2023, 12, 25, 0, 0, 0, 0, time.UTC)},
		{"1/2/69", time.Date(2069, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"1/2/70", time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"jan5", day(1, 5, 0, 0)},
		{"March 15", day(3, 15, 0, 0)},
		{"monday", day(3, 11, 0, 0)},
		{"friday", day(3, 15, 0, 0)},
		{"sat", day(3, 9, 0, 0)},
		{"yesterday-1h", day(3, 13, 23, 0)},
		{"midnight+1h", day(3, 15, 1, 0)},
		{"20240101+1d", day(1, 2, 0, 0)},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, testNow)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseTimeErrors(t *testing.T) {
	for _, in := range []string{
		"-1m", // neither min nor mon, as in graphite-web
		"-1", "-h", "-1h:", "bogus", "now+-1h", "25:00_20240101", "10:61", "20240230", "jan",
		"12/25", "13/01/2020", "99999999999999", "-99999999999d", "-1000000y", "1h",
		"9223372036854775808",
	} {
		_, err := ParseTime(in, testNow)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("ParseTime(%q) = %v, want a QueryError", in, err)
		}
	}
}

// FuzzParseTime checks that no input panics and every time returned is in
// the range the rest of the API assumes.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"now", "-1h", "1500000000", "04:00_20240101", "noon yesterday", "jan5", "12/25/23", "monday+1h30min"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, testNow)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("ParseTime(%q): error %v is not a QueryError", s, err)
			}
			return
		}
		if got.Before(minTime) || got.After(maxTime) {
			t.Fatalf("ParseTime(%q) = %v, out of range", s, got)
		}
	})
}
