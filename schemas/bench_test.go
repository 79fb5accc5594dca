package schemas

import (
	"encoding/json"
	"testing"

	"github.com/eventsim/eventsim/internal/lxdcapture"
)

func loadCapture(testing.TB) [][]byte { return lxdcapture.Lines() }

// BenchmarkValidateLXD measures schema validation of real LXD events, one core.
func BenchmarkValidateLXD(b *testing.B) {
	lines := loadCapture(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Validate(LXDEvent, lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkValidatorLXD measures a Validator on real LXD events, one core:
// "bytes" reads each event's shape from its bytes (Validate), "decoded"
// decodes each event first and reads the shape from the value, as Validate
// did before.
func BenchmarkValidatorLXD(b *testing.B) {
	lines := loadCapture(b)
	for _, c := range []struct {
		name     string
		validate func(v *Validator, doc []byte) error
	}{
		{"bytes", (*Validator).Validate},
		{"decoded", func(v *Validator, doc []byte) error {
			var val any
			if err := json.Unmarshal(doc, &val); err != nil {
				return err
			}
			return v.ValidateValue(val)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			v, err := NewValidator(LXDEvent)
			if err != nil {
				b.Fatal(err)
			}
			for _, l := range lines {
				if err := c.validate(v, l); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.validate(v, lines[i%len(lines)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
