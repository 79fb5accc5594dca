package jsonenc_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/eventsim/eventsim/internal/jsonenc"
)

func TestAppendValueIsEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"plain string", "linode/debian12"},
		{"escapes", "a\"b\\c\n\r\t\x01<>&\u2028\u2029 é \xff end"},
		{"bool", true},
		{"ints", []any{0, -1, int64(math.MaxInt64), int64(math.MinInt64)}},
		{"floats", []any{0.0, -0.5, 1e-7, 1e21, 123456789.125, 3.0, 1e-6, 5e-324}},
		{"number", json.Number("12.50")},
		{"strings", []string{"a", "", "<b>"}},
		{"nil slices", map[string]any{"s": []string(nil), "a": []any(nil), "m": map[string]any(nil), "ms": map[string]string(nil)}},
		{"empty", map[string]any{"s": []string{}, "a": []any{}, "m": map[string]any{}}},
		{"nested sorted", map[string]any{"z": 1, "a": map[string]any{"y": nil, "b": []any{"x", 2.5, false}}, "m": map[string]string{"k2": "v", "k1": "<"}, "é": "x", "B": 1}},
		{"other types go through encoding/json", map[string]any{"u": uint8(7), "f32": float32(1.5), "ip": []int{1, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := jsonenc.AppendValue([]byte("prefix"), tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix"+string(want) {
				t.Errorf("AppendValue = %s\nencoding/json = %s", got[len("prefix"):], want)
			}
		})
	}
}

func TestAppendFloatRefusesWhatJSONCannotHold(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := jsonenc.AppendFloat(nil, f); err == nil {
			t.Errorf("AppendFloat(%v) gave no error", f)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n<>&", "\u2028\xff\xfe", "é日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := jsonenc.AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1, -1.5, 1e-7, 1e21, 1e300} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		got, gerr := jsonenc.AppendFloat(nil, v)
		if (err != nil) != (gerr != nil) || err == nil && string(got) != string(want) {
			t.Errorf("AppendFloat(%v) = %s, %v; encoding/json %s, %v", v, got, gerr, want, err)
		}
	})
}
