package cli

import (
	"testing"
	"time"
)

func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		in      string
		n       int
		per     time.Duration
		wantErr bool
	}{
		{in: "800/2m", n: 800, per: 2 * time.Minute},
		{in: "10/s", n: 10, per: time.Second},
		{in: "off", n: -1},
		{in: "0/s", wantErr: true},
		{in: "Off", wantErr: true},
		{in: "lots", wantErr: true},
	}
	for _, tc := range tests {
		n, per, err := parseRateLimit(tc.in)
		if (err != nil) != tc.wantErr || err == nil && (n != tc.n || per != tc.per) {
			t.Errorf("parseRateLimit(%q) = %d, %v, %v; want %d, %v, error %v", tc.in, n, per, err, tc.n, tc.per, tc.wantErr)
		}
	}
}
