package deadline

import (
	"testing"
	"time"
)

func TestLazyRenew(t *testing.T) {
	const timeout = 10 * time.Second
	t0 := time.Unix(1000, 0)
	tests := []struct {
		at        time.Duration // after t0
		wantRenew bool
		wantUntil time.Duration // after t0
	}{
		{0, true, 15 * time.Second},                   // first: 1.5 × ahead
		{4 * time.Second, false, 15 * time.Second},    // 11 s left: enough
		{5 * time.Second, false, 15 * time.Second},    // exactly the timeout left
		{5*time.Second + 1, true, 20*time.Second + 1}, // less than the timeout left
		{19 * time.Second, true, 34 * time.Second},    // 1 s left
		{34 * time.Second, true, 49 * time.Second},    // expired
		{34*time.Second + time.Millisecond, false, 49 * time.Second},
	}
	var l Lazy
	for _, tt := range tests {
		until, renew := l.Renew(t0.Add(tt.at), timeout)
		if renew != tt.wantRenew || !until.Equal(t0.Add(tt.wantUntil)) {
			t.Errorf("Renew at +%v = %v, %v; want +%v, %v", tt.at, until.Sub(t0), renew, tt.wantUntil, tt.wantRenew)
		}
	}
	l.Reset()
	if _, renew := l.Renew(t0.Add(35*time.Second), timeout); !renew {
		t.Error("Renew after Reset did not set a deadline")
	}
}
