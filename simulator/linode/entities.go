package linode

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/eventsim/eventsim/account"
)

// Entity routes: every path under /v4 other than the events answers from
// the account (package account), which every stored event is folded into.

// writeRoute is a write the account takes: a method on a path pattern.
type writeRoute struct {
	method  string
	pattern string
	h       handler
}

// scopeOf is the OAuth scope a path's resource needs, as the real API names
// them; values are ready-made header values.
var scopeOf = map[string][2][]string{}

func init() {
	for seg, name := range map[string]string{
		"linode": "linodes", "volumes": "volumes", "domains": "domains", "networking": "firewall",
		"nodebalancers": "nodebalancers", "images": "images", "account": "account", "profile": "account",
		"support": "account", "tags": "linodes", "longview": "longview", "managed": "account",
		"regions": "linodes", "databases": "databases", "lke": "lke", "vpcs": "vpc", "placement": "linodes",
	} {
		scopeOf[seg] = [2][]string{{name + ":read_only"}, {name + ":read_write"}}
	}
}

// entityRoute resolves a path of the account: GET reads an object or a
// list; the writes in writeRoutes change the account.
func (s *Server) entityRoute(c *call, path string) (route, error) {
	r := c.r
	c.path = path
	seg, _, _ := strings.Cut(path[1:], "/")
	sc, ok := scopeOf[seg]
	if !ok {
		return route{}, notFoundRoute(r)
	}
	c.accepted = sc[0]
	var allow []string
	for _, w := range writeRoutes {
		if !matchPattern(w.pattern, path) {
			continue
		}
		if w.method == r.Method {
			c.accepted, c.wr = sc[1], w
			return route{h: (*Server).write, write: true}, nil
		}
		allow = append(allow, w.method)
	}
	known := readable(path)
	if r.Method == http.MethodGet && known {
		return route{h: (*Server).getEntity}, nil
	}
	if known {
		allow = append([]string{http.MethodGet}, allow...)
	}
	if len(allow) > 0 {
		return route{}, methodNotAllowed(r, strings.Join(allow, ", "))
	}
	return route{}, notFoundRoute(r)
}

// write runs the write route the call resolved to.
func (s *Server) write(c *call) ([]byte, error) { return s.runWrite(c.wr.h, c) }

// readable reports whether GET on path may answer: an object or list path
// of the account, or one an event may name.
func readable(path string) bool {
	if path == "/regions" || path == "/linode/types" {
		return true
	}
	// Anything under a resource the account serves: the account decides
	// at the moment of the request whether it exists.
	return strings.Count(path, "/") >= 1
}

// matchPattern matches a path against a pattern whose "*" is one segment.
func matchPattern(pattern, path string) bool { return account.Match(pattern, path) }

// segment returns the i-th segment of path ("/a/b/c", 1 → "b").
func segment(path string, i int) string {
	segs := strings.Split(path[1:], "/")
	if i < len(segs) {
		return segs[i]
	}
	return ""
}

func notFound() error { return &apiError{kind: errNotFound, reason: "Not found"} }

// getInstance answers GET /linode/instances/{c.id} without building its
// path as a string: the fast path's read.
func (s *Server) getInstance(c *call) ([]byte, error) {
	var buf [40]byte
	p := append(buf[:0], "/linode/instances/"...)
	p = strconv.AppendInt(p, c.id, 10)
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.acct.GetBytes(p)
	if !ok {
		return nil, notFound()
	}
	return append(c.body, o.JSON()...), nil
}

// getEntity answers GET on an account path: the object there, or the page
// of the list there, or 404 when the account holds neither now.
func (s *Server) getEntity(c *call) ([]byte, error) {
	path := c.path
	switch path {
	case "/regions":
		return s.staticList(c, regionsJSON())
	case "/linode/types":
		return s.staticList(c, typesJSON())
	}
	page, size, err := pageParams(c)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if o, ok := s.acct.Get(path); ok {
		return append(c.body, o.JSON()...), nil
	}
	if strings.HasSuffix(path, "/ips") && matchPattern("/linode/instances/*/ips", path) {
		if o, ok := s.acct.Get(strings.TrimSuffix(path, "/ips")); ok && o.Kind == "linode" {
			return appendIPs(c.body, o), nil
		}
		return nil, notFound()
	}
	objs, ok := s.acct.Collection(path)
	if !ok {
		return nil, notFound()
	}
	f, err := parseEntityFilter(c.r.Header.Get("X-Filter"), account.ListFields(path))
	if err != nil {
		return nil, err
	}
	var matched []*account.Object
	if len(f.conds) == 0 && f.orderBy == "" && !f.desc {
		matched = objs
	} else {
		cand, narrowed := s.byTag(path, f)
		if narrowed {
			objs = cand
		}
		if narrowed && len(f.conds) == 1 {
			// The tag index answered the one condition exactly.
			matched = objs
			if f.orderBy != "" || f.desc {
				matched = slices.Clone(objs)
			}
		} else {
			matched = make([]*account.Object, 0, min(len(objs), 1024))
			for _, o := range objs {
				if f.match(o) {
					matched = append(matched, o)
				}
			}
		}
		f.sortObjects(matched)
	}
	return appendPage(c.body, page, size, len(matched), func(i int) []byte { return matched[i].JSON() }), nil
}

// byTag narrows a list to the objects bearing the tags a top-level tags
// condition (equality or +contains) asks for, in id order: what the cloud
// controller manager and ListInstances by tag ask. ok is false when the
// filter has no such condition.
func (s *Server) byTag(path string, f *efilter) ([]*account.Object, bool) {
	for _, c := range f.conds {
		if len(c.key) != 1 || c.key[0] != "tags" {
			continue
		}
		want, isStr := c.val.(string)
		if !isStr {
			continue
		}
		var keep func(string) bool
		switch c.op {
		case opEq:
			keep = func(t string) bool { return t == want }
		case opContains:
			low := strings.ToLower(want)
			keep = func(t string) bool { return strings.Contains(strings.ToLower(t), low) }
		default:
			continue
		}
		lists := s.acct.Tagged(path, keep)
		switch len(lists) {
		case 0:
			return nil, true
		case 1:
			return lists[0], true
		}
		var out []*account.Object
		for _, l := range lists {
			out = append(out, l...)
		}
		slices.SortFunc(out, func(a, b *account.Object) int { return account.CompareIDs(a, b) })
		return slices.Compact(out), true
	}
	return nil, false
}

// pageParams reads page and page_size as the events list does.
func pageParams(c *call) (page, size int, err error) {
	q := c.r.URL.Query()
	page, err = intParam(q.Get("page"), "page", 1, 1, 1<<31-1, "page must be an integer from 1 to 2147483647")
	if err != nil {
		return 0, 0, err
	}
	size, err = intParam(q.Get("page_size"), "page_size", 100, 25, 500, "page_size must be an integer from 25 to 500")
	return page, size, err
}

// appendPage writes one page of a list of n items, item(i) giving the i-th.
func appendPage(b []byte, page, size, n int, item func(int) []byte) []byte {
	b = append(b, `{"data":[`...)
	lo := min(n, (page-1)*size)
	hi := min(n, lo+size)
	for i := lo; i < hi; i++ {
		if i > lo {
			b = append(b, ',')
		}
		b = append(b, item(i)...)
	}
	return appendPageTail(b, page, size, n)
}

func appendPageTail(b []byte, page, size, results int) []byte {
	pages := max(1, (results+size-1)/size)
	b = append(b, `],"page":`...)
	b = strconv.AppendInt(b, int64(page), 10)
	b = append(b, `,"pages":`...)
	b = strconv.AppendInt(b, int64(pages), 10)
	b = append(b, `,"results":`...)
	b = strconv.AppendInt(b, int64(results), 10)
	return append(b, '}')
}

// staticList pages a fixed list of encoded objects.
func (s *Server) staticList(c *call, items [][]byte) ([]byte, error) {
	page, size, err := pageParams(c)
	if err != nil {
		return nil, err
	}
	return appendPage(c.body, page, size, len(items), func(i int) []byte { return items[i] }), nil
}

// appendIPs writes GET /linode/instances/{id}/ips: the Linode's addresses.
func appendIPs(b []byte, o *account.Object) []byte {
	id, _ := o.ID.(int64)
	v4, v6 := account.Addresses(id)
	region, _ := o.Fields["region"].(string)
	addr := func(a, typ, gw, mask string, prefix int) string {
		return `{"address":"` + a + `","gateway":` + gw + `,"subnet_mask":"` + mask + `","prefix":` + strconv.Itoa(prefix) +
			`,"type":"` + typ + `","public":true,"rdns":null,"linode_id":` + strconv.FormatInt(id, 10) + `,"region":"` + region + `"}`
	}
	slaac := strings.TrimSuffix(v6, "/128")
	b = append(b, `{"ipv4":{"public":[`...)
	b = append(b, addr(v4, "ipv4", `"192.0.2.254"`, "255.255.255.0", 24)...)
	b = append(b, `],"private":[],"shared":[],"reserved":[],"vpc":[]},"ipv6":{"slaac":`...)
	b = append(b, addr(slaac, "ipv6", `"fe80::1"`, "ffff:ffff:ffff:ffff::", 64)...)
	b = append(b, `,"link_local":`...)
	b = append(b, addr("fe80::1:"+strconv.FormatInt(id%65536, 16), "ipv6", `"fe80::1"`, "ffff:ffff:ffff:ffff::", 64)...)
	return append(b, `,"global":[]}}`...)
}

var regionsJSON = sync.OnceValue(func() [][]byte {
	var out [][]byte
	for _, r := range account.Regions {
		b, _ := json.Marshal(map[string]any{"id": r.ID, "label": r.Label, "country": r.Country, "status": "ok",
			"capabilities": []string{"Linodes", "NodeBalancers", "Block Storage", "Cloud Firewall"},
			"resolvers":    map[string]string{"ipv4": "192.0.2.53", "ipv6": "2001:db8::53"}, "site_type": "core"})
		out = append(out, b)
	}
	return out
})

var typesJSON = sync.OnceValue(func() [][]byte {
	var out [][]byte
	for _, t := range account.Types {
		class := "standard"
		switch {
		case strings.Contains(t.ID, "nanode"):
			class = "nanode"
		case strings.Contains(t.ID, "dedicated"):
			class = "dedicated"
		}
		b, _ := json.Marshal(map[string]any{"id": t.ID, "label": t.Label, "disk": t.Disk, "memory": t.Memory,
			"vcpus": t.VCPUs, "gpus": 0, "transfer": t.Transfer, "network_out": 1000 * t.VCPUs, "class": class,
			"price":     map[string]float64{"hourly": float64(t.Price) / 100 / 730, "monthly": float64(t.Price) / 100},
			"addons":    map[string]any{"backups": map[string]any{"price": map[string]float64{"hourly": 0.003, "monthly": 2}}},
			"successor": nil})
		out = append(out, b)
	}
	return out
})
