package dataset

import (
	"encoding/json"
	"errors"
)

// field returns the raw value of key in the JSON object obj, without
// decoding the rest, and whether it was there.
func field(obj []byte, key string) ([]byte, bool) {
	v := fields(obj, key)
	return v[0], v[0] != nil
}

// fields returns the raw values of keys in the JSON object obj, nil for
// those absent. obj must be valid JSON, as the engine writes it.
func fields(obj []byte, keys ...string) [][]byte {
	out := make([][]byte, len(keys))
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return out
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return out
		}
		if obj[i] == ',' {
			i++
			continue
		}
		kEnd := skipValue(obj, i)
		if kEnd < 0 {
			return out
		}
		key := obj[i+1 : kEnd-1] // keys the engine writes need no unescaping
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return out
		}
		i = skipSpace(obj, i+1)
		vEnd := skipValue(obj, i)
		if vEnd < 0 {
			return out
		}
		for k, want := range keys {
			if string(key) == want {
				out[k] = obj[i:vEnd]
			}
		}
		i = vEnd
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at i, or
// -1 if it does not end.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipValue(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' {
		j++
	}
	return j
}

// jsonString decodes a raw JSON string value; other values are an error.
func jsonString(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return "", errors.New("not a JSON string: " + string(v))
	}
	body := v[1 : len(v)-1]
	for _, c := range body {
		if c == '\\' {
			var s string
			err := json.Unmarshal(v, &s)
			return s, err
		}
	}
	return string(body), nil
}
