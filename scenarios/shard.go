package scenarios

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxShards is the most shards a dataset may be split into. Shard numbers
// go into names, ids and addresses (a network forward's listen address
// holds the shard in two octets), so they are bounded.
const MaxShards = 65536

// shardInfo says which shard of a dataset an engine plays. An engine that
// plays the whole dataset has none.
//
// A shard is a world of its own: the objects made in it are its own, named
// and numbered so that no other shard can make the same. Every name the
// engine makes up or reads from the scenario for a new object gets the
// shard's tag ("-s3"), UUIDs and fingerprints start with the shard number,
// and integer ids (Linode events and entities) are id*N+I. Objects the
// scenario says exist at the start (its projects, pools, networks,
// profiles and members, and LXD's default project and profile) exist in
// every shard, as they would on one daemon, and keep their names.
type shardInfo struct {
	i, n int
}

// shardPart checks a shard number against the count.
func shardPart(i, n int) (*shardInfo, error) {
	if n <= 1 && i == 0 {
		return nil, nil
	}
	if n < 1 || n > MaxShards {
		return nil, fmt.Errorf("invalid shard count %d, must be 1 to %d", n, MaxShards)
	}
	if i < 0 || i >= n {
		return nil, fmt.Errorf("invalid shard %d of %d, must be 0 to %d", i, n, n-1)
	}
	return &shardInfo{i: i, n: n}, nil
}

// tag returns a name made for this shard: the name with "-sI" after it.
func (s *shardInfo) tag(name string) string {
	if s == nil {
		return name
	}
	return name + "-s" + strconv.Itoa(s.i)
}

// tagDomain returns a domain name made for this shard: "sI-" before it,
// so it stays a domain name.
func (s *shardInfo) tagDomain(name string) string {
	if s == nil {
		return name
	}
	return "s" + strconv.Itoa(s.i) + "-" + name
}

// id returns an integer id made for this shard. Ids of one shard grow as
// they did, and no two shards share one.
func (s *shardInfo) id(id int64) int64 {
	if s == nil {
		return id
	}
	return id*int64(s.n) + int64(s.i)
}

// hexPrefix returns the 8 hex digits that start this shard's UUIDs and
// fingerprints, or "" when unsharded.
func (s *shardInfo) hexPrefix() string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%08x", s.i)
}

// nameArgs are the arguments that name objects a scenario may make. An
// instance's image (a remote alias) and backup (a child, unique in its
// tagged instance) are not among them.
var nameArgs = map[string]map[string]bool{
	"lxd": {
		"name": true, "to": true, "zone": true, "network": true, "pool": true, "project": true,
		"alias": true, "member": true,
	},
	"linode": {"label": true, "target": true},
}

// forShard returns a copy of the scenario's steps in which every name of an
// object the scenario makes carries the shard's tag, so the same steps make
// differently named objects in every shard. Names of objects that exist at
// the start are kept. The parsed scenario itself is not changed.
func (s *shardInfo) forShard(sc *Scenario) *Scenario {
	keep := map[string]bool{"default": true}
	for _, l := range [][]string{sc.LXD.Projects, sc.LXD.Pools, sc.LXD.Networks, sc.LXD.Profiles, sc.LXD.Members} {
		for _, n := range l {
			keep[n] = true
		}
	}
	out := *sc
	out.Steps = s.steps(sc.Steps, keep)
	return &out
}

func (s *shardInfo) steps(in []*Step, keep map[string]bool) []*Step {
	if in == nil {
		return nil
	}
	out := make([]*Step, len(in))
	for i, st := range in {
		c := *st
		c.Steps = s.steps(st.Steps, keep)
		c.Choices = s.steps(st.Choices, keep)
		if st.Tracks != nil {
			c.Tracks = make([]*Track, len(st.Tracks))
			for j, tr := range st.Tracks {
				c.Tracks[j] = &Track{Name: tr.Name, Steps: s.steps(tr.Steps, keep)}
			}
		}
		if c.Kind == StepLXD || c.Kind == StepLinode {
			c.Args = s.args(string(c.Kind), st.Args, keep)
		}
		out[i] = &c
	}
	return out
}

func (s *shardInfo) args(api string, in map[string]Arg, keep map[string]bool) map[string]Arg {
	out := make(map[string]Arg, len(in))
	for k, a := range in {
		switch v := a.Value.(type) {
		case string:
			if nameArgs[api][k] && !keep[v] {
				a.Value = s.tagGiven(v)
			}
		case map[string]any:
			if api == "lxd" && k == "names" {
				m := make(map[string]any, len(v))
				for ph, x := range v {
					if str, ok := x.(string); ok && ph != "pool" && ph != "type" && ph != "method" && !keep[str] {
						x = s.tagGiven(str)
					}
					m[ph] = x
				}
				a.Value = m
			}
		}
		out[k] = a
	}
	return out
}

// tagGiven tags a name the scenario gives, keeping a zone's domain suffix
// and a fingerprint's form.
func (s *shardInfo) tagGiven(n string) string {
	if isHex(n) && len(n) >= 16 {
		return s.hexPrefix() + n[8:]
	}
	if i := strings.IndexByte(n, '.'); i > 0 && !strings.ContainsAny(n, "/ ") {
		if isIPv4(n) {
			return s.ipv4(n[strings.LastIndexByte(n, '.')+1:])
		}
		return s.tag(n[:i]) + n[i:]
	}
	return s.tag(n)
}

// ipv4 returns the address with the given last octet in this shard's
// private /24 (10.HI.LO.x), so forwards of two shards never listen on the
// same address.
func (s *shardInfo) ipv4(last string) string {
	return fmt.Sprintf("10.%d.%d.%s", s.i>>8, s.i&0xff, last)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

func isIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 8); err != nil {
			return false
		}
	}
	return true
}
