// Package account is the Linode account a fake serves: every entity its
// events name (Linodes, volumes, domains, firewalls, NodeBalancers, users,
// tokens...), folded from those events. It knows no network: the fake
// Linode server (simulator/linode) applies every event it stores, played or
// made by a REST write, and answers reads from the result; a checker can
// fold what a target streams the same way.
//
// The state changes only by Apply. A REST write adds to its first event a
// Change: the fields the event itself does not carry (a new Linode's type
// and region, a volume's new size), so that even those reach the account
// through the fold.
//
// An Account is not safe for concurrent use; its owner serialises Apply
// with its reads.
package account

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/fold"
	"github.com/eventsim/eventsim/internal/jsonenc"
)

// Object is one entity of the account as the API shows it.
type Object struct {
	// Kind is what the entity is: "linode", "volume", "disk", "config",
	// "domain", "record", "firewall", "device", "nodebalancer",
	// "nodebalancer_config", "nodebalancer_node", "image", "user", "token",
	// "sshkey", "ticket", "tag", "longview", "managed_service",
	// "oauth_client", "stackscript", "account", "profile", or the event's
	// entity.type for entities the fake knows no shape for.
	Kind string
	// Path is where the API serves it, without the version prefix:
	// "/linode/instances/41000010".
	Path string
	// ID is its id: an int64, or a string (images, OAuth clients, tags, users
	// by name).
	ID any
	// Fields is the object as the API answers it. Change it only through
	// the account (it caches the encoding).
	Fields map[string]any

	coll   string                 // the collection listing it
	json   atomic.Pointer[[]byte] // Fields encoded; nil when stale
	owner  *Account               // the account holding it
	tags   []string               // Fields["tags"], kept apart for filters
	links  []string               // paths of objects that refer to it (a Linode's volumes and firewall devices)
	busy   int64                  // id of the long event in progress on it, 0 when none
	attach int64                  // a volume's: the volume_attach event that last linked it
	before string                 // its status before that event
}

// JSON returns the object encoded as the API answers it. The bytes must not
// be modified; they stay valid until the object next changes. It is encoded
// when first asked for after a change; many readers may call JSON at once
// (they may each encode it, and keep one), but not while Apply runs.
func (o *Object) JSON() []byte {
	if p := o.json.Load(); p != nil {
		return *p
	}
	b, err := jsonenc.AppendValue(make([]byte, 0, 1024), o.Fields)
	if err != nil {
		// Fields hold only values JSON can encode; this is a bug.
		panic(fmt.Sprintf("account: encode %s: %v", o.Path, err))
	}
	o.json.Store(&b)
	return b
}

// Status is the object's status field, "" when it has none.
func (o *Object) Status() string {
	s, _ := o.Fields["status"].(string)
	return s
}

// Busy reports whether a long event is in progress on the object (a Linode
// busy with a boot, a resize...), and which.
func (o *Object) Busy() (int64, bool) { return o.busy, o.busy != 0 }

// Tags returns the object's tags.
func (o *Object) Tags() []string { return o.tags }

func (o *Object) set(k string, v any) {
	o.relabel(k, v)
	o.Fields[k] = v
	o.stale()
}

// settle refreshes what is kept apart from Fields: the tags, and the
// owner's index of them.
func (o *Object) settle() {
	tags, _ := o.Fields["tags"].([]string)
	if slicesEqual(tags, o.tags) {
		return
	}
	listed := o.owner != nil && o.owner.objs[o.Path] == o
	if listed {
		o.owner.untag(o)
	}
	o.tags = tags
	if listed {
		o.owner.tag(o)
	}
}

func slicesEqual(a, b []string) bool { return slices.Equal(a, b) && (a == nil) == (b == nil) }

// tag and untag keep the index of tagged objects per list.
func (a *Account) tag(o *Object) {
	for _, t := range o.tags {
		byTag := a.tagged[o.coll]
		if byTag == nil {
			byTag = map[string][]*Object{}
			a.tagged[o.coll] = byTag
		}
		l := byTag[t]
		i, found := slices.BinarySearchFunc(l, o, compareIDs)
		if !found {
			byTag[t] = slices.Insert(l, i, o)
		}
	}
}

func (a *Account) untag(o *Object) {
	for _, t := range o.tags {
		l := a.tagged[o.coll][t]
		if i, ok := slices.BinarySearchFunc(l, o, compareIDs); ok && l[i] == o {
			l = slices.Delete(l, i, i+1)
			if len(l) == 0 {
				delete(a.tagged[o.coll], t)
			} else {
				a.tagged[o.coll][t] = l
			}
		}
	}
}

// Tagged returns, for each tag of the list at coll that keep accepts, the
// objects bearing it in id order. The slices must not be modified.
func (a *Account) Tagged(coll string, keep func(tag string) bool) [][]*Object {
	var out [][]*Object
	for t, l := range a.tagged[coll] {
		if keep(t) {
			out = append(out, l)
		}
	}
	return out
}

func (o *Object) merge(m map[string]any) {
	for k, v := range m {
		o.relabel(k, v)
		o.Fields[k] = v
	}
	o.stale()
}

// labelKeys are the fields that name an object uniquely in its list.
var labelKeys = map[string]bool{"label": true, "domain": true}

// relabel keeps the owner's label index as field k becomes v.
func (o *Object) relabel(k string, v any) {
	if !labelKeys[k] || o.owner == nil || o.owner.objs[o.Path] != o {
		return
	}
	o.owner.unindex(o)
	o.Fields[k] = v
	o.owner.index(o)
}

func labelKey(coll string, o *Object, field string) string {
	s, _ := o.Fields[field].(string)
	return coll + "\x00" + field + "\x00" + s
}

func (a *Account) index(o *Object) {
	for f := range labelKeys {
		if _, ok := o.Fields[f].(string); ok {
			a.labels[labelKey(o.coll, o, f)] = o
		}
	}
}

func (a *Account) unindex(o *Object) {
	for f := range labelKeys {
		if _, ok := o.Fields[f].(string); ok {
			if k := labelKey(o.coll, o, f); a.labels[k] == o {
				delete(a.labels, k)
			}
		}
	}
}

// Labelled returns the object of the list at coll whose field (label,
// domain) is value, if any.
func (a *Account) Labelled(coll, field, value string) (*Object, bool) {
	o, ok := a.labels[coll+"\x00"+field+"\x00"+value]
	return o, ok
}

// stale drops the encoding.
func (o *Object) stale() {
	o.json.Store(nil)
	o.settle()
}

// Change is what a REST write adds to its first event: fields the event
// does not carry.
type Change struct {
	// Entity is merged into the event's entity when the event first
	// applies (a new Linode's type, region, image, tags; an update's fields).
	Entity map[string]any
	// Secondary is merged into the secondary entity likewise.
	Secondary map[string]any
	// Finished is merged into the entity when the event finishes (a resize's
	// new type and specs, a volume's new size).
	Finished map[string]any
}

// Event is one state of an event, as Apply takes it.
type Event struct {
	*events.LinodeEvent
	// Change, when not nil, comes with the event's first state.
	Change *Change
}

// Account is the state of one Linode account.
type Account struct {
	objs    map[string]*Object   // by path
	kids    map[string][]*Object // collection path → objects, in id order
	gone    map[string]bool      // paths of deleted objects, until recreated
	pending map[int64]map[string]any
	nextID  map[string]int64
	now     time.Time
	folder  *fold.Folder[*Account, Event]
	entity  *Object                         // the event's entity while it applies, nil when none
	second  *Object                         // its secondary entity likewise
	labels  map[string]*Object              // list, field and label → object
	tagged  map[string]map[string][]*Object // list → tag → objects in id order
	sub     map[string][]string             // object path → the lists under it
}

// New returns an account holding only what every account sees: the public
// images, the account itself and its profile.
func New() *Account {
	a := &Account{folder: linodeFolder()}
	a.Reset()
	return a
}

// Reset forgets every entity, as New.
func (a *Account) Reset() {
	a.objs = map[string]*Object{}
	a.kids = map[string][]*Object{}
	a.labels = map[string]*Object{}
	a.tagged = map[string]map[string][]*Object{}
	a.sub = map[string][]string{}
	a.gone = map[string]bool{}
	a.pending = map[int64]map[string]any{}
	a.nextID = map[string]int64{}
	a.now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, im := range publicImages {
		a.put(&Object{Kind: "image", Path: "/images/" + im.id, ID: im.id, Fields: imageShape(im, a.now)})
	}
	a.put(&Object{Kind: "account", Path: "/account", Fields: accountShape()})
	a.put(&Object{Kind: "profile", Path: "/profile", Fields: profileShape()})
}

// Get returns the object at path ("/linode/instances/5"), if it exists.
func (a *Account) Get(path string) (*Object, bool) {
	o, ok := a.objs[path]
	return o, ok
}

// GetBytes is Get for a path held in bytes, without allocating.
func (a *Account) GetBytes(path []byte) (*Object, bool) {
	o, ok := a.objs[string(path)]
	return o, ok
}

// Len is how many objects the account holds.
func (a *Account) Len() int { return len(a.objs) }

// Collection returns the objects listed at path ("/linode/instances",
// "/domains/7/records") in id order, and whether path is a collection that
// exists now: a known list whose parent object exists, or a list an event
// named. The slice must not be modified.
func (a *Account) Collection(path string) ([]*Object, bool) {
	if strings.HasSuffix(path, "/volumes") && strings.HasPrefix(path, "/linode/instances/") {
		parent, ok := a.objs[strings.TrimSuffix(path, "/volumes")]
		if !ok || parent.Kind != "linode" {
			return nil, false
		}
		var out []*Object
		for _, v := range a.kids["/volumes"] {
			if id, _ := v.Fields["linode_id"].(int64); id != 0 && id == parent.ID {
				out = append(out, v)
			}
		}
		return out, true
	}
	pattern, ok := listPattern(path)
	if !ok {
		_, named := a.kids[path]
		return a.kids[path], named
	}
	if i := strings.LastIndexByte(path, '/'); strings.Contains(pattern, "*") && i > 0 {
		if _, ok := a.objs[path[:i]]; !ok {
			return nil, false
		}
	}
	return a.kids[path], true
}

// NewID returns an id for an entity of kind a REST write creates: above
// every id the account has seen of that kind and apart from the ranges the
// scenario engine uses.
func (a *Account) NewID(kind string) int64 {
	n := a.nextID[kind]
	if n == 0 {
		n = restIDBase(kind)
	}
	for {
		n++
		if _, used := a.objs[kindPath(kind, n)]; !used {
			break
		}
	}
	a.nextID[kind] = n
	return n
}

// Apply folds one state of an event into the account: entities it names
// exist (unless deleted since and not created again), and its action
// changes them (statuses, attachments, deletions; see docs/linode-server.md).
func (a *Account) Apply(e Event) error {
	if e.LinodeEvent == nil {
		return fmt.Errorf("apply: no event")
	}
	a.now = time.Time(e.Created)
	err := a.folder.Apply(a, e)
	a.entity, a.second = nil, nil
	return err
}

// Key turns an entity URL into the path the account keys it by: "/v4/x"
// and "/v4beta/x" are "/x". Absolute URLs (community questions) and URLs
// with a query are not the account's: ok is false.
func Key(url string) (string, bool) {
	var path string
	switch {
	case strings.HasPrefix(url, "/v4/"):
		path = url[len("/v4"):]
	case strings.HasPrefix(url, "/v4beta/"):
		path = url[len("/v4beta"):]
	default:
		return "", false
	}
	path = strings.TrimSuffix(path, "/")
	if len(path) < 2 || strings.ContainsAny(path, "?#") {
		return "", false
	}
	return path, true
}

// put stores o, listing it in its collection.
func (a *Account) put(o *Object) {
	if old, ok := a.objs[o.Path]; ok {
		a.unlist(old)
	}
	o.coll = collectionOf(o.Path, o.Kind)
	o.owner = a
	o.stale()
	a.objs[o.Path] = o
	a.index(o)
	a.tag(o)
	delete(a.gone, o.Path)
	if o.coll == "" {
		return
	}
	a.register(o.coll)
	l := a.kids[o.coll]
	i, _ := slices.BinarySearchFunc(l, o, compareIDs)
	a.kids[o.coll] = slices.Insert(l, i, o)
}

func (a *Account) unlist(o *Object) {
	a.unindex(o)
	a.untag(o)
	l := a.kids[o.coll]
	if i, ok := slices.BinarySearchFunc(l, o, compareIDs); ok && l[i] == o {
		a.kids[o.coll] = slices.Delete(l, i, i+1)
		return
	}
	if i := slices.Index(l, o); i >= 0 {
		a.kids[o.coll] = slices.Delete(l, i, i+1)
	}
}

// remove deletes the object at path and everything under it.
func (a *Account) remove(path string) {
	o, ok := a.objs[path]
	a.gone[path] = true
	if ok {
		a.unlist(o)
		delete(a.objs, path)
	}
	for _, c := range a.sub[path] {
		for _, k := range slices.Clone(a.kids[c]) {
			a.remove(k.Path)
		}
		delete(a.kids, c)
	}
	delete(a.sub, path)
	if ok && o.Kind == "linode" {
		// Volumes detach and firewalls forget the Linode, as the real API does.
		for _, p := range o.links {
			switch k, ok := a.objs[p]; {
			case !ok:
			case k.Kind == "volume" && k.Fields["linode_id"] == o.ID:
				k.set("linode_id", nil)
				k.set("linode_label", nil)
			case k.Kind == "device":
				if fw, ok := a.objs[p[:strings.LastIndex(p, "/devices/")]]; ok {
					a.removeDevice(fw, o.ID)
				}
			}
		}
	}
}

// link notes that the object at path refers to o.
func (o *Object) link(path string) {
	if !slices.Contains(o.links, path) {
		o.links = append(o.links, path)
	}
}

// register notes that the list at coll is under the object owning it, so
// that removing the object removes the list.
func (a *Account) register(coll string) {
	i := strings.LastIndexByte(coll, '/')
	if i <= 0 {
		return
	}
	parent := coll[:i]
	if !slices.Contains(a.sub[parent], coll) {
		a.sub[parent] = append(a.sub[parent], coll)
	}
}

// ensure returns the object an entity names, making it from the entity
// when the account has not seen it; nil when the entity is not the
// account's (no URL, an absolute URL) or was deleted and create is false.
func (a *Account) ensure(ent *events.LinodeEntity, create bool) *Object {
	if ent == nil {
		return nil
	}
	path, ok := Key(ent.URL)
	if !ok {
		return nil
	}
	if o, ok := a.objs[path]; ok {
		return o
	}
	if a.gone[path] && !create {
		return nil
	}
	kind, isList := kindOf(path)
	if isList {
		// A list the event names (NodeBalancer nodes, VLANs): it exists
		// while its parent does, which the event thus names too.
		if _, ok := a.kids[path]; !ok {
			a.kids[path] = nil
			a.register(path)
		}
		if i := strings.LastIndexByte(path, '/'); i > 0 {
			if pk, _ := kindOf(path[:i]); pk != "" {
				a.ensure(&events.LinodeEntity{ID: lastSegmentID(path[:i]), Type: pk, URL: "/v4" + path[:i]}, create)
			}
		}
		return nil
	}
	if kind == "" {
		kind = ent.Type
	}
	id := normID(ent.ID)
	if id == nil || kind == "image" {
		// Images are known by the rest of their path: "private/12345".
		id = lastSegmentID(path)
		if kind == "image" {
			id = strings.TrimPrefix(path, "/images/")
		}
	}
	o := &Object{Kind: kind, Path: path, ID: id}
	o.Fields = shape(kind, id, ent.Label, path, a.now)
	a.put(o)
	return o
}

func normID(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		return x.String()
	case string:
		return x
	}
	return nil
}

// lastSegmentID is the id in a path's last segment: an integer when it is one.
func lastSegmentID(path string) any {
	seg := path[strings.LastIndexByte(path, '/')+1:]
	if n, err := strconv.ParseInt(seg, 10, 64); err == nil {
		return n
	}
	return seg
}

// CompareIDs orders objects as lists do: by id.
func CompareIDs(x, y *Object) int { return compareIDs(x, y) }

// compareIDs orders integer ids numerically, before string ids.
func compareIDs(x, y *Object) int {
	xi, xok := x.ID.(int64)
	yi, yok := y.ID.(int64)
	switch {
	case xok && yok:
		return cmp.Compare(xi, yi)
	case xok:
		return -1
	case yok:
		return 1
	}
	xs, _ := x.ID.(string)
	ys, _ := y.ID.(string)
	if c := cmp.Compare(xs, ys); c != 0 {
		return c
	}
	return cmp.Compare(x.Path, y.Path)
}

// stamp formats a time as Linode writes it.
func stamp(t time.Time) string {
	// The states of one event, and the events of one write, share their
	// times: the last one formatted is kept.
	if p := lastStamp.Load(); p != nil && p.t.Equal(t) {
		return p.s
	}
	s := t.UTC().Format(events.LinodeTimeFormat)
	lastStamp.Store(&stamped{t, s})
	return s
}

// lastStamp is the last time stamp formatted.
var lastStamp atomic.Pointer[stamped]

type stamped struct {
	t time.Time
	s string
}

// Stamp formats a time as Linode writes its objects' created and updated.
func Stamp(t time.Time) string { return stamp(t) }
