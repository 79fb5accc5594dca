package lxd

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEveryRouteIsDocumented holds docs/lxd-server.md to the routes the
// server registers: every "METHOD /1.0/…" pattern in http.go has a row in
// one of the document's tables whose first cell names the method and the
// path (placeholders such as NAME for {name}; "[/NAME]" for an optional
// segment; "…/x/NAME" for a path under the row's section).
func TestEveryRouteIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/lxd-server.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := documentedRoutes(string(doc))
	if len(documented) < 50 {
		t.Fatalf("read %d documented routes from docs/lxd-server.md; the table format changed?", len(documented))
	}
	routes := registeredRoutes(t, "http.go")
	if len(routes) < 50 {
		t.Fatalf("found %d route patterns in http.go; the route table moved?", len(routes))
	}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		if path == "/1.0/events" {
			continue // the stream has its own section
		}
		segs := strings.Split(strings.Trim(path, "/"), "/")
		for i, s := range segs {
			if strings.HasPrefix(s, "{") {
				segs[i] = "*"
			}
		}
		found := false
		for _, d := range documented {
			if d.methods[method] && d.matches(segs) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s is served but docs/lxd-server.md has no row for it (its answer and its events)", rt)
		}
	}
}

// docRoute is one request a table row names.
type docRoute struct {
	methods map[string]bool
	segs    []string // "*" for a placeholder
	suffix  bool     // written "…/a/b": matches a path ending so
}

func (d docRoute) matches(segs []string) bool {
	if d.suffix {
		if len(segs) < len(d.segs) {
			return false
		}
		segs = segs[len(segs)-len(d.segs):]
	} else if len(segs) != len(d.segs) {
		return false
	}
	for i, s := range segs {
		// A served placeholder may be documented by an example value
		// (volumes/{type} as volumes/custom); a documented placeholder
		// stands for placeholders only.
		if s != "*" && d.segs[i] != s {
			return false
		}
	}
	return true
}

var (
	backticks   = regexp.MustCompile("`([^`]*)`")
	methodOnly  = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE)$`)
	methodPath  = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) (/1\.0\S*|…\S*)`)
	barePath    = regexp.MustCompile(`^(/1\.0|…)/\S*`)
	placeholder = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	optional    = regexp.MustCompile(`\[(/[^\]]*)\]`)
)

// documentedRoutes reads the first cell of every table row.
func documentedRoutes(doc string) []docRoute {
	var out []docRoute
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cell, _, _ := strings.Cut(line[2:], " | ")
		var pending []string
		var methods map[string]bool // a bare path ("`…/backups`") takes the cell's last methods
		for _, m := range backticks.FindAllStringSubmatch(cell, -1) {
			span := m[1]
			if methodOnly.MatchString(span) {
				pending = append(pending, span)
				continue
			}
			path := ""
			if mp := methodPath.FindStringSubmatch(span); mp != nil {
				methods = map[string]bool{mp[1]: true}
				for _, p := range pending {
					methods[p] = true
				}
				pending, path = nil, mp[2]
			} else if bare := barePath.FindString(span); bare != "" && methods != nil {
				path = bare
			} else {
				continue
			}
			if i := strings.Index(path, "[?"); i >= 0 {
				path = path[:i]
			}
			path, _, _ = strings.Cut(path, "?")
			for _, p := range expandOptional(path) {
				d := docRoute{methods: methods}
				if rest, ok := strings.CutPrefix(p, "…"); ok {
					d.suffix, p = true, rest
				}
				for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
					if placeholder.MatchString(s) {
						s = "*"
					}
					d.segs = append(d.segs, s)
				}
				out = append(out, d)
			}
		}
	}
	return out
}

// expandOptional gives every path "a[/B][/C]" stands for.
func expandOptional(p string) []string {
	loc := optional.FindStringSubmatchIndex(p)
	if loc == nil {
		return []string{p}
	}
	var out []string
	for _, rest := range expandOptional(p[loc[1]:]) {
		out = append(out, p[:loc[0]]+rest, p[:loc[0]]+p[loc[2]:loc[3]]+rest)
	}
	return out
}

// registeredRoutes is every "METHOD /1.0/…" string literal in the file:
// the server's route table.
func registeredRoutes(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) /1\.0/\S+$`)
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil && pattern.MatchString(s) && !strings.HasSuffix(s, "{$}") {
				out = append(out, s)
			}
		}
		return true
	})
	return out
}
