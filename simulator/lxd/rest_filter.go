package lxd

import (
	"fmt"
	"net/http"
	"strings"
)

// filter is LXD's API filtering for lists (?filter=): clauses "FIELD eq
// VALUE" or "FIELD ne VALUE", each optionally preceded by "not", joined by
// "and" or "or" and read left to right. Fields are the instance's JSON
// fields (name, status, type, location, architecture, description,
// project) and config.KEY / expanded_config.KEY. Values may be quoted.
type filter struct {
	clauses []clause
}

type clause struct {
	or    bool // joined to what comes before by "or" (else "and")
	not   bool
	field string
	ne    bool
	value string
}

// parseFilter reads a ?filter= value; "" matches everything.
func parseFilter(s string) (*filter, error) {
	f := &filter{}
	toks, err := filterTokens(s)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(toks); {
		var c clause
		if len(f.clauses) > 0 {
			switch strings.ToLower(toks[i]) {
			case "and":
			case "or":
				c.or = true
			default:
				return nil, errFilter(fmt.Sprintf("expected \"and\" or \"or\" before %q", toks[i]))
			}
			i++
		}
		if i < len(toks) && strings.ToLower(toks[i]) == "not" {
			c.not = true
			i++
		}
		if i+3 > len(toks) {
			return nil, errFilter("clause has no value")
		}
		c.field = toks[i]
		switch strings.ToLower(toks[i+1]) {
		case "eq":
		case "ne":
			c.ne = true
		default:
			return nil, errFilter(fmt.Sprintf("unknown operator %q, must be eq or ne", toks[i+1]))
		}
		c.value = toks[i+2]
		i += 3
		f.clauses = append(f.clauses, c)
	}
	return f, nil
}

// errFilter is a malformed filter as LXD 5.0.2 answers it: a 500 (Incus
// answers 400; see parseFilter's caller).
func errFilter(why string) error {
	return &apiError{http.StatusInternalServerError, "Invalid filter: " + why}
}

// filterTokens splits a filter at spaces, keeping quoted values whole.
func filterTokens(s string) ([]string, error) {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' || s[0] == '\'' {
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, errFilter(fmt.Sprintf("unterminated quote in %q", s))
			}
			out = append(out, s[1:end+1])
			s = s[end+2:]
			continue
		}
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out, nil
}

// empty reports whether the filter lets every instance through.
func (f *filter) empty() bool { return f == nil || len(f.clauses) == 0 }

// match reports whether an instance passes the filter.
func (f *filter) match(in *instanceObj) bool {
	if f == nil || len(f.clauses) == 0 {
		return true
	}
	res := false
	for i, c := range f.clauses {
		v := instanceField(in, c.field)
		m := strings.EqualFold(v, c.value)
		if c.field == "name" {
			m = v == c.value
		}
		if c.ne {
			m = !m
		}
		if c.not {
			m = !m
		}
		switch {
		case i == 0:
			res = m
		case c.or:
			res = res || m
		default:
			res = res && m
		}
	}
	return res
}

// instanceField reads a filter field of an instance; unknown fields are "".
func instanceField(in *instanceObj, field string) string {
	if k, ok := strings.CutPrefix(field, "config."); ok {
		return in.Config[k]
	}
	if k, ok := strings.CutPrefix(field, "expanded_config."); ok {
		return in.ExpandedConfig[k]
	}
	switch field {
	case "name":
		return in.Name
	case "status":
		return in.Status
	case "type":
		return in.Type
	case "location":
		return in.Location
	case "architecture":
		return in.Architecture
	case "description":
		return in.Description
	case "project":
		return in.Project
	}
	return ""
}
