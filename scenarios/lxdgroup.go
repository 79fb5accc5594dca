package scenarios

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/internal/jsonenc"
)

// lxdRequest is one REST request to the LXD daemon and what it does.
type lxdRequest struct {
	verb         string
	verbDef      lxdVerb
	action       *catalog.LXDAction
	names        map[string]string
	project      string // the request's project
	eventProject string // project the events belong to, when not the request's
	member       string
	requestor    *events.LXDLifecycleRequestor
	context      map[string]any
	fail         string
	took         *time.Duration
	entity       *entity
	child        string
	oldName      string
	newName      string
	backupName   string
	image        string // instance.create: the image alias the body names; "" for debian/12
	imageSize    int64  // instance.create: the bytes of that image; 0 for LXDImageSize
	// noLifecycle says that the flavour sends the request's operation
	// without a lifecycle event (LXD 5.0.2 evacuating a cluster member).
	noLifecycle bool
	// cascade names the children whose deletion the daemon reports before
	// the object's (catalog.LXDCascade), each as its source's names.
	cascade      []map[string]string
	method, path string
}

// group builds the events of one request at advancing virtual times.
type group struct {
	w        *lxdWorld
	t        *track
	at       time.Time
	location string
	logging  bool
	// opRes is the JSON of the resources of the operation the group's
	// op events show, made with them (see resources); nil to encode them.
	opRes []byte
	// run is the pending heap's run the group's records go into, -1
	// before the first (Engine.scheduleRun): a group lives for one step.
	run int32
}

func (w *lxdWorld) group(t *track, req *lxdRequest) *group {
	return &group{w: w, t: t, at: t.now, location: w.location(req.member), logging: w.e.s.LXD.Logging, run: -1}
}

func (g *group) end() time.Time { return g.at }

// step moves the group's clock on by about d.
func (g *group) step(d time.Duration) { g.at = g.at.Add(g.about(d)) }

// about returns a time of about d, as step moves the clock by.
func (g *group) about(d time.Duration) time.Duration {
	if d > 0 {
		return g.t.jitter(d, 0.3)
	}
	return time.Microsecond
}

func (g *group) emit(typ, project string, meta []byte) {
	r := g.record(typ, project)
	if !g.w.e.opts.check {
		b := r.JSON[:0] // a recycled record's buffer, or nil
		if cap(b) < 160+len(meta) {
			b = make([]byte, 0, 160+len(meta))
		}
		r.JSON = appendLXDEvent(b, typ, g.at, meta, g.location, project)
	}
}

// record schedules an LXD event at the group's time; its JSON or its lazy
// metadata is for the caller to fill.
func (g *group) record(typ, project string) *Record {
	r := g.w.e.newRecord()
	r.API, r.Type, r.Project, r.Location = "lxd", typ, project, g.location
	g.w.e.scheduleRun(&g.run, g.at, r)
	return r
}

func (g *group) log(d time.Duration, level string, msg logMsg, ctx logCtx) {
	if !g.logging {
		return
	}
	g.step(d)
	r := g.record(events.LXDTypeLogging, "")
	if !g.w.e.opts.check {
		// Encoded when the record leaves the engine (see lazyMeta); the
		// context is never changed after it is handed over.
		r.lazy.kind, r.lazy.msg, r.lazy.msgJSON, r.lazy.level, r.lazy.ctx = lazyLogging, msg.text, msg.json, level, ctx
	}
}

// logMsg is a logging event's message, and its JSON when it was made once
// ahead (constMsg), so that the writer copies it instead of escaping it.
type logMsg struct{ text, json string }

// constMsg makes a message that many events share, with its JSON.
func constMsg(s string) logMsg { return logMsg{s, string(appendString(nil, s))} }

// The messages of the daemon's logging events that verbs make.
var (
	msgHandling = constMsg("Handling API request")
	msgNew      = constMsg("New operation")
	msgStarted  = constMsg("Started operation")
	msgFailure  = constMsg("Failure for operation")
	msgUpdated  = constMsg("Updated metadata for operation")
	msgSuccess  = constMsg("Success for operation")
)

func (g *group) op(d time.Duration, op *events.LXDOperation, project string) {
	g.opWith(d, op, project, nil)
}

// progressAt is update i of n of an operation that runs took, reporting p.
type progressAt struct {
	p    *LXDProgress
	i, n int
	took time.Duration
}

// opWith is op, with the metadata of progress update pr (when not nil)
// written straight from it (LXDProgress.AppendMetadataJSON) instead of from
// op.Metadata.
func (g *group) opWith(d time.Duration, op *events.LXDOperation, project string, pr *progressAt) {
	g.step(d)
	r := g.record(events.LXDTypeOperation, project)
	if g.w.e.opts.check {
		return
	}
	// The operation changes after this (status, metadata), so the record
	// keeps a copy, with its metadata map encoded now. A recycled record
	// brings the memory of both.
	cp, meta := r.lazy.op, r.lazy.opMeta[:0]
	if cp == nil {
		cp = new(events.LXDOperation)
	}
	*cp = *op
	hasMeta := cp.Metadata != nil || pr != nil
	switch {
	case pr != nil:
		meta = pr.p.AppendMetadataJSON(meta, pr.i, pr.n, pr.took)
	case hasMeta:
		meta = appendMetadata(meta, cp.Metadata)
	}
	cp.Metadata = nil
	r.lazy.kind, r.lazy.op, r.lazy.opMeta, r.lazy.opHasMeta, r.lazy.opRes = lazyOperation, cp, meta, hasMeta, g.opRes
}

// lazyMeta is the metadata of an LXD logging or operation event, kept until
// the event's JSON is written: by the engine as the record leaves it, or by
// the caller with Record.AppendJSON when Options.DeferJSON is set, so that
// encoding can run on another core than the engine.
type lazyMeta struct {
	kind       uint8 // 0: none; JSON is (or will not be) set
	msg, level string
	msgJSON    string // msg as JSON when made ahead (logMsg), or ""
	ctx        logCtx
	op         *events.LXDOperation // Metadata nil; opMeta holds it encoded
	opMeta     []byte
	opHasMeta  bool   // opMeta holds the metadata; else it is null
	opRes      []byte // op.Resources as JSON, shared and never changed; nil to encode them
	lc         events.LXDLifecycle
}

const (
	lazyLogging = 1 + iota
	lazyOperation
	lazyLifecycle
)

// AppendJSON appends the event's JSON to b: r.JSON, or, for a record whose
// encoding was deferred (Options.DeferJSON), the encoding of its metadata in
// the envelope. It does not change r, so records may be encoded on any
// goroutine once the engine has returned them.
func (r *Record) AppendJSON(b []byte) []byte {
	if r.lazy.kind == 0 {
		return append(b, r.JSON...)
	}
	b = appendLXDEventHead(b, r.Type, r.Time)
	switch r.lazy.kind {
	case lazyLogging:
		b = appendLoggingJSON(b, r.lazy.msg, r.lazy.msgJSON, r.lazy.level, r.lazy.ctx)
	case lazyOperation:
		meta := r.lazy.opMeta
		if !r.lazy.opHasMeta {
			meta = nil
		}
		b = appendOperationRes(b, r.lazy.op, r.lazy.opRes, meta)
	case lazyLifecycle:
		b = appendLifecycle(b, &r.lazy.lc)
	}
	return appendLXDEventTail(b, r.Location, r.Project)
}

// appendLXDEvent writes the envelope in the daemon's field order.
func appendLXDEvent(b []byte, typ string, at time.Time, meta []byte, location, project string) []byte {
	b = appendLXDEventHead(b, typ, at)
	b = append(b, meta...)
	return appendLXDEventTail(b, location, project)
}

// appendLXDEventHead writes the envelope up to the metadata.
func appendLXDEventHead(b []byte, typ string, at time.Time) []byte {
	b = append(b, `{"type":`...)
	b = appendQuote(b, typ)
	b = append(b, `,"timestamp":"`...)
	b = appendRFC3339Nano(b, at)
	return append(b, `","metadata":`...)
}

// appendLXDEventTail writes the envelope after the metadata.
func appendLXDEventTail(b []byte, location, project string) []byte {
	if location != "" {
		b = append(b, `,"location":`...)
		b = appendQuote(b, location)
	}
	if project != "" {
		b = append(b, `,"project":`...)
		b = appendQuote(b, project)
	}
	return append(b, '}')
}

// appendQuote is strconv.AppendQuote, faster for the printable ASCII that
// types, locations and projects are made of.
func appendQuote(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// requestPath fills a verb's path template.
func (req *lxdRequest) requestPath() string {
	if req.path != "" {
		return req.path
	}
	vals := pathValues{to: req.newName, child: req.child}
	if x := req.entity; x != nil {
		vals.entity = true
		name, parent := x.name, x.parent
		if req.verbDef.childArg != "" && req.verbDef.parent != "" {
			// The object is a child: {name} is its parent.
			pool, vol, ok := strings.Cut(x.parent, "/")
			if ok {
				vals.pool, vals.hasPool = url.PathEscape(pool), true
				name = vol
			} else {
				name = x.parent
			}
			vals.child = url.PathEscape(x.name)
		}
		if req.verb == "storage-volume.backup" {
			vals.child = ""
		}
		vals.name = url.PathEscape(name)
		vals.parent = url.PathEscape(parent)
	}
	p := vals.fill(req.verbDef.path)
	if req.verb == "instance.file-push" {
		p = strings.ReplaceAll(p, "{path}", url.QueryEscape(fmt.Sprint(req.context["path"])))
	}
	if req.project != "" && req.project != "default" && req.action != nil && req.action.ProjectScoped {
		if strings.Contains(p, "?") {
			p += "&project=" + url.QueryEscape(req.project)
		} else {
			p += "?project=" + url.QueryEscape(req.project)
		}
	}
	return p
}

// pathValues are what a verb's path template's placeholders stand for.
type pathValues struct {
	to, child, name, parent, pool string
	entity, hasPool               bool // name and parent are set; pool is set
}

// fill replaces the placeholders of a path template that have a value,
// leaving any other "{...}" as it is.
func (v *pathValues) fill(tmpl string) string {
	if strings.IndexByte(tmpl, '{') < 0 {
		return tmpl
	}
	var b strings.Builder // one allocation, which the string keeps
	b.Grow(len(tmpl) + 64)
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(tmpl[:i])
		tok := tmpl[i : i+j+1]
		switch {
		case tok == "{to}":
			b.WriteString(v.to)
		case tok == "{child}":
			b.WriteString(v.child)
		case tok == "{name}" && v.entity:
			b.WriteString(v.name)
		case tok == "{parent}" && v.entity:
			b.WriteString(v.parent)
		case tok == "{pool}" && v.hasPool:
			b.WriteString(v.pool)
		default:
			b.WriteString(tok)
		}
		tmpl = tmpl[i+j+1:]
	}
	b.WriteString(tmpl)
	return b.String()
}

// bodySlots are the string placeholders of body templates, in the order
// bodyValues returns their values.
var bodySlots = [...]string{"{to}", "{child}", "{type}", "{image}", "{label}", "{name}", "{target}"}

// bodyValues returns the values of bodySlots for this request, and the
// command as JSON for {command}.
func (req *lxdRequest) bodyValues() (vals [len(bodySlots)]string, cmd string) {
	return req.bodyNames(), req.bodyCommand()
}

// bodyCommand returns the command as JSON for {command}.
func (req *lxdRequest) bodyCommand() string {
	c, err := jsonenc.AppendValue(nil, req.context["command"])
	if err != nil {
		return ""
	}
	return string(c)
}

// bodyNames returns the values of bodySlots for this request.
func (req *lxdRequest) bodyNames() (vals [len(bodySlots)]string) {
	vals = [...]string{req.newName, req.child, "container", orDefault(req.image, "debian/12"), "client", "", ""}
	if x := req.entity; x != nil {
		vals[5], vals[6] = x.name, x.name
		if x.typ != "" {
			vals[2] = x.typ
		}
		if req.verbDef.childArg != "" {
			_, vol, ok := strings.Cut(x.parent, "/")
			if !ok {
				vol = x.parent
			}
			vals[5] = vol
		}
	} else {
		// Left in place, as the slow path leaves them.
		vals[5], vals[6] = "{name}", "{target}"
	}
	return vals
}

// requestBody fills a verb's body template and pretty-prints it as the
// daemon logs it: one tab of indent per level under a leading tab. The
// pretty-printed form of each template is made once with markers where the
// names go (bodyTemplate), so a request only splices its names in.
func (req *lxdRequest) requestBody(cache map[string]*bodyTemplate) string {
	return strings.TrimPrefix(req.requestMessage(cache).text, apiRequest)
}

// apiRequest starts the daemon's debug log of a request's body.
const apiRequest = "API Request"

// requestMessage is the daemon's debug log of the request's body: "API
// Request" and requestBody, or "" when the request has no body. A verb's
// template without {command} is made once for every engine (lxdVerbRefs);
// the others once per engine, in cache.
func (req *lxdRequest) requestMessage(cache map[string]*bodyTemplate) logMsg {
	body := req.verbDef.body
	if body == "" {
		return logMsg{}
	}
	tmpl, ready := req.verbDef.tmpl, req.verbDef.tmplReady
	vals := req.bodyNames()
	if ready && tmpl != nil {
		// Only the names the template holds must be plain.
		for _, slot := range tmpl.slots {
			if !plainBodyValue(vals[slot]) {
				return req.requestMessageSlow(vals, req.bodyCommand())
			}
		}
	} else {
		cmd := req.bodyCommand()
		for _, v := range vals {
			if !plainBodyValue(v) {
				return req.requestMessageSlow(vals, cmd)
			}
		}
		if !ready {
			key := strings.ReplaceAll(body, "{command}", cmd)
			var ok bool
			if tmpl, ok = cache[key]; !ok {
				tmpl = newBodyTemplate(key)
				cache[key] = tmpl
			}
		}
	}
	if tmpl == nil {
		return logMsg{}
	}
	if len(tmpl.slots) == 0 {
		return tmpl.msg
	}
	b := make([]byte, 0, len(apiRequest)+2*len(body)+32)
	b = append(b, apiRequest+"\n\t"...)
	for i, lit := range tmpl.lits {
		b = append(b, lit...)
		if i < len(tmpl.slots) {
			// The name as a JSON string's content, without its quotes.
			n := len(b)
			b = appendString(b, vals[tmpl.slots[i]])
			b = append(b[:n], b[n+1:len(b)-1]...)
		}
	}
	return logMsg{text: string(b)}
}

// plainBodyValue reports whether a name goes into a body template's JSON
// source unchanged by decoding: no quote, backslash, control character,
// brace (a placeholder) or invalid UTF-8. Other names take the slow path.
func plainBodyValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '{' {
			return false
		}
	}
	return utf8.ValidString(s)
}

// bodyTemplate is a body template pretty-printed once, cut where the names go.
type bodyTemplate struct {
	lits  []string // len(slots)+1 literal pieces
	slots []int    // index into bodySlots of the name between lits[i] and lits[i+1]
	// msg is the whole message (see requestMessage) of a template without
	// names.
	msg logMsg
}

// bodyMark brackets a slot's index in the pretty-printed template: the
// JSON escape of U+0001, which no name that plainBodyValue accepts contains.
const bodyMark = `\u0001`

// newBodyTemplate pretty-prints a template whose {command} is filled in,
// with each name placeholder replaced by a marked slot index; nil when the
// template is not JSON (the body is then left out, as the slow path does).
func newBodyTemplate(body string) *bodyTemplate {
	for i, p := range bodySlots {
		body = strings.ReplaceAll(body, p, bodyMark+strconv.Itoa(i)+bodyMark)
	}
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return nil
	}
	out, _ := json.MarshalIndent(v, "\t", "\t")
	t := &bodyTemplate{}
	rest := string(out)
	for {
		before, after, found := strings.Cut(rest, bodyMark)
		if !found {
			t.lits = append(t.lits, rest)
			if len(t.slots) == 0 {
				t.msg = constMsg(apiRequest + "\n\t" + rest)
			}
			return t
		}
		idx, after2, _ := strings.Cut(after, bodyMark)
		n, _ := strconv.Atoi(idx)
		t.lits = append(t.lits, before)
		t.slots = append(t.slots, n)
		rest = after2
	}
}

// requestMessageSlow is requestMessage by requestBodySlow.
func (req *lxdRequest) requestMessageSlow(vals [len(bodySlots)]string, cmd string) logMsg {
	if body := req.requestBodySlow(vals, cmd); body != "" {
		return logMsg{text: apiRequest + body}
	}
	return logMsg{}
}

// requestBodySlow fills the template by substitution and pretty-prints the
// result; requestBody's templates give the same bytes for plain names.
func (req *lxdRequest) requestBodySlow(vals [len(bodySlots)]string, cmd string) string {
	body := strings.ReplaceAll(req.verbDef.body, "{command}", cmd)
	for i, p := range bodySlots {
		body = strings.ReplaceAll(body, p, vals[i])
	}
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return ""
	}
	out, _ := json.MarshalIndent(v, "\t", "\t")
	return "\n\t" + string(out)
}

// resources lists what the request's operation touches, as the catalogue
// says (catalog.LXDCatalog.OperationResources, which the fake's REST
// handlers read too), from the object's names before the request. Each
// object keeps the maps made for it (entity.res) until its names change,
// and requests share them: nothing changes an operation's resources.
// Actions whose resources are made alike (resShapes) share them too.
func (req *lxdRequest) resources(cat *catalog.LXDCatalog, shapes *resShapes) (map[string][]string, []byte) {
	x := req.entity
	if x == nil {
		return nil, nil
	}
	project := req.project
	if !req.action.ProjectScoped {
		project = ""
	}
	restored := x.kind == "instance-snapshot" && req.action.Name == "instance-restored"
	k := resKey{shape: shapes.of(cat, req.action), restored: restored, project: project, backup: req.backupName}
	if r, ok := x.res[k]; ok {
		return r.m, r.json
	}
	names := map[string]string{"name": x.name}
	switch x.kind {
	case "instance-snapshot":
		names = map[string]string{"instance": x.parent, "name": x.name}
		if restored {
			names = map[string]string{"name": x.parent}
		}
	case "storage-volume-snapshot":
		pool, vol, _ := strings.Cut(x.parent, "/")
		names = map[string]string{"pool": pool, "volume": vol, "name": x.name}
	case "storage-volume":
		names = map[string]string{"pool": x.parent, "volume": x.name, "name": req.backupName}
	}
	m := cat.OperationResources(req.action.Name, names, project)
	if x.res == nil {
		x.res = map[resKey]resources{}
	}
	r := resources{m, appendResources(nil, m)}
	x.res[k] = r
	return r.m, r.json
}

// resources are an operation's resources, and their JSON.
type resources struct {
	m    map[string][]string
	json []byte
}

// resKey names one object's operation resources: the shape of the
// action's, which names of the object it reads, and what else names them.
type resKey struct {
	shape           int
	restored        bool // an instance restored from the snapshot: the instance's name
	project, backup string
}

// resShapes numbers the actions by how their operation resources are made
// (catalog.LXDCatalog.OperationResources): actions that make the same
// resources from names standing for themselves (each name and the project
// a placeholder of its own) build them alike from any names, so they get
// the same number. Most instance actions share one: the instance's URL.
type resShapes struct {
	byAction map[*catalog.LXDAction]int
	shapes   map[string]int
}

// resPlaceholders stand for the names an operation's resources are made of.
var resPlaceholders = map[string]string{"name": "\x01", "instance": "\x02", "pool": "\x03", "volume": "\x04"}

func (s *resShapes) of(cat *catalog.LXDCatalog, a *catalog.LXDAction) int {
	if n, ok := s.byAction[a]; ok {
		return n
	}
	if s.byAction == nil {
		s.byAction, s.shapes = map[*catalog.LXDAction]int{}, map[string]int{}
	}
	shape := string(appendResources(nil, cat.OperationResources(a.Name, resPlaceholders, "\x05")))
	n, ok := s.shapes[shape]
	if !ok {
		n = len(s.shapes)
		s.shapes[shape] = n
	}
	s.byAction[a] = n
	return n
}

// play emits a request's events, interleaved as the real daemon does, and
// returns when the client is done with it.
func (w *lxdWorld) play(t *track, req *lxdRequest) time.Time {
	g := w.group(t, req)
	a := req.action
	project := req.project
	if !a.ProjectScoped {
		project = "default"
	}
	if req.eventProject != "" {
		project = req.eventProject
	}
	method := req.method
	if method == "" {
		method = req.verbDef.method
	}
	if method == "" && req.verbDef.path == "" && req.path == "" {
		method = a.Method
	}
	rq := req.requestor
	if method == "" || !a.Requestor && a.Method == "" {
		// The daemon acts on its own: only the lifecycle event.
		w.lifecycle(g, req, project, nil)
		return g.end()
	}
	desc := a.Operation
	// The request's logging contexts share one allocation: the request's,
	// and an operation's own and its wait's.
	var kv logCtx
	if desc == "" {
		kv = make(logCtx, 5)
	} else {
		kv = make(logCtx, 14)
	}
	reqCtx := kv[0:5:5]
	reqCtx[0], reqCtx[1], reqCtx[2], reqCtx[3], reqCtx[4] = ctxKV{"ip", rq.Address}, ctxKV{"method", method}, ctxKV{"protocol", rq.Protocol}, ctxKV{"url", req.requestPath()}, ctxKV{"username", rq.Username}
	// The client asks for the server first, then makes its request.
	g.log(0, "debug", msgHandling, w.serverCtx(rq))
	g.log(1500*time.Microsecond, "debug", msgHandling, reqCtx)
	if method == "GET" || method == "DELETE" {
		// No body is logged.
	} else if msg := req.requestMessage(w.e.bodies); msg.text != "" {
		g.log(40*time.Microsecond, "debug", msg, reqCtx)
	}
	if desc == "" {
		// Synchronous: the lifecycle event, then the response.
		g.step(1500 * time.Microsecond)
		if req.fail != "" {
			g.log(0, "debug", logMsg{text: errorResponse(500, req.fail)}, logCtx{{"http_code", "500"}})
			return g.end()
		}
		w.lifecycle(g, req, project, rq)
		msg, ctx := syncResponseEmpty, http200
		if method == "POST" {
			msg, ctx = syncResponseNull, http201
		}
		g.log(40*time.Microsecond, "debug", msg, ctx)
		return g.end()
	}
	// Asynchronous: an operation runs the request.
	opProject := project
	logProject := project
	if a.Resource == "project" || a.Resource == "cluster-member" {
		// Operations on projects and on the cluster belong to no project.
		opProject, logProject = "", ""
	}
	class := "task"
	if a.Name == "instance-exec" || a.Name == "instance-console" {
		class = "websocket"
	}
	g.step(800 * time.Microsecond)
	created := g.at
	// The operation's id, made inside the URL its client waits on.
	const opsPath = "/1.0/operations/"
	wait := make([]byte, 0, len(opsPath)+36+len("/wait"))
	wait = t.fake.appendUUID(append(wait, opsPath...))
	waitURL := string(append(wait, "/wait"...))
	res, resJSON := req.resources(w.e.cat, &w.resShapes)
	g.opRes = resJSON
	op := &events.LXDOperation{
		ID: waitURL[len(opsPath) : len(opsPath)+36], Class: class, Description: desc, CreatedAt: created, UpdatedAt: created,
		Resources: res, Location: g.location,
	}
	if class == "websocket" {
		op.Metadata = map[string]any{"command": req.context["command"], "environment": map[string]any{"HOME": "/root", "LANG": "C.UTF-8", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "xterm", "USER": "root"}, "fds": map[string]any{"0": t.fake.hex(32), "control": t.fake.hex(32)}, "interactive": false}
		op.MayCancel = false
	}
	opCtx := kv[5:9:9]
	opCtx[0], opCtx[1], opCtx[2], opCtx[3] = ctxKV{"class", class}, ctxKV{"description", desc}, ctxKV{"operation", op.ID}, ctxKV{"project", logProject}
	waitCtx := kv[9:14:14]
	waitCtx[0], waitCtx[1], waitCtx[2], waitCtx[3], waitCtx[4] = ctxKV{"ip", rq.Address}, ctxKV{"method", "GET"}, ctxKV{"protocol", rq.Protocol}, ctxKV{"url", waitURL}, ctxKV{"username", rq.Username}
	setStatus := func(code int) {
		op.StatusCode = code
		op.Status = events.OpStatus[code]
	}
	g.log(0, "debug", msgNew, opCtx)
	setStatus(events.OpPending)
	g.op(20*time.Microsecond, op, opProject)
	g.log(60*time.Microsecond, "debug", msgStarted, opCtx)
	setStatus(events.OpRunning)
	g.op(15*time.Microsecond, op, opProject)
	g.log(600*time.Microsecond, "debug", msgHandling, waitCtx)
	took := orDefaultTook(req.verbDef.took)
	if req.took != nil {
		took = *req.took
	}
	if req.verbDef.unpack && req.fail == "" {
		w.progress(g, req, op, opCtx, opProject, project, rq, took)
	} else {
		g.step(took)
	}
	if req.fail != "" {
		op.Err = req.fail
		fctx := logCtx{{"class", class}, {"description", desc}, {"err", req.fail}, {"operation", op.ID}, {"project", logProject}}
		g.log(0, "debug", msgFailure, fctx)
		setStatus(events.OpFailure)
		g.op(15*time.Microsecond, op, opProject)
		return g.end()
	}
	if class == "websocket" {
		op.Metadata["return"] = 0
		op.UpdatedAt = g.at
		g.log(0, "debug", msgUpdated, opCtx)
		g.op(15*time.Microsecond, op, opProject)
	}
	if !a.LifecycleAfter && !req.verbDef.unpack {
		w.lifecycle(g, req, project, rq)
	}
	g.log(20*time.Microsecond, "debug", msgSuccess, opCtx)
	setStatus(events.OpSuccess)
	g.op(15*time.Microsecond, op, opProject)
	if a.LifecycleAfter {
		w.lifecycle(g, req, project, rq)
	}
	return g.end()
}

// progress plays the run of an operation that reports progress
// (LXDUnpackProgress, as the fake daemon's REST operations do): its
// lifecycle event at once, the work being done first, then its metadata
// updates over its time, each a logged "Updated metadata for operation" and
// an operation event. It takes as many random draws as step(took) does, so
// that what follows in the scenario does not move.
func (w *lxdWorld) progress(g *group, req *lxdRequest, op *events.LXDOperation, opCtx logCtx, opProject, project string, rq *events.LXDLifecycleRequestor, took time.Duration) {
	p := LXDUnpackProgress(cmp.Or(req.imageSize, LXDImageSize))
	start, span := g.at, g.about(took)
	if p.WorkFirst {
		w.lifecycle(g, req, project, rq)
	}
	n := p.Points(took)
	for i := 1; i <= n; i++ {
		if at := start.Add(span * time.Duration(i) / time.Duration(n)); at.After(g.at) {
			g.at = at
		}
		if i == n && !w.e.opts.check {
			// What the operation carries from now on (Success).
			op.Metadata = p.Metadata(i, n, took)
		}
		op.UpdatedAt = g.at
		g.log(0, "debug", msgUpdated, opCtx)
		g.opWith(0, op, opProject, &progressAt{p, i, n, took})
	}
	if !p.WorkFirst {
		w.lifecycle(g, req, project, rq)
	}
}

// serverCtx is the logging context of a requestor's GET /1.0, made once
// for the last requestor asked for: records share it, and nothing changes
// it once handed over.
func (w *lxdWorld) serverCtx(rq *events.LXDLifecycleRequestor) logCtx {
	if w.server.rq != rq {
		w.server.rq = rq
		w.server.ctx = logCtx{{"ip", rq.Address}, {"method", "GET"}, {"protocol", rq.Protocol}, {"url", "/1.0"}, {"username", rq.Username}}
	}
	return w.server.ctx
}

func (w *lxdWorld) lifecycle(g *group, req *lxdRequest, project string, rq *events.LXDLifecycleRequestor) {
	if req.noLifecycle {
		return
	}
	if len(req.cascade) > 0 {
		if ca := w.e.cat.Action(catalog.LXDCascade(req.action.Name)); ca != nil {
			for _, names := range req.cascade {
				w.lifecycleEvent(g, ca, names, nil, req.project, project, rq)
			}
		}
	}
	w.lifecycleEvent(g, req.action, req.names, req.context, req.project, project, rq)
}

// lifecycleEvent emits one lifecycle event of a request's group.
func (w *lxdWorld) lifecycleEvent(g *group, a *catalog.LXDAction, names map[string]string, ctx map[string]any, reqProject, project string, rq *events.LXDLifecycleRequestor) {
	lc := events.LXDLifecycle{Action: a.Name, Source: a.SourcePath(names, reqProject)}
	if len(ctx) > 0 {
		lc.Context = ctx
	}
	if a.Requestor && rq != nil {
		lc.Requestor = rq
	}
	if a.NameProject {
		lc.Name, lc.Project = names["name"], orDefault(reqProject, "default")
	}
	g.step(0)
	r := g.record(events.LXDTypeLifecycle, project)
	r.Action = a.Name
	r.OldName, _ = ctx["old_name"].(string)
	if w.e.opts.check {
		return
	}
	// Encoded when the record leaves the engine (see lazyMeta): nothing
	// changes the context or the requestor once the request has played.
	r.lazy.kind, r.lazy.lc = lazyLifecycle, lc
}

// The two sync answers verbs log and their contexts, made once: records
// share them, and nothing changes a context once it is handed over.
var (
	syncResponseEmpty = constMsg(syncResponse("{}"))
	syncResponseNull  = constMsg(syncResponse("null"))
	http200           = logCtx{{"http_code", "200"}}
	http201           = logCtx{{"http_code", "201"}}
)

// syncResponse is the daemon's debug log of a sync answer.
func syncResponse(meta string) string {
	return "WriteJSON\n\t{\n\t\t\"type\": \"sync\",\n\t\t\"status\": \"Success\",\n\t\t\"status_code\": 200,\n\t\t\"operation\": \"\",\n\t\t\"error_code\": 0,\n\t\t\"error\": \"\",\n\t\t\"metadata\": " + meta + "\n\t}"
}

func errorResponse(code int, msg string) string {
	m, _ := json.Marshal(msg)
	return fmt.Sprintf("Error Response\n\t{\n\t\t\"type\": \"error\",\n\t\t\"status\": \"\",\n\t\t\"status_code\": 0,\n\t\t\"operation\": \"\",\n\t\t\"error_code\": %d,\n\t\t\"error\": %s,\n\t\t\"metadata\": null\n\t}", code, m)
}

// defaultTook is how long an operation runs when its verb names no time.
const defaultTook = 5 * time.Millisecond

func orDefaultTook(d time.Duration) time.Duration {
	if d == 0 {
		return defaultTook
	}
	return d
}

// opTook maps each operation description to the usual duration of the
// verbs whose operation it is (the longest, where several share one).
var opTook = sync.OnceValue(func() map[string]time.Duration {
	cat := catalog.MustLXD(catalog.DefaultFlavor)
	m := map[string]time.Duration{}
	for _, v := range lxdVerbs {
		if a := cat.Action(v.action); a != nil && a.Operation != "" {
			m[a.Operation] = max(m[a.Operation], v.took)
		}
	}
	return m
})

// LXDOperationTook returns how long an LXD operation with this description
// usually runs: the duration its scenario verb takes by default (a step's
// took: overrides it there), 5 ms for operations no verb times. The fake
// daemon's REST operations take the same time on its virtual clock.
func LXDOperationTook(description string) time.Duration {
	return orDefaultTook(opTook()[description])
}

// LXDColumns are the fields of an LXD event that a dataset keeps as typed
// columns (see dataset's Parquet rows), as a reader decoding its JSON gets
// them.
type LXDColumns struct {
	// Lifecycle events; HasRequestor says whether there is a requestor.
	Action, Source, RequestorUsername string
	HasRequestor                      bool
	// Operation events.
	OperationID, OperationStatus, OperationClass, OperationDescription string
	OperationStatusCode                                                int
	// Logging events.
	Level, Message string
}

// AppendMetadata appends the JSON of the event's metadata object (what
// AppendJSON writes under "metadata") and fills c with its columns, without
// encoding the whole event or reading the JSON back. It reports false, and
// appends nothing, for a record that holds only its JSON (an emit step's),
// or whose strings are not valid UTF-8 (JSON would carry U+FFFD instead):
// the caller then reads both from AppendJSON's bytes.
func (r *Record) AppendMetadata(b []byte, c *LXDColumns) ([]byte, bool) {
	valid := utf8.ValidString
	switch r.lazy.kind {
	case lazyLogging:
		if !valid(r.lazy.msg) || !valid(r.lazy.level) {
			return b, false
		}
		*c = LXDColumns{Level: r.lazy.level, Message: r.lazy.msg}
		return appendLoggingJSON(b, r.lazy.msg, r.lazy.msgJSON, r.lazy.level, r.lazy.ctx), true
	case lazyOperation:
		op := r.lazy.op
		if !valid(op.ID) || !valid(op.Status) || !valid(op.Class) || !valid(op.Description) {
			return b, false
		}
		*c = LXDColumns{OperationID: op.ID, OperationStatus: op.Status, OperationClass: op.Class,
			OperationDescription: op.Description, OperationStatusCode: op.StatusCode}
		meta := r.lazy.opMeta
		if !r.lazy.opHasMeta {
			meta = nil
		}
		return appendOperationRes(b, op, r.lazy.opRes, meta), true
	case lazyLifecycle:
		lc := &r.lazy.lc
		if !valid(lc.Action) || !valid(lc.Source) {
			return b, false
		}
		*c = LXDColumns{Action: lc.Action, Source: lc.Source}
		if lc.Requestor != nil {
			if !valid(lc.Requestor.Username) {
				return b, false
			}
			c.HasRequestor, c.RequestorUsername = true, lc.Requestor.Username
		}
		return appendLifecycle(b, lc), true
	}
	return b, false
}
