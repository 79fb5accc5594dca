package scenarios

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
)

// mixScenario is a scenario of one mix of a single verb, past the cap of
// objects a mix keeps alive.
func mixScenario(api, verb string, count int) string {
	extra := ""
	switch verb {
	case "image.alias", "image.import":
		extra = "\n          alias: web"
	case "action":
		extra = "\n          action: instance-created"
		if api == "linode" {
			extra = "\n          action: linode_boot"
		}
	case "log":
		extra = "\n          name: hello"
	}
	return fmt.Sprintf("name: m\napi: [%s]\nsteps:\n  - mix:\n      rate: 1000/s\n      count: %d\n      verbs:\n        - %s: %s%s\n", api, count, api, verb, extra)
}

// TestMixOfEveryVerbPastItsCapEnds plays every verb alone in a mix far past
// populationCap, at a rate that keeps every object busy: the mix ends, every
// pick plays something, and the world holds no more than the cap. A Linode
// mix at its cap with every object busy used to create and delete forever,
// recursing until the stack overflowed (issue 13).
func TestMixOfEveryVerbPastItsCapEnds(t *testing.T) {
	const many = 120 // 2.5 times populationCap
	for _, api := range []string{"lxd", "linode"} {
		verbs := LXDVerbs
		if api == "linode" {
			verbs = LinodeVerbs
		}
		for _, verb := range sortedKeys(verbs) {
			t.Run(api+"/"+verb, func(t *testing.T) {
				count := many
				if verb == "tour" {
					count = 3 // a tour plays the whole catalogue
				}
				s, err := Parse("mix.yaml", []byte(mixScenario(api, verb, count)))
				if err != nil {
					t.Fatal(err)
				}
				e, err := New(s, Options{})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for ; ; n++ {
					if _, err := e.Next(); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						t.Fatal(err)
					}
					if n > 10_000*count {
						t.Fatalf("more than %d records for %d verbs", n, count)
					}
				}
				if n < count {
					t.Errorf("%d records for a mix of %d verbs: some picks played nothing", n, count)
				}
				for kind, objs := range e.linode.objs {
					if len(objs.list) > populationCap {
						t.Errorf("the world keeps %d Linode %ss, more than the cap of %d", len(objs.list), kind, populationCap)
					}
					for _, x := range objs.list {
						if len(x.diskIDs) > populationCap {
							t.Errorf("%s %s keeps %d disks, more than the cap of %d", kind, x.label, len(x.diskIDs), populationCap)
						}
					}
				}
				var over []string
				for kind, r := range e.lxd.objs {
					if len(r.list) > populationCap+8 { // +8: what the scenario starts with
						over = append(over, fmt.Sprintf("%s: %d", kind, len(r.list)))
					}
				}
				sort.Strings(over)
				if len(over) > 0 {
					t.Errorf("the world keeps more LXD objects than the cap of %d: %s", populationCap, strings.Join(over, ", "))
				}
			})
		}
	}
}

// TestProjectNumberingChangesNothing plays a mix acting on instances,
// volumes and profiles in two projects while projects come and go, once as
// usual and once with the pick filter's project numbering started again at
// every name it has not seen: the events are the same bytes.
func TestProjectNumberingChangesNothing(t *testing.T) {
	const src = `name: projects
api: lxd
lxd:
  projects: [default, team-a]
steps:
  - mix:
      rate: 500/s
      count: 3000
      verbs:
        - lxd: project.create
        - lxd: project.delete
        - lxd: instance.create
          project: team-a
          weight: 2
        - lxd: instance.start
          project: team-a
          weight: 2
        - lxd: instance.stop
          project: team-a
        - lxd: instance.create
          weight: 2
        - lxd: instance.start
          weight: 2
        - lxd: instance.snapshot
          project: team-a
        - lxd: storage-volume.create
          project: team-a
        - lxd: storage-volume.snapshot
          project: team-a
`
	play := func(limit int) []string {
		s, err := Parse("projects.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if limit > 0 {
			e.lxd.ids.limit = limit
		}
		var out []string
		for {
			r, err := e.Next()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(r.JSON))
		}
	}
	want := play(0)
	got := play(1)
	if len(got) != len(want) {
		t.Fatalf("renumbering at every new name: %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("renumbering at every new name: event %d is\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
}
