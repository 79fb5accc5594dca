package account

import (
	"strconv"
	"strings"
	"time"
)

// objectPatterns say what kind of object a path holds; "*" is one segment.
var objectPatterns = []struct{ pattern, kind string }{
	{"/linode/instances/*", "linode"},
	{"/linode/instances/*/disks/*", "disk"},
	{"/linode/instances/*/configs/*", "config"},
	{"/linode/stackscripts/*", "stackscript"},
	{"/volumes/*", "volume"},
	{"/domains/*", "domain"},
	{"/domains/*/records/*", "record"},
	{"/networking/firewalls/*", "firewall"},
	{"/networking/firewalls/*/devices/*", "device"},
	{"/nodebalancers/*", "nodebalancer"},
	{"/nodebalancers/*/configs/*", "nodebalancer_config"},
	{"/nodebalancers/*/configs/*/nodes/*", "nodebalancer_node"},
	{"/images/*", "image"},
	{"/images/*/*", "image"},
	{"/account/users/*", "user"},
	{"/account/oauth-clients/*", "oauth_client"},
	{"/profile/tokens/*", "token"},
	{"/profile/sshkeys/*", "sshkey"},
	{"/support/tickets/*", "ticket"},
	{"/tags/*", "tag"},
	{"/longview/clients/*", "longview"},
	{"/managed/services/*", "managed_service"},
	{"/account", "account"},
	{"/profile", "profile"},
}

// listPatterns are the collections the fake serves as paginated lists.
var listPatterns = []string{
	"/linode/instances", "/linode/instances/*/disks", "/linode/instances/*/configs",
	"/linode/stackscripts", "/volumes", "/domains", "/domains/*/records",
	"/networking/firewalls", "/networking/firewalls/*/devices",
	"/nodebalancers", "/nodebalancers/*/configs", "/nodebalancers/*/configs/*/nodes",
	"/images", "/account/users", "/account/oauth-clients", "/profile/tokens",
	"/profile/sshkeys", "/support/tickets", "/tags", "/longview/clients", "/managed/services",
}

// listSegments are last segments that make an event-named URL a list, not
// an object (/v4/nodebalancers/1/configs/2/nodes, /v4/networking/vlans).
var listSegments = map[string]bool{"nodes": true, "vlans": true, "pools": true}

// Match matches a path against a pattern whose "*" stands for one segment.
func Match(pattern, path string) bool { return match(pattern, path) }

func match(pattern, path string) bool {
	for {
		pi := strings.IndexByte(pattern[1:], '/') + 1
		qi := strings.IndexByte(path[1:], '/') + 1
		if pi == 0 {
			pi = len(pattern)
		}
		if qi == 0 {
			qi = len(path)
		}
		ps, qs := pattern[1:pi], path[1:qi]
		if qs == "" || ps != "*" && ps != qs {
			return false
		}
		pattern, path = pattern[pi:], path[qi:]
		if pattern == "" || path == "" {
			return pattern == "" && path == ""
		}
	}
}

// kindOf says what a path holds: an object's kind ("" when unknown), or a list.
func kindOf(path string) (kind string, list bool) {
	if _, ok := listPattern(path); ok {
		return "", true
	}
	for _, p := range objectPatterns {
		if match(p.pattern, path) {
			return p.kind, false
		}
	}
	last := path[strings.LastIndexByte(path, '/')+1:]
	return "", listSegments[last]
}

// listPattern returns the list pattern path matches.
func listPattern(path string) (string, bool) {
	for _, p := range listPatterns {
		if match(p, path) {
			return p, true
		}
	}
	return "", false
}

// collectionOf is the list an object appears in: its parent path (images
// are all listed at /images); "" for the account and profile.
func collectionOf(path, kind string) string {
	switch kind {
	case "account", "profile":
		return ""
	case "image":
		return "/images"
	}
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		return path[:i]
	}
	return ""
}

// kindPath is where an object of kind with id n lives, for the top-level
// kinds REST writes create.
func kindPath(kind string, n int64) string {
	id := strconv.FormatInt(n, 10)
	switch kind {
	case "linode":
		return "/linode/instances/" + id
	case "volume":
		return "/volumes/" + id
	case "domain":
		return "/domains/" + id
	case "firewall":
		return "/networking/firewalls/" + id
	case "nodebalancer":
		return "/nodebalancers/" + id
	}
	return "/" + kind + "/" + id // nested kinds: ids are only kept apart
}

// restIDBase is where ids of entities made by REST writes start: 10 million
// above where the scenario engine's start, so that the two never meet.
func restIDBase(kind string) int64 {
	base := map[string]int64{
		"linode": 41000000, "volume": 512000, "domain": 2100000, "firewall": 310000, "nodebalancer": 120000,
		"config": 45000000, "disk": 88000000, "record": 30000000, "device": 11900000,
		"nodebalancer_config": 2450000, "nodebalancer_node": 5400000,
	}[kind]
	if base == 0 {
		base = 1000
	}
	return base + 10_000_000
}

// listKinds is the kind of object each list holds.
var listKinds = map[string]string{
	"/linode/instances": "linode", "/linode/instances/*/disks": "disk", "/linode/instances/*/configs": "config",
	"/linode/stackscripts": "stackscript", "/volumes": "volume", "/domains": "domain", "/domains/*/records": "record",
	"/networking/firewalls": "firewall", "/networking/firewalls/*/devices": "device", "/nodebalancers": "nodebalancer",
	"/nodebalancers/*/configs": "nodebalancer_config", "/nodebalancers/*/configs/*/nodes": "nodebalancer_node",
	"/images": "image", "/account/users": "user", "/account/oauth-clients": "oauth_client", "/profile/tokens": "token",
	"/profile/sshkeys": "sshkey", "/support/tickets": "ticket", "/tags": "tag", "/longview/clients": "longview",
	"/managed/services": "managed_service",
}

// ListFields returns the fields of the objects the list at path holds (for
// checking X-Filter keys); nil when the list's kind is not known.
func ListFields(path string) map[string]any {
	if strings.HasPrefix(path, "/linode/instances/") && strings.HasSuffix(path, "/volumes") {
		return sampleFields("volume")
	}
	p, ok := listPattern(path)
	if !ok {
		return nil
	}
	return sampleFields(listKinds[p])
}

var samples = map[string]map[string]any{}

func sampleFields(kind string) map[string]any {
	if s, ok := samples[kind]; ok {
		return s
	}
	return nil
}

func init() {
	for _, k := range listKinds {
		samples[k] = shape(k, int64(1), "x", "/x/1", time.Time{})
	}
	samples["volume"] = shape("volume", int64(1), "x", "/x/1", time.Time{})
}
