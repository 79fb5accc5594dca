package scenarios

import (
	"errors"
	"io"
	"testing"
)

func TestSmoke(t *testing.T) {
	for _, n := range builtinNames() {
		s, err := Load(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		e, err := New(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		c := 0
		for ; c < 3000; c++ {
			r, err := e.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			if c < 3 || r.Fault != nil {
				t.Logf("%s %s", r.Time.Format("15:04:05.000000"), r.JSON)
			}
		}
		t.Logf("%s: %d records", n, c)
	}
}
