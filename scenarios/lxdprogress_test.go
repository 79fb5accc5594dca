package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"
)

// The engine writes a progress update's metadata straight to JSON; it must
// be what encoding/json writes for the map the fake daemon's REST
// operations send (Metadata), for any stage, prefix, size, time and update.
func TestProgressMetadataJSONIsMarshal(t *testing.T) {
	stages := []struct{ stage, prefix string }{
		{"create_instance_from_image_unpack", "Unpack"},
		{"a", "x"},           // Stage+"_progress" sorts first
		{"zz", "<Copy> & ü"}, // last; HTML characters escaped
		{"progres", "p"},     // "progres_progress" against "progress"
		{"", "\xff"},         // "_progress"; invalid UTF-8
	}
	sizes := []int64{0, 1, 999, 1000, 20_000_000, LXDImageSize, 999_999_999_999, math.MaxInt64}
	tooks := []time.Duration{0, time.Nanosecond, 300 * time.Millisecond, 1500 * time.Millisecond, 3*time.Second + 7*time.Microsecond, time.Hour}
	for _, st := range stages {
		for _, size := range sizes {
			for _, took := range tooks {
				p := &LXDProgress{Stage: st.stage, Prefix: st.prefix, Size: size}
				n := p.Points(took)
				for i := 1; i <= n; i++ {
					want, err := json.Marshal(p.Metadata(i, n, took))
					if err != nil {
						t.Fatal(err)
					}
					if got := p.AppendMetadataJSON([]byte("x"), i, n, took); string(got) != "x"+string(want) {
						t.Fatalf("stage %q prefix %q size %d took %v update %d/%d:\n got %s\nwant x%s", st.stage, st.prefix, size, took, i, n, got, want)
					}
				}
			}
		}
	}
}

// byteSize writes what LXD's units.GetByteSizeString(n, 2) does: Go's %.2f
// of the value in the largest unit under 1000.
func TestByteSize(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0B"}, {999, "999B"}, {1000, "1.00kB"}, {32319635, "32.32MB"}, {999_994_999, "999.99MB"},
		{999_995_000, "1000.00MB"}, {1_500_000_000_000, "1.50TB"}, {math.MaxInt64, "9.22EB"},
	} {
		if got := byteSize(c.n); got != c.want {
			t.Errorf("byteSize(%d) = %s, want %s", c.n, got, c.want)
		}
		v, unit := float64(c.n), "B"
		if c.n >= 1000 {
			for _, unit = range []string{"kB", "MB", "GB", "TB", "PB", "EB"} {
				if v /= 1000; v < 1000 {
					break
				}
			}
			if got, want := byteSize(c.n), fmt.Sprintf("%.2f%s", v, unit); got != want {
				t.Errorf("byteSize(%d) = %s, fmt gives %s", c.n, got, want)
			}
		}
	}
}
