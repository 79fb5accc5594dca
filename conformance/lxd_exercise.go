package conformance

import (
	"context"
	"encoding/json"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
)

var exerciseNames = map[string]string{
	IDExerciseProfile: "a profile created, updated, renamed and deleted gives exactly its lifecycle events",
	IDExerciseProject: "a project created, renamed and deleted gives exactly its lifecycle and operation events",
	IDExerciseVolume:  "a custom volume and its snapshot give exactly their lifecycle and operation events",
	IDExerciseInstance: "an empty instance created, snapshotted, renamed and deleted gives exactly its lifecycle and operation events, " +
		"and its REST API agrees with each: after -created its source answers 200, after -renamed the old name 404, after -deleted 404",
}

// expectLC is one lifecycle event an exercise step must cause.
type expectLC struct {
	action  string
	sources []string // any of these
	oldName string
	project string // "" = do not check
}

// exGroup is one exercise check: its requests, and what they must cause.
type exGroup struct {
	rec   *recorder
	lcs   []expectLC
	ops   []string // operation ids returned by async requests
	opDsc map[string]string
}

type exercise struct {
	token  string
	groups []*exGroup
}

// request sends one exercise request; a failed one is a finding of the group.
// It waits for an async operation to finish and records its id.
func (r *lxdRun) request(ctx context.Context, g *exGroup, method, p string, body any, wantAction string) bool {
	x, err := r.c.do(ctx, method, p, body, nil)
	return r.finishRequest(ctx, g, x, err, method, p, wantAction)
}

// finishRequest judges a request's answer and waits for its operation.
func (r *lxdRun) finishRequest(ctx context.Context, g *exGroup, x *httpExchange, err error, method, p, wantAction string) bool {
	if err != nil {
		g.rec.fail(nil, "%s %s: %v", method, p, err)
		return false
	}
	if x.status < 200 || x.status > 299 {
		g.rec.fail(x.subject(method, p), "%s %s answered %d", method, p, x.status)
		return false
	}
	if x.env.Type == "async" && x.env.Operation != "" {
		id := path.Base(strings.SplitN(x.env.Operation, "?", 2)[0])
		g.ops = append(g.ops, id)
		if a := r.cat().Action(wantAction); a != nil && a.Operation != "" {
			g.opDsc[id] = a.Operation
		}
		w, err := r.c.do(ctx, "GET", "/1.0/operations/"+id+"/wait?timeout=30", nil, nil)
		if err != nil {
			g.rec.fail(nil, "wait for operation %s: %v", id, err)
			return false
		}
		if w.status != 200 {
			g.rec.fail(w.subject("GET", "/1.0/operations/"+id+"/wait"), "waiting for operation %s answered %d", id, w.status)
			return false
		}
	}
	return true
}

func (r *lxdRun) cat() *catalog.LXDCatalog {
	c, err := catalog.LXD(r.o.Flavor)
	if err != nil {
		return catalog.MustLXD(catalog.DefaultFlavor)
	}
	return c
}

// src builds the source of an action for names in the run's project.
func (r *lxdRun) src(action string, names map[string]string, project string) string {
	a := r.cat().Action(action)
	if a == nil {
		return ""
	}
	return a.SourcePath(names, project)
}

func (r *lxdRun) runExercise(ctx context.Context, all *listener) *exercise {
	token := randomToken()
	ex := &exercise{token: token}
	p := r.o.Project
	pq := ""
	if p != "default" {
		pq = "?project=" + url.QueryEscape(p)
	}
	// Clean-up uses its own context so a cancelled run still removes what it made.
	cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	newGroup := func(id string) *exGroup {
		g := &exGroup{rec: newRecorder(id, exerciseNames[id]), opDsc: map[string]string{}}
		ex.groups = append(ex.groups, g)
		return g
	}

	// Profile: created, updated, renamed, deleted.
	g := newGroup(IDExerciseProfile)
	prof, prof2 := "eventsim-conform-"+token, "eventsim-conform-"+token+"-renamed"
	func() {
		live := "" // the profile that exists now, removed on the way out
		defer func() {
			if live != "" {
				_, _ = r.c.do(cleanCtx, "DELETE", "/1.0/profiles/"+live+pq, nil, nil)
			}
		}()
		if !r.request(ctx, g, "POST", "/1.0/profiles"+pq, map[string]any{"name": prof, "description": "eventsim conformance", "config": map[string]string{}, "devices": map[string]any{}}, "profile-created") {
			return
		}
		live = prof
		g.lcs = append(g.lcs, expectLC{action: "profile-created", sources: []string{r.src("profile-created", map[string]string{"name": prof}, p)}, project: p})
		if r.request(ctx, g, "PUT", "/1.0/profiles/"+prof+pq, map[string]any{"description": "eventsim conformance, updated", "config": map[string]string{}, "devices": map[string]any{}}, "profile-updated") {
			g.lcs = append(g.lcs, expectLC{action: "profile-updated", sources: []string{r.src("profile-updated", map[string]string{"name": prof}, p)}, project: p})
		}
		if r.request(ctx, g, "POST", "/1.0/profiles/"+prof+pq, map[string]any{"name": prof2}, "profile-renamed") {
			g.lcs = append(g.lcs, expectLC{action: "profile-renamed", sources: []string{r.src("profile-renamed", map[string]string{"name": prof2}, p)}, oldName: prof, project: p})
			live = prof2
		}
		if r.request(ctx, g, "DELETE", "/1.0/profiles/"+live+pq, nil, "profile-deleted") {
			g.lcs = append(g.lcs, expectLC{action: "profile-deleted", sources: []string{r.src("profile-deleted", map[string]string{"name": live}, p)}, project: p})
			live = ""
		}
	}()

	// Project: created, renamed (an operation without a project), deleted.
	g = newGroup(IDExerciseProject)
	pj, pj2 := "eventsim-conform-"+token, "eventsim-conform-"+token+"-renamed"
	func() {
		live := ""
		defer func() {
			if live != "" {
				_, _ = r.c.do(cleanCtx, "DELETE", "/1.0/projects/"+live, nil, nil)
			}
		}()
		if !r.request(ctx, g, "POST", "/1.0/projects", map[string]any{"name": pj, "description": "eventsim conformance", "config": map[string]string{}}, "project-created") {
			return
		}
		live = pj
		g.lcs = append(g.lcs, expectLC{action: "project-created", sources: []string{r.src("project-created", map[string]string{"name": pj}, "")}})
		if r.request(ctx, g, "POST", "/1.0/projects/"+pj, map[string]any{"name": pj2}, "project-renamed") {
			g.lcs = append(g.lcs, expectLC{action: "project-renamed", sources: []string{r.src("project-renamed", map[string]string{"name": pj2}, "")}, oldName: pj})
			live = pj2
		}
		if r.request(ctx, g, "DELETE", "/1.0/projects/"+live, nil, "project-deleted") {
			g.lcs = append(g.lcs, expectLC{action: "project-deleted", sources: []string{r.src("project-deleted", map[string]string{"name": live}, "")}})
			live = ""
		}
	}()

	// Storage volume and snapshot, when a pool exists.
	g = newGroup(IDExerciseVolume)
	pool := r.firstPool(ctx)
	if pool == "" {
		g.rec.skip("the target has no storage pool")
	} else {
		vol := "eventsim-conform-" + token
		volNames := func(snap string) []map[string]string {
			base := map[string]string{"pool": pool, "type": "custom", "name": vol, "volume": vol}
			pre := map[string]string{"pool": pool, "type": "custom", "name": p + "_" + vol, "volume": p + "_" + vol}
			if snap != "" {
				base["name"], pre["name"] = snap, snap
			}
			return []map[string]string{base, pre}
		}
		srcs := func(action, snap string) []string {
			var out []string
			for _, n := range volNames(snap) {
				out = append(out, r.src(action, n, p))
			}
			return out
		}
		vp := "/1.0/storage-pools/" + url.PathEscape(pool) + "/volumes/custom"
		func() {
			volLive, snapLive := false, false
			defer func() {
				if snapLive {
					_, _ = r.c.do(cleanCtx, "DELETE", vp+"/"+vol+"/snapshots/snap0"+pq, nil, nil)
				}
				if volLive {
					_, _ = r.c.do(cleanCtx, "DELETE", vp+"/"+vol+pq, nil, nil)
				}
			}()
			if !r.request(ctx, g, "POST", vp+pq, map[string]any{"name": vol, "type": "custom", "config": map[string]string{}}, "storage-volume-created") {
				return
			}
			volLive = true
			g.lcs = append(g.lcs, expectLC{action: "storage-volume-created", sources: srcs("storage-volume-created", ""), project: p})
			if r.request(ctx, g, "POST", vp+"/"+vol+"/snapshots"+pq, map[string]any{"name": "snap0"}, "storage-volume-snapshot-created") {
				snapLive = true
				g.lcs = append(g.lcs, expectLC{action: "storage-volume-snapshot-created", sources: srcs("storage-volume-snapshot-created", "snap0"), project: p})
				if r.request(ctx, g, "DELETE", vp+"/"+vol+"/snapshots/snap0"+pq, nil, "storage-volume-snapshot-deleted") {
					snapLive = false
					g.lcs = append(g.lcs, expectLC{action: "storage-volume-snapshot-deleted", sources: srcs("storage-volume-snapshot-deleted", "snap0"), project: p})
				}
			}
			if r.request(ctx, g, "DELETE", vp+"/"+vol+pq, nil, "storage-volume-deleted") {
				volLive = false
				g.lcs = append(g.lcs, expectLC{action: "storage-volume-deleted", sources: srcs("storage-volume-deleted", ""), project: p})
			}
		}()
	}

	// Instance: created empty, snapshotted, renamed, snapshot and instance
	// deleted; after each step its REST state must agree with the event.
	g = newGroup(IDExerciseInstance)
	if pool == "" {
		g.rec.skip("the target has no storage pool")
	} else {
		r.exerciseInstance(ctx, cleanCtx, g, token, pool)
	}

	// Wait until every expected event arrived, or 5 s.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		fs, _ := all.snapshot()
		if ex.missing(parseFrames(fs)) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ex
}

// exerciseInstance runs the instance exercise: each step's lifecycle
// event is expected, and the object's REST state is checked after it.
func (r *lxdRun) exerciseInstance(ctx, cleanCtx context.Context, g *exGroup, token, pool string) {
	p := r.o.Project
	pq := ""
	if p != "default" {
		pq = "?project=" + url.QueryEscape(p)
	}
	in, in2 := "eventsim-conform-"+token, "eventsim-conform-"+token+"-renamed"
	inst := func(name string) string { return "/1.0/instances/" + url.PathEscape(name) }
	live, snapLive := "", false
	defer func() {
		if snapLive {
			_, _ = r.c.do(cleanCtx, "DELETE", inst(live)+"/snapshots/snap0"+pq, nil, nil)
		}
		if live != "" {
			_, _ = r.c.do(cleanCtx, "DELETE", inst(live)+pq, nil, nil)
		}
	}()
	// state checks that a GET of path answers want.
	state := func(step, path string, want int) {
		g.rec.checked++
		x, err := r.c.do(ctx, "GET", path, nil, nil)
		switch {
		case err != nil:
			g.rec.fail(nil, "after %s, GET %s: %v", step, path, err)
		case x.status != want:
			g.rec.fail(x.subject("GET", path), "after %s, GET %s answered %d; the stream says it should answer %d", step, path, x.status, want)
		}
	}
	body := map[string]any{"name": in, "source": map[string]any{"type": "none"},
		"devices": map[string]any{"root": map[string]string{"type": "disk", "path": "/", "pool": pool}}}
	x, err := r.c.do(ctx, "POST", "/1.0/instances"+pq, body, nil)
	if err == nil && (x.status == 404 || x.status == 501) {
		g.rec.skip("the target does not create instances (POST /1.0/instances answered %d)", x.status)
		return
	}
	if !r.finishRequest(ctx, g, x, err, "POST", "/1.0/instances"+pq, "instance-created") {
		return
	}
	live = in
	names := func(name string) map[string]string { return map[string]string{"name": name} }
	g.lcs = append(g.lcs, expectLC{action: "instance-created", sources: []string{r.src("instance-created", names(in), p)}, project: p})
	state("instance-created", inst(in)+pq, 200)
	if r.request(ctx, g, "POST", inst(in)+"/snapshots"+pq, map[string]any{"name": "snap0"}, "instance-snapshot-created") {
		snapLive = true
		g.lcs = append(g.lcs, expectLC{action: "instance-snapshot-created", sources: []string{r.src("instance-snapshot-created", map[string]string{"instance": in, "name": "snap0"}, p)}, project: p})
		state("instance-snapshot-created", inst(in)+"/snapshots/snap0"+pq, 200)
	}
	if r.request(ctx, g, "POST", inst(in)+pq, map[string]any{"name": in2}, "instance-renamed") {
		live = in2
		g.lcs = append(g.lcs, expectLC{action: "instance-renamed", sources: []string{r.src("instance-renamed", names(in2), p)}, oldName: in, project: p})
		state("instance-renamed", inst(in)+pq, 404)
		state("instance-renamed", inst(in2)+pq, 200)
	}
	if snapLive && r.request(ctx, g, "DELETE", inst(live)+"/snapshots/snap0"+pq, nil, "instance-snapshot-deleted") {
		snapLive = false
		g.lcs = append(g.lcs, expectLC{action: "instance-snapshot-deleted", sources: []string{r.src("instance-snapshot-deleted", map[string]string{"instance": live, "name": "snap0"}, p)}, project: p})
		state("instance-snapshot-deleted", inst(live)+"/snapshots/snap0"+pq, 404)
	}
	if r.request(ctx, g, "DELETE", inst(live)+pq, nil, "instance-deleted") {
		g.lcs = append(g.lcs, expectLC{action: "instance-deleted", sources: []string{r.src("instance-deleted", names(live), p)}, project: p})
		state("instance-deleted", inst(live)+pq, 404)
		live = ""
	}
}

func (r *lxdRun) firstPool(ctx context.Context) string {
	q := ""
	if r.o.Project != "default" {
		q = "?project=" + url.QueryEscape(r.o.Project)
	}
	x, err := r.c.do(ctx, "GET", "/1.0/storage-pools"+q, nil, nil)
	if err != nil || x.status != 200 {
		return ""
	}
	var urls []string
	if json.Unmarshal(x.env.Metadata, &urls) != nil || len(urls) == 0 {
		return ""
	}
	sort.Strings(urls)
	name, _ := url.PathUnescape(path.Base(urls[0]))
	return name
}

func lcMatches(e evInfo, want expectLC) bool {
	if e.typ != events.LXDTypeLifecycle {
		return false
	}
	if a, _ := e.md["action"].(string); a != want.action {
		return false
	}
	src, _ := e.md["source"].(string)
	for _, s := range want.sources {
		if s == src {
			return true
		}
	}
	return false
}

// missing counts expected lifecycle and operation events not yet seen.
func (ex *exercise) missing(all []evInfo) int {
	n := 0
	for _, g := range ex.groups {
		for _, w := range g.lcs {
			found := false
			for _, e := range all {
				found = found || lcMatches(e, w)
			}
			if !found {
				n++
			}
		}
		for _, id := range g.ops {
			final := false
			for _, e := range all {
				if e.typ == events.LXDTypeOperation && e.md["id"] == id {
					c, _ := e.md["status_code"].(float64)
					final = final || events.OpFinal(int(c))
				}
			}
			if !final {
				n++
			}
		}
	}
	return n
}

func (r *lxdRun) judgeExercise(ex *exercise, all []evInfo) {
	for _, g := range ex.groups {
		rec := g.rec
		used := map[int]bool{}
		for _, w := range g.lcs {
			rec.checked++
			var hits []int
			for i, e := range all {
				if lcMatches(e, w) {
					hits = append(hits, i)
				}
			}
			if len(hits) == 0 {
				rec.fail(nil, "no %s event with source %s arrived on the all-projects listener", w.action, strings.Join(w.sources, " or "))
				continue
			}
			if len(hits) > 1 {
				rec.fail(all[hits[1]].raw, "%s arrived %d times; want exactly once", w.action, len(hits))
			}
			for _, h := range hits {
				used[h] = true
			}
			e := all[hits[0]]
			a := r.cat().Action(w.action)
			req, hasReq := e.md["requestor"].(map[string]any)
			switch {
			case a != nil && a.Requestor && !hasReq:
				rec.fail(e.raw, "%s names no requestor", w.action)
			case hasReq && r.c.unix && req["protocol"] != "unix":
				rec.fail(e.raw, "%s requestor protocol is %v; a request over the unix socket gives \"unix\"", w.action, req["protocol"])
			}
			ctx, _ := e.md["context"].(map[string]any)
			if w.oldName != "" && ctx["old_name"] != w.oldName {
				rec.fail(e.raw, "%s context old_name is %v, want %q", w.action, ctx["old_name"], w.oldName)
			}
			if a != nil {
				for _, k := range a.Context {
					if _, ok := ctx[k]; !ok {
						rec.fail(e.raw, "%s context lacks %q", w.action, k)
					}
				}
			}
			if w.project != "" && e.project != w.project {
				rec.fail(e.raw, "%s belongs to project %q, want %q", w.action, e.project, w.project)
			}
		}
		// Exactly: nothing else about our objects.
		for i, e := range all {
			if e.typ != events.LXDTypeLifecycle || used[i] {
				continue
			}
			src, _ := e.md["source"].(string)
			if strings.Contains(src, "eventsim-conform-"+ex.token) && groupOwns(g, src, ex.token) {
				rec.fail(e.raw, "unexpected lifecycle event %v about an object of this exercise", e.md["action"])
			}
		}
		for _, id := range g.ops {
			rec.checked++
			var seq []int
			var desc string
			var last evInfo
			for _, e := range all {
				if e.typ == events.LXDTypeOperation && e.md["id"] == id {
					c, _ := e.md["status_code"].(float64)
					seq = append(seq, int(c))
					desc, _ = e.md["description"].(string)
					last = e
				}
			}
			switch {
			case len(seq) == 0:
				rec.fail(nil, "no operation event arrived for operation %s", id)
			case !containsInt(seq, events.OpSuccess):
				rec.fail(last.raw, "operation %s never reached Success (200); statuses seen %v", id, seq)
			case !containsInt(seq, events.OpPending):
				rec.fail(last.raw, "operation %s never announced Pending (105); statuses seen %v", id, seq)
			}
			if want := g.opDsc[id]; want != "" && desc != "" && desc != want {
				rec.fail(last.raw, "operation %s is described %q, want %q", id, desc, want)
			}
		}
		if !rec.skipped && rec.checked > 0 {
			rec.notef("%d lifecycle events and %d operations expected", len(g.lcs), len(g.ops))
		}
		r.add(rec)
	}
}

// groupOwns says whether a source names the kind of object a group handles.
func groupOwns(g *exGroup, src, token string) bool {
	switch g.rec.info.ID {
	case IDExerciseProfile:
		return strings.HasPrefix(src, "/1.0/profiles/")
	case IDExerciseProject:
		return strings.HasPrefix(src, "/1.0/projects/")
	case IDExerciseVolume:
		return strings.HasPrefix(src, "/1.0/storage-pools/")
	case IDExerciseInstance:
		return strings.HasPrefix(src, "/1.0/instances/")
	}
	return false
}

func containsInt(xs []int, v int) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}
