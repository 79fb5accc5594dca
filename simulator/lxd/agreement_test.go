package lxd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/scenarios"
)

// State agreement: while a built-in scenario plays, at speed 0 and at speed
// 10, a listener GETs the source of every lifecycle event it receives; the
// object must exist exactly when the stream says it does. The stream's word
// is read here naively, from action names and sources alone.

// checkedSource matches the sources whose objects the fake lists: the
// check GETs them. (A 5.0.2 custom volume's source names it PROJECT_NAME,
// which real LXD does not answer either; volumes are left out.)
var checkedSource = regexp.MustCompile(`^/1\.0/(instances/[^/?]+(/(snapshots|backups)/[^/?]+)?|images/(aliases/)?[^/?]+|networks/[^/?]+|network-acls/[^/?]+|network-zones/[^/?]+|warnings/[^/?]+|certificates/[^/?]+|profiles/[^/?]+|projects/[^/?]+)(\?project=[^&]+)?$`)

// streamSays tracks which sources exist by the stream's word.
type streamSays map[string]bool

func (m streamSays) clone() streamSays {
	c := make(streamSays, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// split separates a source into its path and its project query.
func split(src string) (path, query string) {
	p, q, _ := strings.Cut(src, "?")
	return p, q
}

// apply reads one lifecycle event; it returns the source it is about and
// whether the stream now says it exists.
func (m streamSays) apply(action, source, oldName string) (string, bool, bool) {
	path, query := split(source)
	key := func(p string) string {
		if query != "" {
			return p + "?" + query
		}
		return p
	}
	removeTree := func(p string) {
		for k := range m {
			kp, kq := split(k)
			if kq == query && (kp == p || strings.HasPrefix(kp, p+"/")) {
				delete(m, k)
			}
		}
	}
	switch {
	case strings.HasSuffix(action, "-deleted"), strings.HasSuffix(action, "-removed"):
		removeTree(path)
		if strings.HasPrefix(action, "project-") {
			name := strings.TrimPrefix(path, "/1.0/projects/")
			for k := range m {
				if _, q := split(k); q == "project="+url.QueryEscape(name) {
					delete(m, k)
				}
			}
		}
		return key(path), false, true
	case strings.HasSuffix(action, "-renamed") && oldName != "" && strings.HasPrefix(action, "project-"):
	case strings.HasSuffix(action, "-renamed") && oldName != "":
		i := strings.LastIndexByte(path, '/')
		old := path[:i+1] + url.PathEscape(oldName)
		for k, v := range m {
			kp, kq := split(k)
			if kq == query && (kp == old || strings.HasPrefix(kp, old+"/")) {
				delete(m, k)
				m[key(path+strings.TrimPrefix(kp, old))] = v
			}
		}
	}
	if strings.HasPrefix(action, "project-") && strings.HasSuffix(action, "-renamed") {
		// The project's objects move with it; the test does not follow
		// them, so it forgets them.
		delete(m, "/1.0/projects/"+url.PathEscape(oldName))
		for k := range m {
			if _, q := split(k); q == "project="+url.QueryEscape(oldName) {
				delete(m, k)
			}
		}
	}
	m[key(path)] = true
	// Its parents exist too.
	for p := path; ; {
		i := strings.LastIndexByte(p, '/')
		if i <= len("/1.0/instances") {
			break
		}
		p = p[:i]
		if i := strings.LastIndexByte(p, '/'); i > 0 && (strings.HasSuffix(p[:i], "/snapshots") || strings.HasSuffix(p[:i], "/backups")) {
			continue
		}
		if strings.Count(p, "/") == 3 && strings.HasPrefix(p, "/1.0/instances/") {
			m[key(p)] = true
		}
	}
	return key(path), true, true
}

// untracked are the actions that say nothing about their source object.
func untracked(action string) bool {
	for _, p := range []string{"instance-log-", "instance-metadata-", "config-", "cluster-token-", "operation-", "storage-volume", "cluster-", "storage-", "image-secret-"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

type observation struct {
	index  int // of the lifecycle event
	source string
	exists bool // by GET
}

func TestStateAgreement(t *testing.T) {
	for _, name := range []string{"demo", "lxd-catalogue-tour", "lxd-cluster", "lxd-instance-lifecycle", "lxd-projects", "lxd-steady"} {
		for _, speed := range []float64{0, 10} {
			t.Run(fmt.Sprintf("%s/speed=%g", name, speed), func(t *testing.T) {
				t.Parallel()
				agreement(t, name, speed)
			})
		}
	}
}

func agreement(t *testing.T, name string, speed float64) {
	sc, err := scenarios.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{Members: sc.LXD.Members, Projects: sc.LXD.Projects, Pools: sc.LXD.Pools, Profiles: sc.LXD.Profiles, Backpressure: speed == 0})
	c := dial(t, s, "type=lifecycle&all-projects=true")
	e, err := scenarios.New(sc, scenarios.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const maxLifecycle = 300
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	go func() {
		// The player: each record at its time divided by speed, or as fast
		// as the listener takes them.
		var start, first time.Time
		n := 0
		for ctx.Err() == nil && n < maxLifecycle {
			r, err := e.Next()
			if err == io.EOF {
				return
			}
			if err != nil || r.API != "lxd" || r.Fault != nil {
				continue
			}
			if speed > 0 {
				if start.IsZero() {
					start, first = time.Now(), r.Time
				}
				if d := time.Until(start.Add(time.Duration(float64(r.Time.Sub(first)) / speed))); d > 0 {
					time.Sleep(min(d, 200*time.Millisecond)) // long waits are cut short
				}
			}
			if r.Type == "lifecycle" {
				n++
			}
			if s.Deliver(ctx, r) != nil {
				return
			}
		}
	}()

	hc := &http.Client{Timeout: 5 * time.Second}
	says := streamSays{}
	var stream []streamSays // the stream's word after each event
	var obs []observation
	timeout := time.Now().Add(8 * time.Second)
	type lifecycle struct {
		Metadata struct {
			Action  string         `json:"action"`
			Source  string         `json:"source"`
			Context map[string]any `json:"context"`
		} `json:"metadata"`
	}
	// next reads the next event and folds it into says; src is its
	// source when it is one the test checks.
	next := func(wait time.Duration) (src string, checked, ok bool) {
		c.SetReadDeadline(time.Now().Add(wait))
		_, b, err := c.ReadMessage()
		if err != nil {
			return "", false, false // the scenario ended or time is up
		}
		var ev lifecycle
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		m := ev.Metadata
		old, _ := m.Context["old_name"].(string)
		if untracked(m.Action) || !checkedSource.MatchString(m.Source) {
			stream = append(stream, says.clone())
			return "", false, true
		}
		src, _, _ = says.apply(m.Action, m.Source, old)
		stream = append(stream, says.clone())
		return src, true, true
	}
	for i := 0; i < maxLifecycle && time.Now().Before(timeout); i++ {
		src, checked, ok := next(2 * time.Second)
		if !ok {
			break
		}
		if !checked {
			continue
		}
		resp, err := hc.Get(s.URL() + src)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 404 {
			t.Fatalf("GET %s after event %d: %d", src, i, resp.StatusCode)
		}
		obs = append(obs, observation{i, src, resp.StatusCode == 200})
	}
	// A GET may have answered the state of an event the listener had not
	// read yet: read on, without asking, so that its word is in stream.
	for {
		if _, _, ok := next(2 * time.Second); !ok {
			break
		}
	}
	if len(obs) < 3 {
		t.Fatalf("only %d lifecycle events with a checkable source", len(obs))
	}
	// A GET answers the state at its event, or a later one: the player
	// may have moved on while the listener asked.
	exact := 0
	for _, o := range obs {
		if stream[o.index][o.source] == o.exists {
			exact++
			continue
		}
		later := false
		for _, l := range stream[o.index+1:] {
			if l[o.source] == o.exists {
				later = true
				break
			}
		}
		if !later {
			t.Errorf("GET %s after event %d answered exists=%v; the stream never says so from that event on", o.source, o.index, o.exists)
		}
	}
	t.Logf("%d GETs, %d agreeing with the stream at their event", len(obs), exact)
}
